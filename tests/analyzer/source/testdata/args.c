/* Constant arguments of the calls whose arguments matter. The test finds lines by the M: markers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

static int child(void *arg) { return arg != 0; }

int open_with(int flags) { return open("/tmp/bespoke-x", flags); } /* M:open_param */

static const int global_flags = O_RDONLY | O_NONBLOCK;
static const char proc_mounts[] = "/proc/self/mounts";

int args_main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* M:socket_inet */
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);                 /* M:socketpair */
  struct termios tio;
  ioctl(0, TCGETS, &tio);                                  /* M:ioctl_tcgets */
  int n = 0;
  ioctl(s, FIONREAD, &n);                                  /* M:ioctl_fionread */
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC); /* M:open_proc */
  openat(AT_FDCWD, "/sys/kernel/mm", O_RDONLY | O_DIRECTORY); /* M:openat */
  FILE *f = fopen("/etc/hostname", "re");                  /* M:fopen */
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* M:mmap */
  mprotect(p, 4096, PROT_READ);                            /* M:mprotect */
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);                  /* M:prctl */
  fcntl(fd, F_SETFD, FD_CLOEXEC);                          /* M:fcntl */
  static char stack[65536];
  clone(child, stack + sizeof stack, CLONE_VM | CLONE_FS | SIGCHLD, NULL); /* M:clone */
  syscall(SYS_getpid);                                     /* M:sys_getpid */
  syscall(__NR_gettid);                                    /* M:nr_gettid */
  creat("/tmp/bespoke-y", 0600);                           /* M:creat */

  /* Not constants. */
  socket(atoi(argv[1]), SOCK_STREAM, 0);                   /* M:socket_argv */
  int twice = O_RDONLY;
  if (argc > 2) twice = O_RDWR;
  open("/dev/null", twice);                                /* M:open_twice */
  int taken = O_RDONLY;
  int *alias = &taken;
  *alias = O_RDWR;
  open("/dev/zero", taken);                                /* M:open_addr_taken */
  syscall(argc);                                           /* M:syscall_argc */
  open(argv[0], open_with(O_RDONLY));                      /* M:open_argv */

  /* Constants through local variables. */
  const int cflags = O_WRONLY | O_APPEND;
  open("/tmp/bespoke-z", cflags);                          /* M:open_const_local */
  int once;
  once = O_RDONLY | O_NOFOLLOW;
  open("/dev/zero", once);                                 /* M:open_assigned_once */
  const char *path = "/proc/cpuinfo";
  int fl = O_RDONLY;
  open(path, fl);                                          /* M:open_local_path */
  open(proc_mounts, global_flags);                         /* M:open_globals */
  return f != NULL;
}

/* Syscall numbers from a constant table indexed at run time (as the ptrace selftest does). */
void table_calls(int n) {
  static const long tab[][2] = {{SYS_chdir, 1}, {SYS_gettid, 2}, {SYS_exit_group, 3}};
  for (int i = 0; i < n; ++i)
    syscall(tab[i][0], tab[i][1]);                         /* M:syscall_table */
  static long mutable_tab[2] = {SYS_getpid, SYS_getppid};
  syscall(mutable_tab[n & 1]);                             /* M:syscall_mutable_table */
}
