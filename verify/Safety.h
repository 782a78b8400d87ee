// Would the kernel accept this program as a seccomp filter? Mirrors bpf_check_classic (net/core/filter.c)
// followed by seccomp_check_filter (kernel/seccomp.c).
#pragma once

#include <string>
#include <vector>

#include "seccomp/Bpf.h"

namespace bespoke {

// Empty: the kernel would load the filter. Otherwise one message per problem, each naming the
// instruction index ("insn 7 (ld [66]): ..."). Checks: length 1..4096; only opcodes seccomp allows
// (LD W ABS at an aligned offset < 64, LD/LDX W LEN, LD/LDX IMM and MEM, ST/STX, ALU ADD SUB MUL DIV AND
// OR XOR LSH RSH (K and X) and NEG, JA and JEQ/JGT/JGE/JSET (K and X), RET K/A, TAX/TXA; no IND/MSH loads,
// no byte/half loads, no MOD); every jump target inside the program (jumps are forward only by
// construction); division by constant 0 and shifts by constant >= 32 rejected; scratch index < 16;
// last instruction a RET; every scratch cell written on every path before it is read (the kernel's
// check_load_and_stores dataflow).
std::vector<std::string> checkSafety(const BpfProgram &prog);

// The subset of checkSafety that any complete program passes whatever it computes: at least one
// instruction, every jump target inside the program, and a `ret` last. A failure here means the file is
// truncated or is not a filter at all (an input error), not that a well-formed filter is unsafe.
std::vector<std::string> checkStructure(const BpfProgram &prog);

} // namespace bespoke
