// Compiler: a Policy as a classic-BPF seccomp program (struct sock_filter[]). Takes a Policy, knows
// nothing of manifests; measures programs with seccomp/Interpreter.h, the interpreter everyone shares.
// See extension-gen/README.md for the program shape.
#pragma once

#include "seccomp/Bpf.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

#include <cstddef>

namespace bespoke {

// Compiles the policy. Deterministic. Errors: malformed rules (nr out of range, unsorted or duplicate
// numbers, argument index > 5) and programs longer than BpfMaxInstructions (4096).
llvm::Expected<BpfProgram> compilePolicy(const Policy &p);

// The number of syscall-number ranges the program's binary search distinguishes (adjacent numbers with
// the same outcome merged; x32 numbers count as one range). Assumes a well-formed policy.
size_t rangeCount(const Policy &p);

} // namespace bespoke
