// The observe-mode program (`bespoke observe`, issue 14): a BPF_PROG_TYPE_RAW_TRACEPOINT program on
// raw_syscalls:sys_enter that records, for the processes of one cgroup v2 (and its descendants), every
// system call a seccomp policy might refuse. What extension-gen/ObserveProgram produces, verify/ObserveProof
// proves and extension-gen/ObserveRun loads: the same bytes. A data-type library: no bespoke dependencies.
//
// The program has three parts:
//   prologue   r6 = ctx; "is the current task under the cgroup in slot 0 of the cgroup array?" (helper
//              current_task_under_cgroup); if not, return 0. r7 = ctx->args[1], the syscall number.
//   decision   the part that depends on the policy, generated: a search tree over the low 32 bits of r7
//              (32-bit jumps: seccomp sees the number as an int) that sets r8 to the syscall's class and
//              jumps to its end. Straight-line code of three kinds only: `if w7 > K goto +N`,
//              `r8 = K`, `goto +N`. verify/ObserveProof proves r8 equals observeClassOf(policy, nr) for
//              every 32-bit nr.
//   recorder   fixed, the same for every policy: when r8 is 0, return 0; otherwise build the key
//              {nr, args} on the stack (the arguments whose bit is set in r8's low six bits, read from the
//              task's pt_regs with probe_read_kernel; the others 0), add 1 to its count in the events hash
//              map or insert it with count 1 and the user stack's id (get_stackid, BPF_F_USER_STACK, build-id
//              frames); when the map is full, add 1 to the lost counter instead. Always returns 0.
// The kernel's verifier checks the whole program before it runs; it observes, it never refuses anything.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bespoke {

// A syscall's class, r8 after the decision: 0 = allowed whatever its arguments (not recorded); otherwise
// ObserveRecord | the bits of the arguments (bit i = argument i) the policy's conditions read, recorded
// with the number so that user space can decide the policy on exactly those values.
inline constexpr uint8_t ObserveRecord = 0x40;
inline constexpr uint8_t ObserveArgMask = 0x3f;

// One entry of the events map. Arguments outside the class's mask are 0.
struct ObserveKey {
  uint64_t nr = 0; // the syscall number as sys_enter passes it (a sign-extended int)
  uint64_t args[6] = {};
};
struct ObserveValue {
  uint64_t count = 0;
  int64_t stackId = -1; // in the stack map, or negative (errno) when the kernel could not take the stack
};

// Depth of the recorded user stacks (frames of struct bpf_stack_build_id).
inline constexpr uint32_t ObserveStackDepth = 32;

// The maps' file descriptors, built into the program as BPF_PSEUDO_MAP_FD 64-bit immediates.
struct ObserveMaps {
  int cgroupArray = -1; // BPF_MAP_TYPE_CGROUP_ARRAY, 1 entry: the observed cgroup
  int events = -1;      // BPF_MAP_TYPE_HASH, ObserveKey -> ObserveValue
  int stacks = -1;      // BPF_MAP_TYPE_STACK_TRACE with BPF_F_STACK_BUILD_ID, ObserveStackDepth frames
  int lost = -1;        // BPF_MAP_TYPE_ARRAY, 1 entry of u64: events not recorded because the map was full
};

struct ObserveProgram {
  std::vector<bpf_insn> insns;
  size_t decisionBegin = 0, decisionEnd = 0; // [begin, end): the generated part; end is the recorder's start
};

// The x86-64 struct pt_regs offsets of the six syscall arguments (di, si, dx, r10, r8, r9).
inline constexpr int16_t PtRegsArgOffset[6] = {112, 104, 96, 56, 72, 64};

} // namespace bespoke
