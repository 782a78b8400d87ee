// TransferCase: one data-driven test of the per-function dataflow (tests/analyzer/testdata/transfer/*.yaml):
// a pre-state, a few x86-64 instructions, what the module around them says (GOT slots, callee clobber
// summaries, functions that never return), and the expected post-state and facts. Loading and running
// are apart from the gtest runner so that a malformed file is an error value naming the file and field.
//
// File format (description and code are required, and at least one of post, syscalls and edges;
// unknown keys are errors):
//   description: what the case shows, and why the analysis does it
//   syntax: att | intel                  # default att
//   code: |                              # assembled at `base` (default 0x1000) with LLVM MC;
//     test %rdi, %rdi                    # labels go at the instructions' indentation (a YAML
//     je done                            # block scalar ends at a line indented less)
//     done:
//     nop
//   pre:                                 # registers not named hold their entry values; rsp = stack(0)
//     rdi: 5 | [1, 2] | top | bottom | entry(rsi) | stack(-16)
//     slots: {-8: 7}                     # stack slots by offset from the entry rsp
//   module:
//     symbols: {helper: 0x5000}          # addresses of symbols the code uses but does not define
//     imports: {exit_slot: exit}         # a GOT slot symbol (address chosen here) holding an import
//     clobbers: {helper: [rax, rdi]}     # registers a called function may overwrite (label or symbol)
//     noreturn: [helper]                 # local functions that never return
//     absolute-code: true                # immediates may be code addresses (non-PIE)
//   post:                                # the state after the last instruction
//     rax: 56                            # only the registers named are checked
//     slots: {}                          # when present, the exact set of known slots
//   syscalls: [{kind: syscall, rax: 56}] # when present, the exact syscall sites in order
//   edges:                               # when present, the exact edges in order, without the one for
//     - {kind: call, to: helper, args: {rdi: 5, rsi: top}}  # falling off the end of the code; args
//                                        # names registers to check (top: not a known argument);
//                                        # `to`: a label or symbol, import:NAME, indirect, or 0xADDR
#pragma once

#include "analyzer/AbstractState.h"
#include "analyzer/ModuleModel.h"
#include "analyzer/X86Decoder.h"

#include "llvm/Support/Error.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bespoke::test {

struct ExpectedSyscall {
  SyscallSite::Kind kind = SyscallSite::Syscall;
  AbsValue rax;
};

struct ExpectedEdge {
  Edge::Kind kind = Edge::Call;
  std::string to;
  std::vector<std::pair<int, AbsValue>> args;
};

struct TransferCase {
  std::string name; // the file, for messages
  std::string description;
  std::string source;
  uint64_t base = 0x1000;
  State pre = State::atFunctionEntry();
  std::map<std::string, uint64_t> symbols;
  std::map<std::string, std::string> importSlots; // slot symbol -> import name
  std::map<std::string, std::vector<int>> clobbers;
  std::vector<std::string> noReturn;
  bool absoluteCode = false;
  bool checkPost = false; // post given: the end of the code must be reached
  std::vector<std::pair<int, AbsValue>> postRegs;
  std::optional<std::vector<std::pair<int64_t, AbsValue>>> postSlots;
  std::optional<std::vector<ExpectedSyscall>> syscalls;
  std::optional<std::vector<ExpectedEdge>> edges;
};

llvm::Expected<TransferCase> parseTransferCase(const std::string &yaml, const std::string &name);
llvm::Expected<TransferCase> loadTransferCase(const std::string &path);

// Assembles and analyses the case; the mismatches, one line each (none: it passes). An error when
// the case cannot run (code that does not assemble, a name the module section does not define).
llvm::Expected<std::vector<std::string>> runTransferCase(const TransferCase &c, const X86Machine &mc);

// "top", "bottom", "5", "[1, 2]", "entry(rdi)", "stack(-8)": the file syntax of a value.
std::string describe(const AbsValue &v);

} // namespace bespoke::test
