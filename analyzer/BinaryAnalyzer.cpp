// Whole-program part of the binary analysis: links the module models through the dynamic symbol
// scope, infers syscall wrappers, walks reachability from the loader's entry points, and reads off the
// syscalls with one shortest evidence chain each.
#include "analyzer/BinaryAnalyzer.h"
#include "analyzer/KernelEntries.h"
#include "analyzer/LibcFacts.h"
#include "analyzer/ModelCache.h"
#include "analyzer/ModuleModel.h"
#include "analyzer/SyscallTable.h"

#include "llvm/Support/Path.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

using namespace llvm;

namespace bespoke {

namespace {

constexpr const char *RegNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                      "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

struct Program {
  std::vector<const ModuleModel *> models;
  std::vector<std::string> moduleNames;
  std::vector<uint32_t> base; // global id of each module's first function
  uint32_t total = 0;
  // Per module: import index -> global targets.
  std::vector<std::vector<std::vector<uint32_t>>> importTargets;

  uint32_t gid(size_t m, int32_t f) const { return base[m] + uint32_t(f); }
  std::pair<size_t, int32_t> split(uint32_t g) const {
    size_t m = size_t(std::upper_bound(base.begin(), base.end(), g) - base.begin()) - 1;
    return {m, int32_t(g - base[m])};
  }
  const Function &fn(uint32_t g) const { auto [m, f] = split(g); return models[m]->functions[size_t(f)]; }

  // Targets of an edge, as global ids.
  void targets(size_t m, const Edge &e, std::vector<uint32_t> &out) const {
    out.clear();
    if (e.local >= 0) out.push_back(gid(m, e.local));
    if (e.import >= 0) for (uint32_t t : importTargets[m][size_t(e.import)]) out.push_back(t);
  }

