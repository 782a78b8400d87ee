// ModuleModel: buildModuleModel and the model's lookups. Building runs in named phases over one module:
// relocations (GOT slots, pointers in data), function starts (symbols, .eh_frame FDEs, PLT slots, the
// loader's entry points), discovery of further starts to a fixpoint, no-return inference, clobber
// summaries, the per-function dataflow (FunctionAnalysis), and the exports and roots.
#include "analyzer/ModuleModel.h"

#include "analyzer/EhFrame.h"
#include "analyzer/FunctionAnalysis.h"
#include "analyzer/KernelEntries.h"
#include "analyzer/LibcFacts.h"
#include "analyzer/X86Decoder.h"

#include "llvm/BinaryFormat/ELF.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

using namespace llvm;

namespace bespoke {

std::string ModuleModel::functionName(int32_t f) const {
  if (f < 0 || size_t(f) >= functions.size()) return "?";
  const Function &fn = functions[size_t(f)];
  if (!fn.name.empty()) return fn.name;
  char buf[32];
  snprintf(buf, sizeof buf, "sub_%llx", (unsigned long long)fn.addr);
  return buf;
}

int32_t ModuleModel::functionAt(uint64_t addr) const {
  auto it = std::lower_bound(functions.begin(), functions.end(), addr,
                             [](const Function &f, uint64_t a) { return f.addr < a; });
  if (it != functions.end() && it->addr == addr) return int32_t(it - functions.begin());
  return -1;
}

namespace {

bool isPltSection(const std::string &n) { return n == ".plt" || n == ".plt.sec" || n == ".plt.got"; }

// Whether `a` lies in one of the [lo, hi) ranges.
bool inRanges(const std::vector<std::pair<uint64_t, uint64_t>> &ranges, uint64_t a) {
  for (auto [lo, hi] : ranges)
    if (a >= lo && a < hi) return true;
  return false;
}

// The state the phases of buildModuleModel share, in the order they fill it.
class ModuleBuilder {
public:
  ModuleBuilder(const ElfModule &elf, const X86Machine &mc)
      : Elf(elf), Ctx(mc, [&elf](uint64_t a) { return elf.inExecutableSection(a); }, !elf.isSharedObject()) {}

  ModuleModel build() {
    Model.fileName = Elf.fileName();
    Model.sha256 = Elf.sha256();
    std::tie(Model.libc, Model.libcVersion) = detectLibc(Elf);
    readRelocations();
    findAbsoluteCodePointers();
    collectFunctionStarts();
    discoverFunctions();
    createFunctions();
    inferNoReturn();
    summarizeClobbers();
    analyzeFunctions();
    recordEntryPoints();
    recordSymbolLookups();
    return std::move(Model);
  }

private:
  void readRelocations();
  void findAbsoluteCodePointers();
  void collectFunctionStarts();
  void discoverFunctions();
  void createFunctions();
  void inferNoReturn();
  void summarizeClobbers();
  void analyzeFunctions();
  void recordEntryPoints();
  void recordSymbolLookups();

  uint64_t extentEnd(uint64_t a) const;
  int32_t localIndex(uint64_t a) const;
  std::unique_ptr<FunctionAnalyzer> decodedFunction(uint64_t a, uint64_t end, bool strict) const;
  void fillFunction(Function &f, RawFunction raw);

