// bespoke-init: the init of a bespoke image (PID 1 in the guest). Static musl, no libraries, no shell.
//
// It reads /bespoke/init.conf (written by `bespoke rewrite`; one directive a line, see images/README.md):
//   overlay UPPER ROOT          (first, on a read-only block root) mount a tmpfs at UPPER, an overlay of it
//                               over / at ROOT, and make ROOT the root: the app can write, into RAM
//   switchroot DEV FSTYPE       (in an initramfs, after insmod) mount DEV read-only, make it the root and run
//                               its /init with the same arguments (a generic kernel booting a disk root)
//   mount FSTYPE DIR            mount a file system (devtmpfs, proc, sysfs, tmpfs), creating DIR
//   ifup lo                     bring up the loopback interface (127.0.0.1/8)
//   ifup IFACE ADDR MASK GW     configure IFACE, bring it up and add a default route through GW
//   insmod FILE [PARAMS]        load a kernel module (finit_module; already loaded is fine), in order
//   seccomp FILE                install FILE (raw struct sock_filter array) in the app's process, before exec
//   arg TEXT                    one argument of the app (the first is the program); the rest of the line
// and from its own command line (the words after `--` on the kernel command line, set by `bespoke boot`):
//   relay=LISTEN:PORT           accept TCP on the guest's ADDR:LISTEN and relay each connection to
//                               127.0.0.1:PORT, so host port forwards reach apps that bind loopback
//   probe=syscalls              before the app starts, call every syscall number 0..511 and print those
//                               that return ENOSYS (`bespoke-init: enosys RANGES`, `probe done ...`)
// It prints `bespoke-init: start SECONDS` (time since boot), `bespoke-init: random ready|not-ready` (whether
// the kernel's random pool is initialised), `bespoke-init: exec PROGRAM`, runs the app,
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONF "/bespoke/init.conf"
#define MAX_ARGS 256
#define MAX_RELAYS 16
#define MAX_PAIRS 64

// musl ships no <linux/filter.h> / <linux/seccomp.h>: the two ABI structs and constants used here.
struct sock_filter { uint16_t code; uint8_t jt, jf; uint32_t k; };
struct sock_fprog { unsigned short len; struct sock_filter *filter; };
#define BPF_MAXINSNS 4096
#define SECCOMP_SET_MODE_FILTER 1

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

static void failwhy(const char *what, const char *why) {
  say("error: %s: %s", what, why);
  finish("exit", 125);
}

static void fail(const char *what) { failwhy(what, strerror(errno)); }

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

// overlay UPPER ROOT: the kernel mounted a read-only disk as /. A tmpfs at UPPER holds the overlay's
// upper and work directories; the overlay of UPPER/upper over / is mounted at ROOT and moved over /, as
// switch_root does. Both directories exist in the image (mount points cannot be made on a read-only root).
static void overlay(char *args) {
  char *upper = strtok(args, " "), *root = strtok(NULL, " ");
  char path[256], opts[600];
  if (!upper || !root) failwhy("overlay", "needs UPPER ROOT");
  if (mount("tmpfs", upper, "tmpfs", 0, "mode=0755") != 0) fail(upper);
  snprintf(path, sizeof path, "%s/upper", upper);
  if (mkdir(path, 0755) != 0) fail(path);
  snprintf(path, sizeof path, "%s/work", upper);
  if (mkdir(path, 0755) != 0) fail(path);
  snprintf(opts, sizeof opts, "lowerdir=/,upperdir=%s/upper,workdir=%s/work", upper, upper);
  if (mount("overlay", root, "overlay", 0, opts) != 0) fail("overlay: mount");
  if (chdir(root) != 0) fail(root);
  if (mount(".", "/", NULL, MS_MOVE, NULL) != 0) fail("overlay: move to /");
  if (chroot(".") != 0) fail("overlay: chroot");
  if (chdir("/") != 0) fail("overlay: chdir /");
}

// switchroot DEV FSTYPE: for a kernel that cannot mount the disk by itself (Debian's generic kernel has
// virtio_blk, erofs and overlay as modules): an initramfs loads them, then this mounts DEV read-only, moves
// it over /, and executes the disk's /init, which reads the disk's init.conf. The initramfs stays in RAM.
static void switchroot(char *args, char **argv) {
  char *dev = strtok(args, " "), *fstype = strtok(NULL, " ");
  if (!dev || !fstype) failwhy("switchroot", "needs DEV FSTYPE");
  mkdir("/bespoke-disk", 0755);
  if (mount(dev, "/bespoke-disk", fstype, MS_RDONLY, NULL) != 0) fail(dev);
  if (chdir("/bespoke-disk") != 0) fail("/bespoke-disk");
  if (mount(".", "/", NULL, MS_MOVE, NULL) != 0) fail("switchroot: move to /");
  if (chroot(".") != 0) fail("switchroot: chroot");
  if (chdir("/") != 0) fail("switchroot: chdir /");
  execv("/init", argv);
  fail("switchroot: exec /init");
}

