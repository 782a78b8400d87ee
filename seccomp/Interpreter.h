// The one cBPF interpreter: runs a seccomp filter on one seccomp_data with the kernel's semantics, and
// counts what it did. Kept out of the compiler (as Kafel keeps its test interpreter) so that the compiler's
// cost measurements, verify/'s counterexample replays, the tests and the bench all run the same code;
// tests/seccomp pins its semantics against the live kernel.
#pragma once

#include "seccomp/Bpf.h"
#include "seccomp/Policy.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace bespoke {

// The outcome of running a program on one seccomp_data.
struct BpfRun {
  bool ok = false;          // false: the program is malformed (bad opcode, jump or load out of range, ...)
  std::string error;        // why, when !ok ("pc 3: jump out of range")
  uint32_t ret = SECCOMP_RET_KILL_PROCESS; // the value returned (kill-process when !ok)
  size_t steps = 0;         // instructions executed, the ret included
  uint16_t loadedWords = 0; // bit i set: the 32-bit word at offset 4*i of seccomp_data was loaded
};

// Runs `prog` as Linux 6.1 runs a seccomp filter (classic BPF converted to eBPF, interpreted or JITed):
//   A, X and M[0..15] start at 0; BPF_LEN is 64; ld [k] reads seccomp_data little-endian;
//   division (or modulo) by zero ends the filter with return value 0 (bpf_convert_filter's check);
//   shift counts are taken modulo 32 (eBPF's `(u32) SRC & 31`, and the x86 JIT's shl/shr), so
//   1 << 33 == 2.
// The kernel refuses constant division by zero and constant shifts >= 32 (bpf_check_classic); here they
// follow the same rules. Anything the kernel could not run (unknown opcode, jump past the end, a load
// outside seccomp_data, scratch index >= 16, falling off the end) gives ok == false, never a crash.
BpfRun runBpf(const BpfProgram &prog, const seccomp_data &data);
BpfRun runBpf(const BpfProgram &prog, uint32_t nr, uint32_t arch, uint64_t ip, const uint64_t args[6]);

struct PathStats {
  size_t syscalls = 0;  // allowed syscalls walked
  size_t worst = 0;     // most instructions executed for one of them (all-zero arguments)
  double mean = 0;      // mean instructions executed
  size_t worstNr = 0;   // a syscall on the worst path
};

// Walks the program for every allowed syscall of `p` (arch x86-64, all arguments zero).
PathStats pathLengths(const BpfProgram &prog, const Policy &p);

} // namespace bespoke
