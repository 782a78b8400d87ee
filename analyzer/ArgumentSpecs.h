// ArgumentSpecs: which syscall arguments become argument facts (`syscalls[].args` in the manifest) and how
// their values are written. A table of data, shared by both analyzers (which write facts), the manifest
// reader (which checks them) and extension-gen/ (which turns them into filter conditions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bespoke {

// One recorded argument of a syscall (the kernel's argument order, 0-based).
struct ArgumentSpec {
  const char *syscall;
  const char *name;  // as the source analysis names it, so the facts of both analyses merge
  int index;         // 0..5: rdi, rsi, rdx, r10, r8, r9
  bool hex;          // bit masks and request codes in hex, enumerations in decimal
  uint64_t ignored;  // bits left out of the recorded value (socket type: SOCK_NONBLOCK, SOCK_CLOEXEC)
};
const std::vector<ArgumentSpec> &argumentSpecs();
// The specs of one syscall (empty when none of its arguments is recorded).
std::vector<const ArgumentSpec *> argumentSpecsOf(const std::string &syscall);
// The spec of one recorded argument by name ("socket", "domain"), or null.
const ArgumentSpec *argumentSpecOf(const std::string &syscall, const std::string &name);

// A value as the manifest writes it: the low 32 bits (every recorded argument is an int or read as one by
// the kernel) without the ignored bits, in decimal or 0x-hex.
std::string argumentValueText(const ArgumentSpec &spec, uint64_t value);

} // namespace bespoke
