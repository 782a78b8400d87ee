/* Test helper: builds a seccomp filter with libseccomp and exports it as raw BPF (seccomp_export_bpf).
 * usage: seccomp_export OUT.bpf OPTIMIZE DEFAULT SYSCALL...
 *   OPTIMIZE  0, 1 or 2 (SCMP_FLTATR_CTL_OPTIMIZE; 0 leaves libseccomp's default)
 *   DEFAULT   kill-process or errno:N
 * Native x86-64 only; bad architecture (and x32) -> kill-process; each SYSCALL (a name) -> allow. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s OUT.bpf OPTIMIZE DEFAULT SYSCALL...\n", argv[0]); return 2; }
  uint32_t def = SCMP_ACT_KILL_PROCESS;
  if (strncmp(argv[3], "errno:", 6) == 0) def = SCMP_ACT_ERRNO(atoi(argv[3] + 6));
  else if (strcmp(argv[3], "kill-process") != 0) { fprintf(stderr, "unknown default %s\n", argv[3]); return 2; }
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return 1;
  int opt = atoi(argv[2]);
  if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0) return 1;
  if (opt && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, opt) != 0) return 1;
  for (int i = 4; i < argc; ++i) {
    int nr = seccomp_syscall_resolve_name(argv[i]);
    if (nr == __NR_SCMP_ERROR) { fprintf(stderr, "unknown syscall %s\n", argv[i]); return 2; }
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc != 0) { fprintf(stderr, "seccomp_rule_add %s: %s\n", argv[i], strerror(-rc)); return 1; }
  }
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror(argv[1]); return 1; }
  int rc = seccomp_export_bpf(ctx, fd);
  close(fd);
  seccomp_release(ctx);
  return rc == 0 ? 0 : 1;
}
