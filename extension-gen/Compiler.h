// Compiler: a Policy as a classic-BPF seccomp program (struct sock_filter[]), plus the policy built
// from a manifest and a small seccomp_data interpreter used to measure and check programs.
// See extension-gen/README.md for the program shape.
#pragma once

#include "extension-gen/Policy.h"
#include "manifests/Manifest.h"

#include "llvm/Support/Error.h"

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bespoke {

inline constexpr size_t kMaxBpfInstructions = 4096; // BPF_MAXINSNS

// Every manifest syscall becomes an unconditional allow (argument facts are not used yet); other
// x86-64 syscalls get `defaultAction`; other architectures and x32 numbers kill the process.
// A syscall name without an x86-64 number is an error.
llvm::Expected<Policy> policyFromManifest(const Manifest &m, Action defaultAction);

// Compiles the policy. Deterministic. Errors: malformed rules (nr out of range, unsorted or duplicate
// numbers, argument index > 5) and programs longer than 4096 instructions.
llvm::Expected<std::vector<sock_filter>> compilePolicy(const Policy &p);

// The number of syscall-number ranges the program's binary search distinguishes (adjacent numbers with
// the same outcome merged; x32 numbers count as one range). Assumes a well-formed policy.
size_t rangeCount(const Policy &p);

// The outcome of running a program on one seccomp_data.
struct BpfRun {
  bool ok = false;        // false: the program is malformed (bad opcode, jump out of range, ...)
  std::string error;      // why, when !ok
  uint32_t ret = 0;       // the value returned
  size_t steps = 0;       // instructions executed, the ret included
  uint16_t loadedWords = 0; // bit i set: the 32-bit word at offset 4*i of seccomp_data was loaded
};

// A tiny cBPF interpreter over struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];} on a
// little-endian machine (the subset seccomp accepts: LD W ABS, LDX/ST/STX/MEM, ALU, JMP, RET, MISC).
BpfRun runBpf(const std::vector<sock_filter> &prog, uint32_t nr, uint32_t arch, uint64_t ip,
              const uint64_t args[6]);

struct PathStats {
  size_t syscalls = 0;  // allowed syscalls walked
  size_t worst = 0;     // most instructions executed for one of them (all-zero arguments)
  double mean = 0;      // mean instructions executed
  size_t worstNr = 0;   // a syscall on the worst path
};

// Walks the program for every allowed syscall of `p` (arch x86-64, all arguments zero).
PathStats pathLengths(const std::vector<sock_filter> &prog, const Policy &p);

// One line of assembly for an instruction at index `pc` (jump targets as absolute indexes).
std::string disassembleAt(const sock_filter &insn, size_t pc);

} // namespace bespoke