// insmod FILE [PARAMS]: lets one initramfs boot a generic kernel whose NIC driver is a module. Modules
// must be uncompressed (Debian's 6.1 has no MODULE_DECOMPRESS) and come after their dependencies.
static void insmod(char *args) {
  char *file = args, *params = strchr(args, ' '), what[300];
  if (params) *params++ = 0;
  else params = "";
  snprintf(what, sizeof what, "insmod %s", file);
  if (!*file) failwhy("insmod", "needs FILE [PARAMS]");
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(what);
  if (syscall(SYS_finit_module, fd, params, 0) != 0 && errno != EEXIST) fail(what);
  close(fd);
}

// ---- seccomp: the app's filter, read while parsing (a bad file fails before anything runs) and
// installed in the app's process only, so init and the relay stay unfiltered.

static struct sock_filter filter[BPF_MAXINSNS];

static void load_seccomp(const char *file, struct sock_fprog *prog) {
  char what[300];
  snprintf(what, sizeof what, "seccomp %s", file);
  if (prog->len) failwhy(what, "a second seccomp directive (one filter per image)");
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) fail(what);
  if (st.st_size == 0 || st.st_size % sizeof filter[0] || st.st_size > (off_t)sizeof filter) {
    char why[160];
    snprintf(why, sizeof why, "%lld bytes: not a non-zero multiple of %zu (struct sock_filter) up to %d instructions",
             (long long)st.st_size, sizeof filter[0], BPF_MAXINSNS);
    failwhy(what, why);
  }
  for (off_t off = 0; off < st.st_size;) {
    ssize_t n = read(fd, (char *)filter + off, (size_t)(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(what);
    off += n;
  }
  close(fd);
  prog->len = (unsigned short)(st.st_size / sizeof filter[0]);
  prog->filter = filter;
}

// In the app's child, right before execve. The marker comes first: the app's filter need not allow
// init's write(2), so a line after installing could kill the app. No error line after it: installed.
static void install_seccomp(const struct sock_fprog *prog) {
  say("seccomp %u instructions", prog->len);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) != 0) {
    say("error: seccomp: %s", strerror(errno));
    _exit(125);
  }
}

// ---- syscall probe (probe=syscalls): which of 0..511 does this kernel implement?
// Each number is called in a throwaway child with all-zero arguments. ENOSYS comes from the syscall
// table (sys_ni_syscall) before any argument is read; the 6.1 x86-64 entry points that return ENOSYS
// from a body do so only for unknown sub-commands (futex ops, modify_ldt funcs), and 0 is a valid one
// for both, so with zeros ENOSYS means "not in this kernel". Zeros are also harmless: pointers are
// NULL (EFAULT), fd 0 is closed in the child (EBADF), pid 0 means the child itself, kill(0, 0) sends
// nothing, reboot's magic does not match. Side effects that outlive the child: sethostname and
// setdomainname with length 0 (init restores both), msgget(IPC_PRIVATE) may leave one empty queue.

#define PROBE_NRS 512

struct probe_report { long nr, ret; };

// Raw syscall instructions, inlined: after vfork the child runs on the parent's stack, so no call frame
// of ours may be live between the syscall and the child's exit.
static inline __attribute__((always_inline)) long raw6zero(long nr) {
  register long r10 __asm__("r10") = 0, r8 __asm__("r8") = 0, r9 __asm__("r9") = 0;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(0L), "S"(0L), "d"(0L), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static inline __attribute__((always_inline)) long raw1(long nr, long a) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
  return ret;
}

static void probe_child(long nr, int report_fd) {
  setsid(); // no controlling terminal: vhangup cannot hang up the console
  close(0);
  long self = raw1(SYS_getpid, 0);
  long ret = raw6zero(nr);
  if (raw1(SYS_getpid, 0) != self) raw1(SYS_exit, 0); // fork/vfork/clone: the grandchild leaves at once
  struct probe_report r = {nr, ret};
  (void)!write(report_fd, &r, sizeof r);
  _exit(0);
}