  const ElfModule &Elf;
  ModuleContext Ctx;
  ModuleModel Model;
  std::set<uint64_t> Starts;      // function start addresses
  std::set<uint64_t> DataRefs;    // code addresses stored in data
  std::set<int32_t> DataImports;  // imports whose address is stored in data
  std::set<uint64_t> RootAddrs;   // run by the loader
  std::map<uint64_t, std::string> Names;
  std::vector<std::pair<uint64_t, uint64_t>> Fdes;
  std::set<uint64_t> FdeStarts;
  std::vector<std::pair<uint64_t, uint64_t>> PltRanges, ExecRanges;
  std::vector<std::unique_ptr<FunctionAnalyzer>> Analyzers; // by function index; null for empty extents
};

// GOT slots and data references from dynamic relocations.
void ModuleBuilder::readRelocations() {
  const auto &dsyms = Elf.dynamicSymbols();
  for (const ElfReloc &r : Elf.relocations()) {
    const ElfSymbol *sym = r.symbol >= 0 ? &dsyms[size_t(r.symbol)] : nullptr;
    switch (r.type) {
    case ELF::R_X86_64_JUMP_SLOT:
    case ELF::R_X86_64_GLOB_DAT:
    case ELF::R_X86_64_64:
      if (!sym) break;
      if (sym->defined && sym->function && Elf.inExecutableSection(sym->value)) {
        // Bound to our own definition unless interposed; both are considered (the import is also recorded).
        Ctx.slotLocal[r.offset] = sym->value;
        if (r.type != ELF::R_X86_64_JUMP_SLOT) DataRefs.insert(sym->value);
      }
      if (sym->function || !sym->defined) {
        int32_t imp = Ctx.importOf(sym->name);
        Ctx.slotImport[r.offset] = imp;
        if (r.type == ELF::R_X86_64_64 || (r.type == ELF::R_X86_64_GLOB_DAT && sym->function))
          DataImports.insert(imp);
        if (sym->weak && !sym->defined) Model.weakImports.push_back(sym->name);
      }
      break;
    case ELF::R_X86_64_RELATIVE:
      if (Elf.inExecutableSection(uint64_t(r.addend))) {
        Ctx.slotLocal[r.offset] = uint64_t(r.addend);
        DataRefs.insert(uint64_t(r.addend));
      }
      break;
    case ELF::R_X86_64_IRELATIVE:
      if (Elf.inExecutableSection(uint64_t(r.addend))) {
        Starts.insert(uint64_t(r.addend));
        RootAddrs.insert(uint64_t(r.addend)); // the loader runs IFUNC resolvers
      }
      break;
    default:
      break;
    }
  }
}

// Non-PIE executables store absolute code addresses in data without relocations.
void ModuleBuilder::findAbsoluteCodePointers() {
  if (!Ctx.absoluteCode) return;
  for (const ElfSection &s : Elf.sections()) {
    if (!s.alloc || s.exec || s.type == ELF::SHT_NOBITS) continue;
    ArrayRef<uint8_t> d = Elf.contentsAt(s.addr, s.size);
    for (size_t off = (8 - s.addr % 8) % 8; off + 8 <= d.size(); off += 8) {
      uint64_t v = 0;
      for (int i = 7; i >= 0; --i) v = (v << 8) | d[off + size_t(i)];
      if (v && Elf.inExecutableSection(v)) {
        DataRefs.insert(v);
        Ctx.slotLocal.emplace(s.addr + off, v);
      }
    }
  }
}

// Starts known without decoding: symbols, FDEs, the entry, the loader's functions, pointers in data
// and PLT slots; and the ranges extents are cut at.
void ModuleBuilder::collectFunctionStarts() {
  auto addSymbols = [&](const std::vector<ElfSymbol> &syms) {
    for (const ElfSymbol &s : syms) {
      if (!s.defined || !s.function || !Elf.inExecutableSection(s.value)) continue;
      Starts.insert(s.value);
      auto &n = Names[s.value];
      // Prefer the global name when several symbols alias one address; stable choice otherwise.
      if (n.empty() || (s.exported && n.find('.') != std::string::npos) || (!n.empty() && n[0] == '_' && s.name[0] != '_' && s.exported))
        n = s.name;
    }
  };
  addSymbols(Elf.staticSymbols());
  addSymbols(Elf.dynamicSymbols());
  Fdes = parseEhFrame(Elf);
  for (auto [b, e] : Fdes) FdeStarts.insert(b);
  for (const ElfSection &s : Elf.sections())
    if (isPltSection(s.name) && s.exec) PltRanges.push_back({s.addr, s.addr + s.size});
  for (auto [b, e] : Fdes)
    if (Elf.inExecutableSection(b)) Starts.insert(b);
  if (Elf.entry() && Elf.inExecutableSection(Elf.entry())) Starts.insert(Elf.entry());
  for (uint64_t a : Elf.initFunctions())
    if (Elf.inExecutableSection(a)) { Starts.insert(a); RootAddrs.insert(a); }
  for (uint64_t a : DataRefs) Starts.insert(a);
  for (const ElfSection &s : Elf.sections())
    if (isPltSection(s.name) && s.exec)
      for (uint64_t a = s.addr; a + 16 <= s.addr + s.size; a += 16) Starts.insert(a);

  for (const ElfSection &s : Elf.sections())
    if (s.alloc && s.exec && s.type != ELF::SHT_NOBITS && s.size) ExecRanges.push_back({s.addr, s.addr + s.size});
  std::sort(ExecRanges.begin(), ExecRanges.end());
}

// Extent of a function: up to the next start, its section's end, and the end of the FDE covering it.
uint64_t ModuleBuilder::extentEnd(uint64_t a) const {
  uint64_t end = UINT64_MAX;
  auto next = Starts.upper_bound(a);
  if (next != Starts.end()) end = *next;
  for (auto [lo, hi] : ExecRanges)
    if (a >= lo && a < hi) end = std::min(end, hi);
  auto f = std::upper_bound(Fdes.begin(), Fdes.end(), std::pair<uint64_t, uint64_t>{a, UINT64_MAX});
  if (f != Fdes.begin()) {
    --f;
    if (a >= f->first && a < f->second) end = std::min(end, f->second);
  }
  return end == UINT64_MAX ? a : end;
}

std::unique_ptr<FunctionAnalyzer> ModuleBuilder::decodedFunction(uint64_t a, uint64_t end, bool strict) const {
  auto fa = std::make_unique<FunctionAnalyzer>(Ctx, a, end, strict);
  fa->decode(Elf.contentsAt(a, end - a));
  return fa;
}

// Discovery to a fixpoint: decode every start not yet covered by a decoded range; the targets it
// calls, jumps to or takes the address of are new starts.
void ModuleBuilder::discoverFunctions() {
  std::set<uint64_t> decoded;
  std::vector<std::pair<uint64_t, uint64_t>> covered; // decoded extents
  std::vector<uint64_t> pending(Starts.begin(), Starts.end());
  auto isCovered = [&](uint64_t a) {
    auto it = std::upper_bound(covered.begin(), covered.end(), std::pair<uint64_t, uint64_t>{a, UINT64_MAX});
    if (it == covered.begin()) return false;
    --it;
    return a >= it->first && a < it->second;
  };
  for (int round = 0; !pending.empty() && round < 64; ++round) {
    std::vector<uint64_t> found;
    for (uint64_t a : pending) {
      if (decoded.count(a) || isCovered(a)) { decoded.insert(a); continue; }
      decoded.insert(a);
      uint64_t e = extentEnd(a);
      if (e <= a) continue;
      decodedFunction(a, e, false)->collectTargets(found);
      covered.push_back({a, e});
    }
    std::sort(covered.begin(), covered.end());
    pending.clear();
    for (uint64_t t : found)
      if (Elf.inExecutableSection(t) && Starts.insert(t).second) pending.push_back(t);
    std::sort(pending.begin(), pending.end());
  }
}

void ModuleBuilder::createFunctions() {
  Model.functions.reserve(Starts.size());
  for (uint64_t a : Starts) {
    Function f;
    f.addr = a;
    auto n = Names.find(a);
    if (n != Names.end()) f.name = n->second;
    Model.functions.push_back(std::move(f));
  }
}

// Functions that never return: no ret, and every way out leads to another such function. Decodes
// every function for the phases that follow.
void ModuleBuilder::inferNoReturn() {
  size_t nf = Model.functions.size();
  Analyzers.resize(nf);
  std::vector<char> returns(nf, 0);
  std::vector<std::vector<int32_t>> tails(nf);
  for (size_t i = 0; i < nf; ++i) {
    uint64_t a = Model.functions[i].addr, e = extentEnd(a);
    if (e <= a) { returns[i] = 1; continue; }
    bool known = Names.count(a) || FdeStarts.count(a) || RootAddrs.count(a) || a == Elf.entry() || inRanges(PltRanges, a);
    Analyzers[i] = decodedFunction(a, e, !known);
    std::vector<uint64_t> targets;
    returns[i] = Analyzers[i]->mayReturn(targets);
    for (uint64_t t : targets) {
      int32_t j = Model.functionAt(t);
      if (j < 0) returns[i] = 1;
      else tails[i].push_back(j);
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < nf; ++i)
      if (!returns[i])
        for (int32_t j : tails[i])
          if (returns[size_t(j)]) { returns[i] = 1; changed = true; break; }
  }
  for (size_t i = 0; i < nf; ++i)
    if (!returns[i]) Ctx.noReturn.insert(Model.functions[i].addr);
}

// Clobber summaries to a fixpoint over the local call graph (calls that never return don't count).
void ModuleBuilder::summarizeClobbers() {
  size_t nf = Model.functions.size();
  std::vector<uint16_t> clob(nf, 0);
  std::vector<std::vector<int32_t>> callees(nf);
  for (size_t i = 0; i < nf; ++i) {
    if (!Analyzers[i]) continue;
    std::vector<uint64_t> targets;
    bool opaque = false;
    clob[i] = Analyzers[i]->ownDefs(targets, opaque);
    if (opaque) clob[i] = 0xffff;
    for (uint64_t t : targets) {
      int32_t j = Model.functionAt(t);
      if (j < 0) clob[i] = 0xffff; // enters code we do not model as a function start
      else callees[i].push_back(j);
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < nf; ++i)
      for (int32_t j : callees[i])
        if ((clob[i] | clob[size_t(j)]) != clob[i]) { clob[i] |= clob[size_t(j)]; changed = true; }
  }
  for (size_t i = 0; i < nf; ++i) Ctx.clobbers[Model.functions[i].addr] = clob[i];
}

// The containing function of an address; exact starts are the rule after discovery.
int32_t ModuleBuilder::localIndex(uint64_t a) const {
  int32_t i = Model.functionAt(a);
  if (i >= 0) return i;
  auto it = std::upper_bound(Model.functions.begin(), Model.functions.end(), a,
                             [](uint64_t x, const Function &f) { return x < f.addr; });
  return it == Model.functions.begin() ? -1 : int32_t(it - Model.functions.begin() - 1);
}

void ModuleBuilder::analyzeFunctions() {
  for (size_t fi = 0; fi < Model.functions.size(); ++fi) {
    if (!Analyzers[fi]) continue;
    RawFunction raw = Analyzers[fi]->analyze();
    Analyzers[fi].reset();
    fillFunction(Model.functions[fi], std::move(raw));
  }
}

// Maps raw edge targets to function indices, turns direct calls into the vsyscall page into syscall
// sites, and reads the constant path passed to path-taking functions.
void ModuleBuilder::fillFunction(Function &f, RawFunction raw) {
  f.decodeErrors = raw.decodeErrors;
  f.syscalls = std::move(raw.syscalls);
  for (RawEdge &re : raw.edges) {
    Edge e2;
    e2.kind = re.kind;
    e2.site = re.site;
    e2.import = re.import;
    e2.indirect = re.indirect;
    e2.args = std::move(re.args);
    if (!re.indirect && re.import < 0) {
      if (int nr = vsyscallNumber(re.target); nr >= 0 && re.kind != Edge::AddressTaken) {
        // A direct call into the legacy vsyscall page: the kernel emulates (and seccomp checks) a syscall.
        f.syscalls.push_back({SyscallSite::Syscall, re.site, AbsValue::constant(uint64_t(nr)), {}});
        continue;
      }
      if (!Elf.inExecutableSection(re.target)) continue; // jump into non-code: ignore (data constant)
      e2.local = localIndex(re.target);
      if (e2.local < 0) continue;
    }
    if (e2.kind != Edge::AddressTaken && (e2.import >= 0 || e2.local >= 0)) {
      StringRef callee;
      if (e2.import >= 0) callee = Ctx.imports[size_t(e2.import)];
      else if (auto n = Names.find(Model.functions[size_t(e2.local)].addr); n != Names.end()) callee = n->second;
      if (int reg = pathArgumentRegister(callee); reg >= 0)
        for (const RegValue &rv : e2.args)
          if (rv.reg == reg && rv.value.kind == AbsValue::Const && rv.value.n == 1)
            if (auto str = Elf.cStringAt(rv.value.c[0]); str && isPathLike(*str)) e2.stringArg = *str;
    }
    f.edges.push_back(std::move(e2));
  }
}

// The constant name passed to a symbol lookup (dlsym, dlvsym, DSO_bind_func, DSO_global_lookup: LibcFacts.h),
// directly or through the PLT slot named after it: the exported functions a program can call through the
// pointer it returns (argument facts treat them as entered from unknown places).
void ModuleBuilder::recordSymbolLookups() {
  for (Function &f : Model.functions)
    for (Edge &e : f.edges) {
      if (e.kind == Edge::AddressTaken || e.indirect || !e.stringArg.empty()) continue;
      StringRef callee;
      if (e.import >= 0) callee = Ctx.imports[size_t(e.import)];
      else if (e.local >= 0) callee = Model.functions[size_t(e.local)].name;
      callee.consume_back("@plt");
      const int reg = symbolLookupNameRegister(callee);
      if (reg < 0) continue;
      AbsValue name = e.args.get(reg);
      if (name.kind == AbsValue::Const && name.n == 1)
        if (auto str = Elf.cStringAt(name.c[0]); str && isPathLike(*str)) e.stringArg = *str;
    }
}

// Names of PLT slots, the loader's roots, the entry, functions and imports whose address is in data,
// the exports.
void ModuleBuilder::recordEntryPoints() {
  // PLT slots are named after the import they jump to, as objdump does ("dlopen@plt").
  for (Function &f : Model.functions)
    if (f.name.empty() && inRanges(PltRanges, f.addr))
      for (const Edge &e : f.edges)
        if (e.kind == Edge::Tail && e.import >= 0) { f.name = Ctx.imports[size_t(e.import)] + "@plt"; break; }
  for (uint64_t a : RootAddrs)
    if (int32_t i = Model.functionAt(a); i >= 0) Model.roots.push_back(i);
  if (Elf.entry()) Model.entryFunction = Model.functionAt(Elf.entry());
  for (uint64_t a : DataRefs)
    if (int32_t i = Model.functionAt(a); i >= 0) Model.dataAddressTaken.push_back(i);
  Model.dataImports.assign(DataImports.begin(), DataImports.end());
  Model.imports = Ctx.imports;
  for (const ElfSymbol &s : Elf.dynamicSymbols())
    if (s.exported && s.function)
      if (int32_t i = Model.functionAt(s.value); i >= 0) Model.exports.push_back({s.name, i});
  std::sort(Model.exports.begin(), Model.exports.end());
  Model.exports.erase(std::unique(Model.exports.begin(), Model.exports.end()), Model.exports.end());
  std::sort(Model.weakImports.begin(), Model.weakImports.end());
  Model.weakImports.erase(std::unique(Model.weakImports.begin(), Model.weakImports.end()), Model.weakImports.end());
}

} // namespace

Expected<ModuleModel> buildModuleModel(const ElfModule &elf) {
  static thread_local std::unique_ptr<X86Machine> machine; // LLVM MC objects are not thread-safe
  if (!machine) machine = std::make_unique<X86Machine>();
  if (!machine->ok())
    return createStringError(inconvertibleErrorCode(), "%s: LLVM has no x86-64 disassembler", elf.path().c_str());
  return ModuleBuilder(elf, *machine).build();
}

} // namespace bespoke
