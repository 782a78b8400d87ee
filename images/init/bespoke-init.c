// bespoke-init: the init of a bespoke image (PID 1 in the guest). Static musl, no libraries, no shell.
//
// It reads /bespoke/init.conf (written by `bespoke rewrite`; one directive a line, see images/README.md):
//   mount FSTYPE DIR            mount a file system (devtmpfs, proc, sysfs, tmpfs), creating DIR
//   ifup lo                     bring up the loopback interface (127.0.0.1/8)
//   ifup IFACE ADDR MASK GW     configure IFACE, bring it up and add a default route through GW
//   seccomp FILE                (reserved: installing the app's verified filter is not implemented yet)
//   arg TEXT                    one argument of the app (the first is the program); the rest of the line
// and from its own command line (the words after `--` on the kernel command line, set by `bespoke boot`):
//   relay=LISTEN:PORT           accept TCP on the guest's ADDR:LISTEN and relay each connection to
//                               127.0.0.1:PORT, so host port forwards reach apps that bind loopback
// It prints `bespoke-init: start SECONDS` (time since boot), `bespoke-init: exec PROGRAM`, runs the app,
// reaps every child, prints `bespoke-init: exit N` (or `bespoke-init: signal N`) and reboots, which makes
// QEMU (-no-reboot) exit. `bespoke boot` reads these marker lines from the serial console.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONF "/bespoke/init.conf"
#define MAX_ARGS 256
#define MAX_RELAYS 16
#define MAX_PAIRS 64

static void say(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  (void)!write(1, "bespoke-init: ", 14);
  (void)!write(1, buf, (size_t)n);
}

// PID 1 must never return: report and reboot (QEMU runs with -no-reboot, so it exits).
static void finish(const char *marker, int value) {
  say("%s %d", marker, value);
  sync();
  reboot(RB_AUTOBOOT);
  for (;;) pause();
}

static void fail(const char *what) {
  say("error: %s: %s", what, strerror(errno));
  finish("exit", 125);
}

static double uptime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setaddr(int s, const char *ifname, unsigned long req, const char *addr) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  return ioctl(s, req, &ifr);
}

// ifup IFACE [ADDR MASK GW]: lo needs only IFF_UP (the kernel assigns 127.0.0.1/8 itself).
static void ifup(char *args) {
  char *ifname = strtok(args, " "), *addr = strtok(NULL, " "), *mask = strtok(NULL, " "),
       *gw = strtok(NULL, " ");
  if (!ifname) { errno = EINVAL; fail("ifup: no interface"); }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail("ifup: socket");
  if (addr && setaddr(s, ifname, SIOCSIFADDR, addr) != 0) fail("ifup: SIOCSIFADDR");
  if (mask && setaddr(s, ifname, SIOCSIFNETMASK, mask) != 0) fail("ifup: SIOCSIFNETMASK");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail("ifup: SIOCGIFFLAGS");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail("ifup: SIOCSIFFLAGS");
  if (gw) {
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst, *g = (struct sockaddr_in *)&rt.rt_gateway,
                       *m = (struct sockaddr_in *)&rt.rt_genmask;
    dst->sin_family = g->sin_family = m->sin_family = AF_INET;
    if (inet_pton(AF_INET, gw, &g->sin_addr) != 1) { errno = EINVAL; fail("ifup: gateway"); }
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = ifname;
    if (ioctl(s, SIOCADDRT, &rt) != 0) fail("ifup: SIOCADDRT");
  }
  close(s);
}

// ---- relay: host port forwards land on the guest address; many servers listen on 127.0.0.1 only.

struct pair { int a, b; int openA, openB; }; // openX: X still sends data

static int connect_loopback(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // The app may not be listening yet: retry for up to 30 s.
  for (int tries = 0; tries < 300; tries++) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) return s;
    close(s);
    if (errno != ECONNREFUSED) return -1;
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
  }
  return -1;
}

static int copy(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return -1;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w <= 0) return -1;
    off += w;
  }
  return 0;
}

