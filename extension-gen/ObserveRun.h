// ObserveRun: a command run under the observe-mode program (`bespoke observe`): the maps created, the
// program generated for them and proven (the caller's `prove`), loaded and attached to
// raw_syscalls:sys_enter, the command run in a fresh cgroup v2 (NetRun.h's runInCgroup), and at its end
// the program detached and what it recorded read back. The command is never restricted. Needs root
// (CAP_BPF, CAP_PERFMON) and a mounted cgroup v2.
#pragma once

#include "ebpf/Observe.h"

#include "llvm/Support/Error.h"

#include <linux/bpf.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bespoke {

// One events map entry: a syscall number with the arguments its class records, how often it was made,
// and the user stack of the first time (build-id frames, innermost first; empty when the kernel could not
// take it).
struct ObservedCall {
  ObserveKey key;
  // The calling convention seccomp saw (AUDIT_ARCH_*): x86-64, or i386 for `int 0x80` (the seccomp
  // supervisor tells them apart; the eBPF program cannot and records every call as x86-64).
  uint32_t arch = 0xC000003E;
  uint64_t count = 0;
  std::vector<bpf_stack_build_id> stack;
};

struct ObserveRunResult {
  int status = 0;           // the command's exit status, 128+N when signal N ended it
  int leftBehindKilled = 0; // its processes still in the cgroup when it ended, killed
  std::vector<ObservedCall> calls; // sorted by key
  uint64_t lost = 0;        // calls not recorded because the events map was full
  size_t instructions = 0;  // of the loaded program (eBPF) or installed filter (seccomp)
  uint32_t programId = 0;   // the kernel's id of the eBPF program (gone once the run returns: `bpftool prog
                            // show id N` fails); 0 for the seccomp supervisor
  // "ebpf": `calls` are those the program's decision sent to the recorder (every call of a syscall whose
  // arguments the policy checks, allowed ones included); "seccomp": those the filter handed over (the
  // refused ones and every execve).
  std::string mechanism = "ebpf";
};

// Makes the program for the maps' descriptors; an error stops the run before anything is loaded.
using ObserveProgramMaker = std::function<llvm::Expected<ObserveProgram>(const ObserveMaps &)>;

// Runs `path` with `argv` under the observe program. Errors: no cgroup v2, not root, the kernel refuses
// the program or a map, `make` fails, fork fails. Nothing is left attached, loaded or running then, nor
// after a run.
llvm::Expected<ObserveRunResult> runObserved(const ObserveProgramMaker &make, const std::string &path,
                                             const std::vector<std::string> &argv);

} // namespace bespoke
