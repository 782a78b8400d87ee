// ModuleModel: the facts about one ELF module that the whole-program analysis needs, computed once per
// file content (see ModelCache) so a shared library like libc.so.6 is disassembled once.
#pragma once

#include "analyzer/AbstractState.h"
#include "analyzer/ElfModule.h"

#include "llvm/Support/Error.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

namespace bespoke {

struct RegValue {
  uint8_t reg;
  AbsValue value;
};

// The registers an edge knows, packed: per register one header word (register, kind, entry register,
// count) and then its constants (a Stack value: its offset). Module models hold millions of these (nginx
// with its modules: 3.4 million), so a RegValue each (80 bytes, room for MaxConsts constants) would be
// most of a warm analysis's memory and time; packed, a constant argument costs 16 bytes. Iterating
// yields RegValues by value.
class ArgList {
public:
  ArgList() = default;
  ArgList(const std::vector<RegValue> &values) {
    for (const RegValue &rv : values) push_back(rv);
  }
  void push_back(const RegValue &rv) {
    const AbsValue &v = rv.value;
    assert(v.n <= AbsValue::MaxConsts);
    Words.push_back(uint64_t(rv.reg) | uint64_t(v.kind) << 8 | uint64_t(v.reg) << 16 | uint64_t(v.n) << 24);
    for (int i = 0, n = payload(v.kind, v.n); i < n; ++i) Words.push_back(v.c[i]);
  }
  // The value of `reg`, top when the edge does not know it.
  AbsValue get(int reg) const {
    for (const_iterator it = begin(); it != end(); ++it)
      if (it.reg() == reg) return (*it).value;
    return AbsValue::top();
  }
  size_t size() const {
    size_t n = 0;
    for (const_iterator it = begin(); it != end(); ++it) ++n;
    return n;
  }
  bool empty() const { return Words.empty(); }

  class const_iterator {
  public:
    using iterator_category = std::input_iterator_tag;
    using value_type = RegValue;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = RegValue;
    explicit const_iterator(const uint64_t *p) : P(p) {}
    int reg() const { return int(*P & 0xff); }
    RegValue operator*() const {
      RegValue rv{uint8_t(*P & 0xff), AbsValue()};
      rv.value.kind = AbsValue::Kind(*P >> 8 & 0xff);
      rv.value.reg = uint8_t(*P >> 16 & 0xff);
      rv.value.n = uint8_t(*P >> 24 & 0xff);
      for (int i = 0, n = payload(rv.value.kind, rv.value.n); i < n; ++i) rv.value.c[i] = P[1 + i];
      return rv;
    }
    const_iterator &operator++() {
      P += 1 + payload(AbsValue::Kind(*P >> 8 & 0xff), int(*P >> 24 & 0xff));
      return *this;
    }
    bool operator==(const const_iterator &o) const { return P == o.P; }
    bool operator!=(const const_iterator &o) const { return P != o.P; }

  private:
    const uint64_t *P;
  };
  const_iterator begin() const { return const_iterator(Words.data()); }
  const_iterator end() const { return const_iterator(Words.data() + Words.size()); }

private:
  static int payload(AbsValue::Kind k, int n) {
    return k == AbsValue::Const || k == AbsValue::Derived ? n : k == AbsValue::Stack ? 1 : 0;
  }
  std::vector<uint64_t> Words;
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
  ArgList args;             // registers known at the site (constants or entry values), for wrappers
  std::string stringArg;    // calls to path-taking functions (see LibcFacts.h): the constant path; to
                            // a symbol lookup (dlsym, ...): the constant symbol name
};

struct SyscallSite {
  enum Kind : uint8_t { Syscall, Int80, Sysenter };
  Kind kind = Syscall;
  uint64_t site = 0;
  AbsValue nr; // value of rax at the instruction
  ArgList args; // the argument registers (rdi, rsi, rdx, r10, r8, r9) known there: constants or entry values
};

struct Function {
  uint64_t addr = 0;
  std::string name; // empty when no symbol names it
  std::vector<Edge> edges;
  std::vector<SyscallSite> syscalls;
  uint32_t decodeErrors = 0; // bytes the disassembler could not decode
};

struct ModuleModel {
  static constexpr uint32_t FormatVersion = 12; // bump when the analysis or layout changes

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