  Frame frame(uint32_t g, uint64_t site) const {
    auto [m, f] = split(g);
    Frame fr;
    fr.module = moduleNames[m];
    fr.symbol = models[m]->functionName(f);
    fr.address = site;
    return fr;
  }
};

void link(Program &p) {
  // Global scope: modules in load order; the first module exporting a name provides it.
  std::unordered_map<std::string, std::vector<uint32_t>> scope;
  for (size_t m = 0; m < p.models.size(); ++m) {
    std::unordered_map<std::string, std::vector<uint32_t>> mine;
    for (auto &[name, f] : p.models[m]->exports) mine[name].push_back(p.gid(m, f));
    for (auto &[name, ids] : mine) scope.try_emplace(name, std::move(ids));
  }
  p.importTargets.resize(p.models.size());
  for (size_t m = 0; m < p.models.size(); ++m) {
    const ModuleModel &mm = *p.models[m];
    p.importTargets[m].resize(mm.imports.size());
    for (size_t i = 0; i < mm.imports.size(); ++i) {
      auto it = scope.find(mm.imports[i]);
      if (it != scope.end()) p.importTargets[m][i] = it->second;
    }
  }
}

// Registers whose value at entry becomes a syscall number inside the function or its callees.
std::vector<uint16_t> inferWrappers(const Program &p) {
  std::vector<uint16_t> wrap(p.total, 0);
  std::vector<std::vector<uint32_t>> callers(p.total);
  std::vector<uint32_t> tg;
  for (size_t m = 0; m < p.models.size(); ++m)
    for (size_t f = 0; f < p.models[m]->functions.size(); ++f) {
      uint32_t g = p.gid(m, int32_t(f));
      const Function &fn = p.models[m]->functions[f];
      for (const SyscallSite &s : fn.syscalls)
        if (s.nr.kind == AbsValue::Entry) wrap[g] |= uint16_t(1u << s.nr.reg);
      for (const Edge &e : fn.edges) {
        if (e.kind == Edge::AddressTaken) continue;
        p.targets(m, e, tg);
        for (uint32_t t : tg) callers[t].push_back(g);
      }
    }
  std::deque<uint32_t> work;
  for (uint32_t g = 0; g < p.total; ++g) if (wrap[g]) work.push_back(g);
  while (!work.empty()) {
    uint32_t t = work.front();
    work.pop_front();
    std::sort(callers[t].begin(), callers[t].end());
    callers[t].erase(std::unique(callers[t].begin(), callers[t].end()), callers[t].end());
    for (uint32_t g : callers[t]) {
      auto [m, f] = p.split(g);
      uint16_t add = 0;
      for (const Edge &e : p.models[m]->functions[size_t(f)].edges) {
        if (e.kind == Edge::AddressTaken) continue;
        p.targets(m, e, tg);
        if (std::find(tg.begin(), tg.end(), t) == tg.end()) continue;
        for (const RegValue &rv : e.args)
          if ((wrap[t] >> rv.reg & 1) && rv.value.kind == AbsValue::Entry) add |= uint16_t(1u << rv.value.reg);
      }
      if ((wrap[g] | add) != wrap[g]) {
        wrap[g] |= add;
        work.push_back(g);
      }
    }
  }
  return wrap;
}

struct Reach {
  static constexpr uint32_t None = UINT32_MAX;
  std::vector<uint32_t> parent;     // caller global id, None for roots
  std::vector<uint64_t> parentSite; // site in the parent
  std::vector<uint32_t> order;      // visit order (BFS)
  std::vector<int32_t> rootOf;      // index into rootReasons for roots
  std::vector<uint8_t> unknownEntry; // entered with unknown registers (root, pointer)
  std::vector<std::string> rootReasons;
  std::vector<uint32_t> depth;
};

Reach walk(const Program &p, const std::vector<std::pair<uint32_t, std::string>> &roots, AnalysisStats &stats) {
  Reach r;
  r.parent.assign(p.total, Reach::None);
  r.parentSite.assign(p.total, 0);
  r.rootOf.assign(p.total, -1);
  r.unknownEntry.assign(p.total, 0);
  r.depth.assign(p.total, 0);
  std::vector<uint8_t> seen(p.total, 0);
  std::deque<uint32_t> q;
  for (auto &[g, why] : roots) {
    r.unknownEntry[g] = 1;
    if (seen[g]) continue;
    seen[g] = 1;
    r.rootOf[g] = int32_t(r.rootReasons.size());
    r.rootReasons.push_back(why);
    q.push_back(g);
  }
  std::vector<uint32_t> tg;
  std::set<uint32_t> addrTaken;
  while (!q.empty()) {
    uint32_t g = q.front();
    q.pop_front();
    r.order.push_back(g);
    auto [m, f] = p.split(g);
    for (const Edge &e : p.models[m]->functions[size_t(f)].edges) {
      if (e.indirect) { ++stats.indirectCallSites; continue; }
      p.targets(m, e, tg);
      for (uint32_t t : tg) {
        if (e.kind == Edge::AddressTaken) { r.unknownEntry[t] = 1; addrTaken.insert(t); }
        if (seen[t]) continue;
        seen[t] = 1;
        r.parent[t] = g;
        r.parentSite[t] = e.site;
        r.depth[t] = r.depth[g] + 1;
        q.push_back(t);
      }
    }
  }
  stats.reachableFunctions = r.order.size();
  stats.addressTakenFunctions = addrTaken.size();
  return r;
}

Evidence chainTo(const Program &p, const Reach &r, uint32_t g, uint64_t site) {
  Evidence ev;
  std::vector<Frame> rev;
  rev.push_back(p.frame(g, site));
  uint32_t cur = g;
  while (r.parent[cur] != Reach::None) {
    rev.push_back(p.frame(r.parent[cur], r.parentSite[cur]));
    cur = r.parent[cur];
  }
  ev.root = r.rootOf[cur] >= 0 ? r.rootReasons[size_t(r.rootOf[cur])] : "unknown";
  ev.chain.assign(rev.rbegin(), rev.rend());
  return ev;
}

std::string hex(uint64_t v) { char b[32]; snprintf(b, sizeof b, "0x%llx", (unsigned long long)v); return b; }

// Which functions start the walk: a program's (its entry, as the kernel starts it) or a library's as
// seen from source code (the named functions the program calls, plus what every process start runs).
struct RootSpec {
  bool programEntry = true;
  std::vector<std::string> namedFunctions; // exported functions, root reason "call to NAME"
  std::vector<std::string> *unbound = nullptr; // receives the named functions no module provides
};

Expected<Footprint> analyzeClosure(const std::string &path, const RootSpec &spec, const BinaryAnalysisOptions &opts,
                                   BinaryAnalysisReport *report) {
  auto loaded = loadClosure(path, opts.loader);
  if (!loaded)
    return loaded.takeError();
  std::vector<LoadedModule> &mods = *loaded;

  // Module models, built in parallel (each thread has its own LLVM MC objects).
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
  if (report) { report->modules = unsigned(mods.size()); report->cacheHits = hits; }

  Program p;
  for (size_t i = 0; i < mods.size(); ++i) {
    p.models.push_back(&*models[i]);
    p.moduleNames.push_back(mods[i].elf->fileName());
    p.base.push_back(p.total);
    p.total += uint32_t(models[i]->functions.size());
  }
  link(p);
  std::vector<uint16_t> wrappers = inferWrappers(p);

  Footprint fp;
  // Roots, in the order the process runs them.
  std::vector<std::pair<uint32_t, std::string>> roots;
  auto addRoot = [&](size_t m, int32_t f, const std::string &why) { if (f >= 0) roots.push_back({p.gid(m, f), why}); };
  for (size_t m = 0; m < mods.size(); ++m)
    if (mods[m].interpreter) addRoot(m, p.models[m]->entryFunction, "interpreter entry (" + p.moduleNames[m] + ")");
  if (spec.programEntry) addRoot(0, p.models[0]->entryFunction, "entry");
  for (const std::string &name : spec.namedFunctions) {
    bool bound = false;
    for (size_t m = 0; m < mods.size() && !bound; ++m) {
      const auto &ex = p.models[m]->exports;
      auto it = std::lower_bound(ex.begin(), ex.end(), name,
                                 [](const std::pair<std::string, int32_t> &e, const std::string &n) { return e.first < n; });
      if (it == ex.end() || it->first != name) continue;
      addRoot(m, it->second, "call to " + name);
      bound = true; // global scope: the first module exporting the name provides it
    }
    // A static executable exports nothing: bind to its own (symbol table) function of that name.
    for (size_t m = 0; m < mods.size() && !bound; ++m)
      for (size_t f = 0; f < p.models[m]->functions.size() && !bound; ++f)
        if (p.models[m]->functions[f].name == name) {
          addRoot(m, int32_t(f), "call to " + name);
          bound = true;
        }
    if (!bound && spec.unbound) spec.unbound->push_back(name);
  }
  for (size_t m = 0; m < mods.size(); ++m)
    for (int32_t f : p.models[m]->roots) addRoot(m, f, "init/fini or ifunc resolver (" + p.moduleNames[m] + ")");
  // ld.so calls libc's early initialisation by name, not through a relocation.
  for (size_t m = 0; m < mods.size(); ++m)
    for (auto &[n, f] : p.models[m]->exports)
      if (n == "__libc_early_init") addRoot(m, f, "called by the dynamic loader by name");
  for (size_t m = 0; m < mods.size(); ++m) {
    for (int32_t f : p.models[m]->dataAddressTaken) addRoot(m, f, "address stored in data (" + p.moduleNames[m] + ")");
    for (int32_t imp : p.models[m]->dataImports)
      for (uint32_t g : p.importTargets[m][size_t(imp)]) roots.push_back({g, "address stored in data (" + p.moduleNames[m] + ")"});
  }

  for (const ModuleModel *m : p.models) fp.stats.functions += m->functions.size();
  Reach reach = walk(p, roots, fp.stats);

  // Syscalls and unresolved sites, in visit order so the first evidence found is a shortest chain.
  std::map<int, std::vector<Evidence>> found;
  std::map<int, std::set<uint32_t>> foundIn;
  auto addUse = [&](long nr, uint32_t g, uint64_t site, const std::vector<Frame> &tail) {
    if (foundIn[int(nr)].size() >= 3 || !foundIn[int(nr)].insert(g).second) return;
    Evidence ev = chainTo(p, reach, g, site);
    ev.chain.insert(ev.chain.end(), tail.begin(), tail.end());
    found[int(nr)].push_back(std::move(ev));
  };
  auto unresolved = [&](const std::string &kind, const std::string &why, uint32_t g, uint64_t site) {
    fp.unresolved.push_back({kind, why, chainTo(p, reach, g, site)});
  };
  std::vector<uint32_t> tg;
  std::set<std::string> kernelPaths;
  for (uint32_t g : reach.order) {
    auto [m, f] = p.split(g);
    const Function &fn = p.models[m]->functions[size_t(f)];
    for (const SyscallSite &s : fn.syscalls) {
      if (s.kind == SyscallSite::Int80) {
        unresolved("int80", "int $0x80 enters the 32-bit system call table (numbers differ from x86-64)", g, s.site);
        continue;
      }
      if (s.kind == SyscallSite::Sysenter) {
        unresolved("sysenter", "sysenter is not a 64-bit system call instruction", g, s.site);
        continue;
      }
      if (s.nr.kind == AbsValue::Const) {
        for (int i = 0; i < s.nr.n; ++i) {
          if (syscallName(long(s.nr.c[i]))) addUse(long(s.nr.c[i]), g, s.site, {});
          else unresolved("syscall-number", "syscall number " + std::to_string(s.nr.c[i]) + " is not an x86-64 system call", g, s.site);
        }
      } else if (s.nr.kind == AbsValue::Entry) {
        if (reach.unknownEntry[g])
          unresolved("wrapper-argument", "syscall number comes from %" + std::string(RegNames[s.nr.reg]) +
                         " at entry, and the function is also reached through a pointer or as an entry point", g, s.site);
      } else {
        unresolved("syscall-number", "%rax is not a constant at the syscall instruction", g, s.site);
      }
    }
    for (const Edge &e : fn.edges) {
      if (e.kind == Edge::AddressTaken || e.indirect) {
        continue;
      }
      p.targets(m, e, tg);
      for (uint32_t t : tg) {
        if (!wrappers[t]) continue;
        for (int r = 0; r < 16; ++r) {
          if (!(wrappers[t] >> r & 1)) continue;
          const AbsValue *v = nullptr;
          for (const RegValue &rv : e.args) if (rv.reg == r) v = &rv.value;
          Frame callee = p.frame(t, p.fn(t).addr);
          if (v && v->kind == AbsValue::Const) {
            for (int i = 0; i < v->n; ++i) {
              if (syscallName(long(v->c[i]))) addUse(long(v->c[i]), g, e.site, {callee});
              else unresolved("wrapper-argument", "call to syscall wrapper " + callee.symbol + " with %" + RegNames[r] + " = " + std::to_string(v->c[i]) + ", not an x86-64 system call", g, e.site);
            }
          } else if (!v || v->kind != AbsValue::Entry) {
            unresolved("wrapper-argument", "call to syscall wrapper " + callee.symbol + " with a non-constant number in %" + RegNames[r], g, e.site);
          }
        }
      }
      std::string callee = e.import >= 0 ? p.models[m]->imports[size_t(e.import)]
                                         : (e.local >= 0 ? p.models[m]->functions[size_t(e.local)].name : "");
      if (isDlopen(callee)) {
        std::string what = e.stringArg.empty() ? "a library chosen at run time" : "\"" + e.stringArg + "\"";
        unresolved("dlopen", "dlopen of " + what + ": code loaded at run time is not analysed", g, e.site);
      } else if (!e.stringArg.empty()) {
        StringRef path(e.stringArg);
        for (const char *prefix : {"/proc", "/sys", "/dev"})
          if (path == prefix || path.starts_with(std::string(prefix) + "/")) kernelPaths.insert(e.stringArg);
      }
    }
  }
  fp.kernel.paths.assign(kernelPaths.begin(), kernelPaths.end());
  for (auto &[nr, evs] : found) {
    SyscallUse u;
    u.name = std::string(*syscallName(nr));
    u.nr = nr;
    u.evidence = std::move(evs);
    fp.syscalls.push_back(std::move(u));
  }
  std::sort(fp.syscalls.begin(), fp.syscalls.end(), [](const SyscallUse &a, const SyscallUse &b) { return a.name < b.name; });
  addKernelIssuedSyscalls(fp);
  auto key = [](const Unresolved &u) {
    const Frame &f = u.evidence.chain.back();
    return std::tuple(f.module, f.address, u.kind, u.why);
  };
  std::sort(fp.unresolved.begin(), fp.unresolved.end(), [&](const Unresolved &a, const Unresolved &b) { return key(a) < key(b); });
  fp.unresolved.erase(std::unique(fp.unresolved.begin(), fp.unresolved.end(), [&](const Unresolved &a, const Unresolved &b) { return key(a) == key(b); }), fp.unresolved.end());

  // Application facts.
  const ElfModule &app = *mods[0].elf;
  fp.app.name = app.fileName();
  fp.app.path = path;
  fp.app.sha256 = app.sha256();
  fp.app.linkage = !app.interpreter().empty() ? "dynamic" : (app.isSharedObject() ? "static-pie" : "static");
  fp.app.libc = "none";
  fp.app.libcVersion = "none";
  for (size_t m = 0; m < mods.size(); ++m)
    if (!p.models[m]->libc.empty()) {
      fp.app.libc = p.models[m]->libc;
      fp.app.libcVersion = p.models[m]->libcVersion;
      break;
    }
  for (const LoadedModule &lm : mods)
    fp.modules.push_back({lm.elf->fileName(), lm.elf->path(), lm.elf->sha256()});
  (void)hex;
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
