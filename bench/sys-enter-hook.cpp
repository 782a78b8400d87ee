// sys-enter-hook: attaches the smallest raw_syscalls:sys_enter program there is (r0 = 0; exit) and holds it
// until SIGTERM or SIGINT, then detaches. observe-bench.sh runs redis under it to split the cost of
// `bespoke observe` into the hook (every syscall of the machine takes the tracepoint path and runs a
// program) and what bespoke's program does on top. Needs root. Prints "attached" once attached.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

int main() {
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K; // r0 = 0
  insns[1].code = BPF_JMP | BPF_EXIT;
  int prog = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "bsp_empty", "GPL", insns, 2, nullptr);
  if (prog < 0) {
    fprintf(stderr, "sys-enter-hook: cannot load the program: %s\n", strerror(errno));
    return 2;
  }
  int link = bpf_raw_tracepoint_open("sys_enter", prog);
  if (link < 0) {
    fprintf(stderr, "sys-enter-hook: cannot attach to sys_enter: %s\n", strerror(errno));
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  printf("attached\n");
  fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  close(link);
  close(prog);
  return 0;
}
