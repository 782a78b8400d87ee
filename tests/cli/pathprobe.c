// pathprobe: for each probe named on the command line, a forked child takes that kernel path; the parent
// prints "NAME refused" when the child was killed by SIGSYS (a seccomp filter's kill action), "NAME eperm"
// when the call failed with EPERM (a seccomp errno action, or an eBPF cgroup program of `run --net`) and
// "NAME allowed" when it returned otherwise (whatever its result). Run under `bespoke run`, it shows what the
// filter of another program's manifest does to a child of the filtered process. Only write, clone
// (fork), wait4 and exit besides the probes, so the filters of the servers it runs under allow it.
//   pathprobe [tiocsti|tcgets|newuser|packet|netlink|alg|vsock|inet6|bind:PORT]...
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long probe(const char *name) {
  char c = 'x';
  if (!strcmp(name, "tiocsti")) return syscall(SYS_ioctl, 0, TIOCSTI, &c);
  if (!strcmp(name, "tcgets")) {
    char buf[64];
    return syscall(SYS_ioctl, 0, TCGETS, buf);
  }
  if (!strcmp(name, "newuser")) { // raw clone, fork-like (no stack): the grandchild leaves at once
    long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    return r;
  }
  if (!strcmp(name, "packet")) return syscall(SYS_socket, 17 /* AF_PACKET */, SOCK_RAW, 0x300);
  if (!strcmp(name, "netlink")) return syscall(SYS_socket, 16 /* AF_NETLINK */, SOCK_RAW, 0);
  if (!strcmp(name, "alg")) return syscall(SYS_socket, 38 /* AF_ALG */, SOCK_SEQPACKET, 0);
  if (!strcmp(name, "vsock")) return syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0);
  if (!strcmp(name, "inet6")) return syscall(SYS_socket, AF_INET6, SOCK_STREAM, 0);
  if (!strncmp(name, "bind:", 5)) { // an IPv4 TCP socket bound to 0.0.0.0:PORT
    long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fd;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(name + 5));
    return syscall(SYS_bind, fd, &a, sizeof a);
  }
  return -2;
}

static void say(const char *name, const char *what) {
  char line[128];
  size_t n = strlen(name), w = strlen(what);
  if (n + w + 2 > sizeof line) return;
  memcpy(line, name, n);
  line[n] = ' ';
  memcpy(line + n + 1, what, w);
  line[n + 1 + w] = '\n';
  if (write(1, line, n + w + 2) < 0) _exit(5);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    pid_t pid = fork();
    if (pid < 0) return 3;
    if (pid == 0) {
      long r = probe(argv[i]);
      _exit(r == -2 ? 4 : r == -1 && errno == EPERM ? 6 : 0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 3;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) say(argv[i], "refused");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) say(argv[i], "allowed");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 6) say(argv[i], "eperm");
    else say(argv[i], "failed");
  }
  return 0;
}
