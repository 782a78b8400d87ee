// TestAssembler: x86-64 assembly text to machine code, in process with LLVM MC, for tests that need a
// few instructions (the transfer-function data tests). No external assembler: the text goes through
// MC's parser into an ELF object in memory, which is then placed at a chosen address by hand.
#pragma once

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bespoke::test {

struct AssembledCode {
  uint64_t base = 0;
  std::vector<uint8_t> bytes;             // the .text section, as loaded at `base`
  std::map<std::string, uint64_t> labels; // labels defined in the text -> address
};

// Assembles `source` (AT&T syntax unless it says `.intel_syntax`) with its .text placed at `base`.
// References to symbols the text does not define are resolved from `symbols` (absolute addresses).
// Errors carry `name` and the assembler's own message.
llvm::Expected<AssembledCode> assembleX86(const std::string &source, uint64_t base,
                                          const std::map<std::string, uint64_t> &symbols,
                                          const std::string &name);

} // namespace bespoke::test
