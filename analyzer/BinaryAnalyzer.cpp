// Whole-program part of the binary analysis: loads the closure, builds the module models, links them
// into a Program, infers syscall wrappers, collects the roots the process starts from, walks reachability,
// and reads off the syscalls (one shortest evidence chain each), the unresolved sites and the app facts.
// analyzeClosure runs these phases in order; each is a function of its own here or in Program.h.
#include "analyzer/BinaryAnalyzer.h"
#include "analyzer/KernelEntries.h"
#include "analyzer/LibcFacts.h"
#include "analyzer/ModelCache.h"
#include "analyzer/ModuleModel.h"
#include "analyzer/Program.h"
#include "analyzer/SyscallTable.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

using namespace llvm;

namespace bespoke {

namespace {

// Which functions start the walk: a program's (its entry, as the kernel starts it) or a library's as
// seen from source code (the named functions the program calls, plus what every process start runs).
struct RootSpec {
  bool programEntry = true;
  std::vector<std::string> namedFunctions; // exported functions, root reason "call to NAME"
  std::vector<std::string> *unbound = nullptr; // receives the named functions no module provides
};

// Module models, built in parallel (each thread has its own LLVM MC objects), in the order of `mods`.
Expected<std::vector<ModuleModel>> buildModels(const std::vector<LoadedModule> &mods, const BinaryAnalysisOptions &opts,
                                               unsigned &cacheHits) {
  ModelCache cache(opts.cacheDir);
  std::vector<std::optional<ModuleModel>> models(mods.size());
  std::vector<Error> errors;
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::atomic<unsigned> hits{0};
  unsigned jobs = opts.jobs ? opts.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = std::min<unsigned>(jobs, unsigned(mods.size()));
  // Largest first: the closure's time is bounded by its biggest library.
  std::vector<size_t> byWork(mods.size());
  for (size_t i = 0; i < mods.size(); ++i) byWork[i] = i;
  std::stable_sort(byWork.begin(), byWork.end(), [&](size_t a, size_t b) { return mods[a].elf->bytes().size() > mods[b].elf->bytes().size(); });
  auto worker = [&] {
    for (size_t k; (k = next++) < mods.size();) {
      size_t i = byWork[k];
      bool hit = false;
      auto m = cache.get(*mods[i].elf, hit);
      std::lock_guard<std::mutex> lock(mu);
      if (!m) { errors.push_back(m.takeError()); continue; }
      if (hit) ++hits;
      if (opts.progress)
        opts.progress((hit ? "model (cached) " : "analyzed ") + mods[i].elf->fileName() + " [" +
                      std::to_string(m->functions.size()) + " functions]");
      models[i] = std::move(*m);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < jobs; ++t) pool.emplace_back(worker);
  worker();
  for (auto &t : pool) t.join();
  if (!errors.empty()) {
    Error first = std::move(errors.front());
    for (size_t i = 1; i < errors.size(); ++i) consumeError(std::move(errors[i]));
    return first;
  }
  cacheHits = hits;
  std::vector<ModuleModel> out;
  out.reserve(models.size());
  for (auto &m : models) out.push_back(std::move(*m));
  return out;
}

// The spec's named functions, bound like ld.so binds a call: the first module exporting the name, else
// (a static executable exports nothing) a function of that name in a symbol table.
void addNamedRoots(const Program &p, const RootSpec &spec, std::vector<Root> &roots) {
  for (const std::string &name : spec.namedFunctions) {
    bool bound = false;
    for (size_t m = 0; m < p.moduleCount() && !bound; ++m) {
      const auto &ex = p.model(m).exports;
      auto it = std::lower_bound(ex.begin(), ex.end(), name,
                                 [](const std::pair<std::string, int32_t> &e, const std::string &n) { return e.first < n; });
      if (it == ex.end() || it->first != name) continue;
      roots.push_back({p.gid(m, it->second), "call to " + name});
      bound = true;
    }
    for (size_t m = 0; m < p.moduleCount() && !bound; ++m)
      for (size_t f = 0; f < p.model(m).functions.size() && !bound; ++f)
        if (p.model(m).functions[f].name == name) {
          roots.push_back({p.gid(m, int32_t(f)), "call to " + name});
          bound = true;
        }
    if (!bound && spec.unbound) spec.unbound->push_back(name);
  }
}

// Roots, in the order the process runs them.
std::vector<Root> collectRoots(const Program &p, const RootSpec &spec) {
  std::vector<Root> roots;
  auto addRoot = [&](size_t m, int32_t f, const std::string &why) { if (f >= 0) roots.push_back({p.gid(m, f), why}); };
  for (size_t m = 0; m < p.moduleCount(); ++m)
    if (p.module(m).interpreter) addRoot(m, p.model(m).entryFunction, "interpreter entry (" + p.module(m).name + ")");
  if (spec.programEntry) addRoot(0, p.model(0).entryFunction, "entry");
  addNamedRoots(p, spec, roots);
  for (size_t m = 0; m < p.moduleCount(); ++m)
    for (int32_t f : p.model(m).roots) addRoot(m, f, "init/fini or ifunc resolver (" + p.module(m).name + ")");
  // ld.so calls libc's early initialisation by name, not through a relocation.
  for (size_t m = 0; m < p.moduleCount(); ++m)
    for (auto &[n, f] : p.model(m).exports)
      if (n == "__libc_early_init") addRoot(m, f, "called by the dynamic loader by name");
  for (size_t m = 0; m < p.moduleCount(); ++m) {
    for (int32_t f : p.model(m).dataAddressTaken) addRoot(m, f, "address stored in data (" + p.module(m).name + ")");
    for (int32_t imp : p.model(m).dataImports)
      for (uint32_t g : p.importTargets(m, imp)) roots.push_back({g, "address stored in data (" + p.module(m).name + ")"});
  }
  return roots;
}

// Reads the syscalls, unresolved sites and kernel paths off the reachable functions, in visit order
// so that the first evidence found for a syscall is a shortest chain.
class FootprintReader {
public:
  FootprintReader(const Program &p, const Reach &reach, const std::vector<uint16_t> &wrappers, Footprint &fp)
      : P(p), R(reach), Wrappers(wrappers), Fp(fp) {}

  void read() {
    for (uint32_t g : R.order) {
      auto [m, f] = P.split(g);
      const Function &fn = P.model(m).functions[size_t(f)];
      for (const SyscallSite &s : fn.syscalls) readSyscallSite(g, s);
      for (const Edge &e : fn.edges) {
        if (e.kind == Edge::AddressTaken || e.indirect) continue;
        readWrapperCall(g, m, e);
        readLibraryCall(g, m, e);
      }
    }
  }

  void finish() {
    Fp.kernel.paths.assign(KernelPaths.begin(), KernelPaths.end());
    for (auto &[nr, evs] : Found) {
      SyscallUse u;
      u.name = std::string(*syscallName(nr));
      u.nr = nr;
      u.evidence = std::move(evs);
      Fp.syscalls.push_back(std::move(u));
    }
    std::sort(Fp.syscalls.begin(), Fp.syscalls.end(), [](const SyscallUse &a, const SyscallUse &b) { return a.name < b.name; });
    addKernelIssuedSyscalls(Fp);
    auto key = [](const Unresolved &u) {
      const Frame &f = u.evidence.chain.back();
      return std::tuple(f.module, f.address, u.kind, u.why);
    };
    std::sort(Fp.unresolved.begin(), Fp.unresolved.end(), [&](const Unresolved &a, const Unresolved &b) { return key(a) < key(b); });
    Fp.unresolved.erase(std::unique(Fp.unresolved.begin(), Fp.unresolved.end(), [&](const Unresolved &a, const Unresolved &b) { return key(a) == key(b); }), Fp.unresolved.end());
  }

private:
  // Up to three evidence chains per syscall, from different functions.
  void addUse(long nr, uint32_t g, uint64_t site, const std::vector<Frame> &tail) {
    if (FoundIn[int(nr)].size() >= 3 || !FoundIn[int(nr)].insert(g).second) return;
    Evidence ev = chainTo(P, R, g, site);
    ev.chain.insert(ev.chain.end(), tail.begin(), tail.end());
    Found[int(nr)].push_back(std::move(ev));
  }
  void unresolved(const std::string &kind, const std::string &why, uint32_t g, uint64_t site) {
    Fp.unresolved.push_back({kind, why, chainTo(P, R, g, site)});
  }

  void readSyscallSite(uint32_t g, const SyscallSite &s) {
    if (s.kind == SyscallSite::Int80) {
      unresolved("int80", "int $0x80 enters the 32-bit system call table (numbers differ from x86-64)", g, s.site);
      return;
    }
    if (s.kind == SyscallSite::Sysenter) {
      unresolved("sysenter", "sysenter is not a 64-bit system call instruction", g, s.site);
      return;
    }
    if (s.nr.kind == AbsValue::Const) {
      for (int i = 0; i < s.nr.n; ++i) {
        if (syscallName(long(s.nr.c[i]))) addUse(long(s.nr.c[i]), g, s.site, {});
        else unresolved("syscall-number", "syscall number " + std::to_string(s.nr.c[i]) + " is not an x86-64 system call", g, s.site);
      }
    } else if (s.nr.kind == AbsValue::Entry) {
      if (R.unknownEntry[g])
        unresolved("wrapper-argument", "syscall number comes from %" + std::string(GprNames[s.nr.reg]) +
                       " at entry, and the function is also reached through a pointer or as an entry point", g, s.site);
    } else {
      unresolved("syscall-number", "%rax is not a constant at the syscall instruction", g, s.site);
    }
  }

  // A call to a syscall wrapper: the numbers it passes in the registers the wrapper makes syscalls of.
  void readWrapperCall(uint32_t g, size_t m, const Edge &e) {
    P.targets(m, e, Targets);
    for (uint32_t t : Targets) {
      if (!Wrappers[t]) continue;
      for (int r = 0; r < NumGprs; ++r) {
        if (!(Wrappers[t] >> r & 1)) continue;
        const AbsValue *v = nullptr;
        for (const RegValue &rv : e.args) if (rv.reg == r) v = &rv.value;
        Frame callee = P.frame(t, P.fn(t).addr);
        if (v && v->kind == AbsValue::Const) {
          for (int i = 0; i < v->n; ++i) {
            if (syscallName(long(v->c[i]))) addUse(long(v->c[i]), g, e.site, {callee});
            else unresolved("wrapper-argument", "call to syscall wrapper " + callee.symbol + " with %" + GprNames[r] + " = " + std::to_string(v->c[i]) + ", not an x86-64 system call", g, e.site);
          }
        } else if (!v || v->kind != AbsValue::Entry) {
          unresolved("wrapper-argument", "call to syscall wrapper " + callee.symbol + " with a non-constant number in %" + GprNames[r], g, e.site);
        }
      }
    }
  }

  // dlopen (code the analysis does not see) and constant kernel paths passed to path-taking functions.
  void readLibraryCall(uint32_t g, size_t m, const Edge &e) {
    const ModuleModel &mm = P.model(m);
    std::string callee = e.import >= 0 ? mm.imports[size_t(e.import)]
                                       : (e.local >= 0 ? mm.functions[size_t(e.local)].name : "");
    if (isDlopen(callee)) {
      std::string what = e.stringArg.empty() ? "a library chosen at run time" : "\"" + e.stringArg + "\"";
      unresolved("dlopen", "dlopen of " + what + ": code loaded at run time is not analysed", g, e.site);
    } else if (!e.stringArg.empty()) {
      StringRef path(e.stringArg);
      for (const char *prefix : {"/proc", "/sys", "/dev"})
        if (path == prefix || path.starts_with(std::string(prefix) + "/")) KernelPaths.insert(e.stringArg);
    }
  }

  const Program &P;
  const Reach &R;
  const std::vector<uint16_t> &Wrappers;
  Footprint &Fp;
  std::map<int, std::vector<Evidence>> Found;
  std::map<int, std::set<uint32_t>> FoundIn;
  std::set<std::string> KernelPaths;
  std::vector<uint32_t> Targets;
};

// What the manifest says about the application: its identity, linkage, C library and modules.
void addAppFacts(Footprint &fp, const std::string &path, const std::vector<LoadedModule> &mods, const Program &p,
                 const RootSpec &spec) {
  const ElfModule &app = *mods[0].elf;
  fp.app.name = app.fileName();
  fp.app.path = path;
  fp.app.sha256 = app.sha256();
  fp.app.linkage = !app.interpreter().empty() ? "dynamic" : (app.isSharedObject() ? "static-pie" : "static");
  fp.app.libc = "none";
  fp.app.libcVersion = "none";
  for (size_t m = 0; m < p.moduleCount(); ++m)
    if (!p.model(m).libc.empty()) {
      fp.app.libc = p.model(m).libc;
      fp.app.libcVersion = p.model(m).libcVersion;
      break;
    }
  for (size_t m = 0; m < mods.size(); ++m) {
    const LoadedModule &lm = mods[m];
    ModuleInfo info;
    info.name = lm.elf->fileName();
    info.path = lm.elf->path();
    info.sha256 = lm.elf->sha256();
    // analyzeLibraryCalls models a library the program (analysed from source) needs: its caller names `by`.
    info.kind = m == 0 && spec.programEntry ? "program" : "library";
    info.loaded = m == 0 ? (spec.programEntry ? "executable" : "needed") : lm.interpreter ? "interpreter" : "needed";
    info.by = lm.neededBy;
    fp.modules.push_back(std::move(info));
  }
}

Expected<Footprint> analyzeClosure(const std::string &path, const RootSpec &spec, const BinaryAnalysisOptions &opts,
                                   BinaryAnalysisReport *report) {
  auto loaded = loadClosure(path, opts.loader);
  if (!loaded)
    return loaded.takeError();
  std::vector<LoadedModule> &mods = *loaded;

  unsigned cacheHits = 0;
  auto models = buildModels(mods, opts, cacheHits);
  if (!models)
    return models.takeError();
  if (report) { report->modules = unsigned(mods.size()); report->cacheHits = cacheHits; }

  std::vector<ProgramModule> modules;
  for (size_t i = 0; i < mods.size(); ++i)
    modules.push_back({&(*models)[i], mods[i].elf->fileName(), mods[i].interpreter});
  Program p(std::move(modules));
  std::vector<uint16_t> wrappers = inferWrappers(p);
  std::vector<Root> roots = collectRoots(p, spec);

  Footprint fp;
  for (size_t m = 0; m < p.moduleCount(); ++m) fp.stats.functions += p.model(m).functions.size();
  Reach reach = walk(p, roots, fp.stats);
  FootprintReader reader(p, reach, wrappers, fp);
  reader.read();
  reader.finish();
  addAppFacts(fp, path, mods, p, spec);
  return fp;
}

} // namespace

Expected<Footprint> analyzeBinary(const std::string &path, const BinaryAnalysisOptions &opts,
                                  BinaryAnalysisReport *report) {
  return analyzeClosure(path, RootSpec{}, opts, report);
}

Expected<Footprint> analyzeLibraryCalls(const std::string &library, const std::vector<std::string> &functions,
                                        const BinaryAnalysisOptions &opts, BinaryAnalysisReport *report,
                                        std::vector<std::string> *unbound) {
  RootSpec spec;
  spec.unbound = unbound;
  spec.programEntry = false;
  spec.namedFunctions = functions;
  std::sort(spec.namedFunctions.begin(), spec.namedFunctions.end());
  spec.namedFunctions.erase(std::unique(spec.namedFunctions.begin(), spec.namedFunctions.end()), spec.namedFunctions.end());
  return analyzeClosure(library, spec, opts, report);
}

} // namespace bespoke
