// ObserveProgram: a seccomp Policy -> the observe-mode eBPF program (ebpf/Observe.h): which syscalls to
// record, and with which arguments, so that user space can then decide the policy on every recorded call
// exactly as the filter would (Policy::decide). See extension-gen/README.md, "Observe mode".
#pragma once

#include "ebpf/Observe.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace bespoke {

// A run of 32-bit syscall numbers with one class (ebpf/Observe.h): [lo, hi], inclusive.
struct ObserveRange {
  uint32_t lo = 0, hi = 0;
  uint8_t cls = 0;
};

// The classes of all 32-bit numbers as seccomp sees them on x86-64, in order, covering [0, 0xffffffff],
// neighbours with equal classes merged:
//   a rule allowing its syscall whatever the arguments           -> 0 (not recorded)
//   a rule with conditions (or another action than allow)         -> ObserveRecord | the arguments its
//                                                                    conditions read
//   every other number (not in the policy, x32 numbers, -1)       -> ObserveRecord
std::vector<ObserveRange> observeRanges(const Policy &policy);

// The program for `policy` with `maps` built in. Error: a rule whose number is not a syscall number
// (negative), or a tree too large for the kernel's 4096 instructions (cannot happen for x86-64's ~460
// numbers; checked anyway).
llvm::Expected<ObserveProgram> generateObserveProgram(const Policy &policy, const ObserveMaps &maps);

} // namespace bespoke
