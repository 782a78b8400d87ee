// ArgumentConditions: one syscall's argument facts (manifest `syscalls[].args`) as filter conditions. How each
// recorded argument (analyzer/ArgumentSpecs.h) is checked is decided here, in one table; see
// extension-gen/README.md ("Argument conditions").
#pragma once

#include "analyzer/ArgumentSpecs.h"
#include "analyzer/Footprint.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace bespoke {

// How the filter checks one recorded argument. All checks look at the low 32 bits only (the kernel reads
// these arguments as an int, or uses only the low word), so garbage in the upper half never fails a call.
enum class ArgumentCheckKind {
  Enumeration, // exactly the listed values: (v & 0xffffffff & ~ignored) == value, one alternative each
  Flags,       // no bit outside the listed values' union: (v & 0xffffffff & ~union & ~free) == 0
};
struct ArgumentCheck {
  ArgumentCheckKind kind;
  uint32_t freeBits; // Flags: bits always allowed (clone: the exit signal, CSIGNAL)
};
// The check of `syscall`'s argument `name`; nullptr for an argument the table does not know.
const ArgumentCheck *argumentCheckOf(const std::string &syscall, const std::string &name);

// A manifest value (the low 32 bits, signed decimal or 0x-hex) as a 32-bit word; an error for anything
// else ("not a number", "out of range for a 32-bit argument").
llvm::Expected<uint32_t> parseArgumentValue(const std::string &text);
// The same for the argument `spec` describes, which also takes its constants' names
// (analyzer/ArgumentSymbols.h) and `|` between terms: "AF_INET", "O_WRONLY|O_CREAT|0x8000". A name that
// is not one of the argument's constants is an error ("not a number nor a constant of socket's domain").
llvm::Expected<uint32_t> parseArgumentValue(const std::string &text, const ArgumentSpec &spec);

// The most alternatives one syscall's conditions may have (the product of its enumerations' sizes); above
// it the argument with the most values is not checked (a wider, still sound, filter).
constexpr size_t MaxAlternativesPerSyscall = 256;

struct SyscallConditions {
  std::vector<std::vector<ArgCondition>> alternatives; // empty: no condition (unconditional)
  std::vector<std::string> notes;                      // arguments left unchecked, and why
};

// The conditions of one syscall from its facts: each argument with values (not `any`, not an empty list)
// gives its options, different arguments AND together (each argument's set independently: a sound
// over-approximation of the per-site tuples), i.e. alternatives are the product of the enumerations.
// Errors (one line, naming syscall, argument and value): an argument the spec table does not record for
// this syscall, a value that is not a number or does not fit 32 bits.
llvm::Expected<SyscallConditions> conditionsFromFacts(const std::string &syscall,
                                                      const std::map<std::string, ArgFact> &facts);

// Instructions the compiler spends on these alternatives (extension-gen/Compiler.cpp's emitLeaf), for
// keeping a policy under the kernel's 4096.
size_t checkInstructions(const std::vector<std::vector<ArgCondition>> &alternatives);

} // namespace bespoke
