// ModuleModel: the facts about one ELF module that the whole-program analysis needs, computed once per
// file content (see ModelCache) so a shared library like libc.so.6 is disassembled once.
#pragma once

#include "analyzer/AbstractState.h"
#include "analyzer/ElfModule.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bespoke {

struct RegValue {
  uint8_t reg;
  AbsValue value;
};

// An edge out of a function: a call, a tail jump (or fall-through into the next function), or a
// code reference that takes a function's address.
struct Edge {
  enum Kind : uint8_t { Call, Tail, AddressTaken };
  Kind kind = Call;
  uint64_t site = 0;        // instruction address
  int32_t local = -1;       // target function index in this module, or
  int32_t import = -1;      // index into ModuleModel::imports
  bool indirect = false;    // target unknown (register or memory without relocation)
  std::vector<RegValue> args; // registers known at the site (constants or entry values), for wrappers
  std::string stringArg;    // calls to path-taking functions (see LibcFacts.h): the constant path
};

struct SyscallSite {
  enum Kind : uint8_t { Syscall, Int80, Sysenter };
  Kind kind = Syscall;
  uint64_t site = 0;
  AbsValue nr; // value of rax at the instruction
};

struct Function {
  uint64_t addr = 0;
  std::string name; // empty when no symbol names it
  std::vector<Edge> edges;
  std::vector<SyscallSite> syscalls;
  uint32_t decodeErrors = 0; // bytes the disassembler could not decode
};

struct ModuleModel {
  static constexpr uint32_t FormatVersion = 8; // bump when the analysis or layout changes

  std::string fileName, sha256;
  std::vector<Function> functions; // sorted by address
  std::vector<std::string> imports; // undefined symbols referenced by code or data
  std::vector<std::pair<std::string, int32_t>> exports; // exported function name -> function (sorted)
  std::vector<int32_t> roots;       // run by the loader: DT_INIT/FINI, init/fini arrays, IRELATIVE resolvers
  int32_t entryFunction = -1;       // e_entry
  std::vector<int32_t> dataAddressTaken; // local functions whose address is stored in data
  std::vector<int32_t> dataImports;      // imported functions whose address is stored in data
  std::vector<std::string> weakImports;  // imports that may stay undefined
  std::string libc, libcVersion;         // set when this module is a C library

  std::string functionName(int32_t f) const;
  int32_t functionAt(uint64_t addr) const; // exact start, or -1
};

// Disassembles the module and computes its model (ModuleModel.cpp: the phases; FunctionAnalysis.h: one function).
llvm::Expected<ModuleModel> buildModuleModel(const ElfModule &elf);

// Serialization for the on-disk cache.
std::string serializeModel(const ModuleModel &m);
llvm::Expected<ModuleModel> deserializeModel(llvm::StringRef data, const std::string &inputName);

} // namespace bespoke
