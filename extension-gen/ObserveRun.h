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
  uint64_t count = 0;
  std::vector<bpf_stack_build_id> stack;
};

struct ObserveRunResult {
  int status = 0;           // the command's exit status, 128+N when signal N ended it
  int leftBehindKilled = 0; // its processes still in the cgroup when it ended, killed
  std::vector<ObservedCall> calls; // sorted by key
  uint64_t lost = 0;        // calls not recorded because the events map was full
  size_t instructions = 0;  // of the loaded program
  uint32_t programId = 0;   // the kernel's id of it (gone once the run returns: `bpftool prog show id N` fails)
};

// Makes the program for the maps' descriptors; an error stops the run before anything is loaded.
using ObserveProgramMaker = std::function<llvm::Expected<ObserveProgram>(const ObserveMaps &)>;

// Runs `path` with `argv` under the observe program. Errors: no cgroup v2, not root, the kernel refuses
// the program or a map, `make` fails, fork fails. Nothing is left attached, loaded or running then, nor
// after a run.
llvm::Expected<ObserveRunResult> runObserved(const ObserveProgramMaker &make, const std::string &path,
                                             const std::vector<std::string> &argv);

} // namespace bespoke