// 1 when nr returned ENOSYS. A child that dies, blocks (pause, select) or runs past 300 ms without
// reporting did something other than ENOSYS: implemented.
static int probe_enosys(long nr) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) fail("probe: pipe");
  pid_t c = fork();
  if (c < 0) fail("probe: fork");
  if (c == 0) {
    close(p[0]);
    probe_child(nr, p[1]);
  }
  close(p[1]);
  struct pollfd pf = {.fd = p[0], .events = POLLIN};
  struct probe_report r;
  int pr, got = 0;
  do pr = poll(&pf, 1, 300);
  while (pr < 0 && errno == EINTR);
  if (pr > 0 && read(p[0], &r, sizeof r) == (ssize_t)sizeof r && r.nr == nr) got = 1;
  close(p[0]);
  kill(c, SIGKILL); // done or not, it is of no further use (a zombie ignores it)
  // Reap it; give up after 1 s (a child stuck in the kernel is reaped later by the main wait loop).
  for (int i = 0; i < 100; i++) {
    pid_t w = waitpid(c, NULL, WNOHANG);
    if (w == c || (w < 0 && errno != EINTR)) break;
    struct timespec d = {0, 10 * 1000 * 1000};
    nanosleep(&d, NULL);
  }
  return got && r.ret == -ENOSYS;
}

static double monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Prints `enosys RANGES` lines (at most ~200 characters each; `bespoke boot` joins them) and
// `probe done N implemented of 512 in MS ms`.
static void probe_syscalls(void) {
  struct utsname uts;
  uname(&uts);
  double t0 = monotonic();
  static char enosys[PROBE_NRS];
  int implemented = 0;
  for (long nr = 0; nr < PROBE_NRS; nr++) {
    enosys[nr] = (char)probe_enosys(nr);
    implemented += !enosys[nr];
  }
  double ms = (monotonic() - t0) * 1000;
  sethostname(uts.nodename, strlen(uts.nodename));
  setdomainname(uts.domainname, strlen(uts.domainname));
  while (waitpid(-1, NULL, WNOHANG) > 0) {} // grandchildren of fork/vfork/clone, reparented to init
  char line[256];
  size_t len = 0;
  int printed = 0;
  for (int a = 0; a < PROBE_NRS; a++) {
    if (!enosys[a]) continue;
    int b = a;
    while (b + 1 < PROBE_NRS && enosys[b + 1]) b++;
    char range[32];
    int n = a == b ? snprintf(range, sizeof range, "%d", a) : snprintf(range, sizeof range, "%d-%d", a, b);
    if (len && len + 1 + (size_t)n > 200) {
      say("enosys %s", line);
      printed = 1;
      len = 0;
    }
    len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", len ? "," : "", range);
    a = b;
  }
  if (len || !printed) say("enosys %s", len ? line : "");
  say("probe done %d implemented of %d in %.0f ms", implemented, PROBE_NRS, ms);
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
  struct sock_fprog prog = {0, NULL};
  for (char *line = conf, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    if (line[0] == '#' || line[0] == 0) continue;
    char *sp = strchr(line, ' ');
    char *rest = sp ? sp + 1 : line + strlen(line);
    if (sp) *sp = 0;
    if (!strcmp(line, "overlay")) {
      overlay(rest);
    } else if (!strcmp(line, "switchroot")) {
      switchroot(rest, argv);
    } else if (!strcmp(line, "mount")) {
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
    } else if (!strcmp(line, "insmod")) {
      insmod(rest);
    } else if (!strcmp(line, "seccomp")) {
      if (!*rest) failwhy("seccomp", "needs FILE");
      load_seccomp(rest, &prog);
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

  // Init's arguments (words after `--` on the kernel command line): relays and the syscall probe.
  int nrelays = 0, listen_ports[MAX_RELAYS], target_ports[MAX_RELAYS], probe = 0;
  for (int i = 1; i < argc; i++) {
    if (nrelays < MAX_RELAYS && sscanf(argv[i], "relay=%d:%d", &listen_ports[nrelays], &target_ports[nrelays]) == 2)
      nrelays++;
    if (!strcmp(argv[i], "probe=syscalls")) probe = 1;
  }
  if (probe) probe_syscalls();
  pid_t relay_pid = -1;
  if (nrelays) {
    if (!netaddr[0]) { errno = ENETDOWN; fail("relay without a configured interface"); }
    relay_pid = fork();
    if (relay_pid < 0) fail("fork");
    if (relay_pid == 0) relay(netaddr, nrelays, listen_ports, target_ports);
  }

  // Whether the kernel's random pool is initialised as the app starts: until it is, getrandom without
  // GRND_NONBLOCK and /dev/random wait (OpenSSL does; images/entropy.config is the image's remedy).
  unsigned char rnd;
  say("random %s", syscall(SYS_getrandom, &rnd, 1, GRND_NONBLOCK) == 1 ? "ready" : "not-ready");
  say("exec %s", app[0]);
  // Debian's default PATH after /app: programs the app executes by name (tar's `sh -c xz`) are in the
  // image at their paths on the host.
  char *envp[] = {"PATH=/app:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "TERM=dumb", NULL};
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    if (prog.len) install_seccomp(&prog);
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