static void relay(const char *addr, int nrelays, const int *listen_ports, const int *target_ports) {
  struct pollfd fds[MAX_RELAYS + 2 * MAX_PAIRS];
  int target[MAX_RELAYS];
  struct pair pairs[MAX_PAIRS];
  int npairs = 0;
  for (int i = 0; i < nrelays; i++) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)listen_ports[i])};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 16) != 0) fail("relay: listen");
    fds[i] = (struct pollfd){.fd = s, .events = POLLIN};
    target[i] = target_ports[i];
  }
  for (;;) {
    int n = nrelays;
    for (int p = 0; p < npairs; p++) {
      fds[n++] = (struct pollfd){.fd = pairs[p].a, .events = pairs[p].openA ? POLLIN : 0};
      fds[n++] = (struct pollfd){.fd = pairs[p].b, .events = pairs[p].openB ? POLLIN : 0};
    }
    if (poll(fds, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      fail("relay: poll");
    }
    for (int p = npairs - 1; p >= 0; p--) {
      struct pair *q = &pairs[p];
      short ra = fds[nrelays + 2 * p].revents, rb = fds[nrelays + 2 * p + 1].revents;
      if (q->openA && (ra & (POLLIN | POLLHUP | POLLERR)) && copy(q->a, q->b) != 0) {
        q->openA = 0;
        shutdown(q->b, SHUT_WR);
      }
      if (q->openB && (rb & (POLLIN | POLLHUP | POLLERR)) && copy(q->b, q->a) != 0) {
        q->openB = 0;
        shutdown(q->a, SHUT_WR);
      }
      if (!q->openA && !q->openB) {
        close(q->a);
        close(q->b);
        pairs[p] = pairs[--npairs];
      }
    }
    for (int i = 0; i < nrelays; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      int c = accept4(fds[i].fd, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) continue;
      int t = npairs < MAX_PAIRS ? connect_loopback(target[i]) : -1;
      if (t < 0) { close(c); continue; }
      pairs[npairs++] = (struct pair){c, t, 1, 1};
    }
  }
}

int main(int argc, char **argv) {
  say("start %.6f", uptime());
  static char conf[65536];
  int fd = open(CONF, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(CONF);
  ssize_t len = read(fd, conf, sizeof conf - 1);
  if (len < 0) fail(CONF);
  conf[len] = 0;
  close(fd);

  char *app[MAX_ARGS + 1];
  int nargs = 0;
  char netaddr[64] = "";
  for (char *line = conf, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    if (line[0] == '#' || line[0] == 0) continue;
    char *sp = strchr(line, ' ');
    char *rest = sp ? sp + 1 : line + strlen(line);
    if (sp) *sp = 0;
    if (!strcmp(line, "mount")) {
      char *type = strtok(rest, " "), *dir = strtok(NULL, " ");
      if (!type || !dir) { errno = EINVAL; fail("mount: needs FSTYPE DIR"); }
      mkdir(dir, 0755);
      if (mount(type, dir, type, 0, NULL) != 0) fail(dir);
    } else if (!strcmp(line, "ifup")) {
      char copy[256];
      snprintf(copy, sizeof copy, "%s", rest);
      char *ifname = strtok(copy, " "), *addr = strtok(NULL, " ");
      if (ifname && addr && strcmp(ifname, "lo")) snprintf(netaddr, sizeof netaddr, "%s", addr);
      ifup(rest);
    } else if (!strcmp(line, "seccomp")) {
      errno = ENOSYS;
      fail("seccomp (not implemented in this version of bespoke-init)");
    } else if (!strcmp(line, "arg")) {
      if (nargs == MAX_ARGS) { errno = E2BIG; fail("arg"); }
      app[nargs++] = rest;
    } else {
      errno = EINVAL;
      fail(line);
    }
  }
  if (nargs == 0) { errno = EINVAL; fail("init.conf has no arg lines"); }
  app[nargs] = NULL;

  // Relays asked for on the kernel command line (words after `--`).
  int nrelays = 0, listen_ports[MAX_RELAYS], target_ports[MAX_RELAYS];
  for (int i = 1; i < argc; i++)
    if (nrelays < MAX_RELAYS && sscanf(argv[i], "relay=%d:%d", &listen_ports[nrelays], &target_ports[nrelays]) == 2)
      nrelays++;
  pid_t relay_pid = -1;
  if (nrelays) {
    if (!netaddr[0]) { errno = ENETDOWN; fail("relay without a configured interface"); }
    relay_pid = fork();
    if (relay_pid < 0) fail("fork");
    if (relay_pid == 0) relay(netaddr, nrelays, listen_ports, target_ports);
  }

  say("exec %s", app[0]);
  char *envp[] = {"PATH=/app:/bin", "HOME=/", "TERM=dumb", NULL};
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    execve(app[0], app, envp);
    say("error: exec %s: %s", app[0], strerror(errno));
    _exit(127);
  }
  for (;;) {
    int status;
    pid_t w = wait(&status);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail("wait");
    if (w != pid) continue; // a reaped orphan
    if (relay_pid > 0) kill(relay_pid, SIGKILL);
    if (WIFSIGNALED(status)) finish("signal", WTERMSIG(status));
    finish("exit", WEXITSTATUS(status));
  }
}
