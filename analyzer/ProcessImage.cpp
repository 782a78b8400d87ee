// ProcessImage: one process image with the code it loads at run time (see ProcessImage.h). The phases:
// load the closure, build the module models, link a Program, collect the roots, walk, find the run-time
// sites, resolve what they load, add it with its closure, and again, until nothing new arrives; then read
// the footprint off the last walk.
#include "analyzer/ProcessImage.h"

#include "analyzer/FootprintReader.h"
#include "analyzer/LibcFacts.h"
#include "analyzer/ModelCache.h"
#include "analyzer/Program.h"
#include "analyzer/RunTimeCode.h"
#include "analyzer/SyscallTable.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

using namespace llvm;

namespace bespoke {

namespace {

// Module models of mods[from..], from the session or built in parallel (each thread has its own LLVM MC
// objects; the disk cache serves most).
Error buildModels(const std::vector<LoadedModule> &mods, size_t from, const BinaryAnalysisOptions &opts,
                  AnalysisSession &session, std::vector<std::shared_ptr<const ModuleModel>> &out, unsigned &cacheHits) {
  ModelCache cache(opts.cacheDir);
  std::vector<std::shared_ptr<const ModuleModel>> known(mods.size() - from);
  std::vector<size_t> todo;
  for (size_t i = from; i < mods.size(); ++i) {
    auto it = session.models.find(mods[i].elf->sha256());
    if (it != session.models.end()) {
      known[i - from] = it->second;
      ++cacheHits;
    } else {
      todo.push_back(i);
    }
  }
  size_t n = todo.size();
  std::vector<std::optional<ModuleModel>> models(n);
  std::vector<Error> errors;
  std::mutex mu;
  std::atomic<size_t> next{0};
  unsigned jobs = opts.jobs ? opts.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = std::max(1u, std::min<unsigned>(jobs, unsigned(n)));
  // Largest first: the closure's time is bounded by its biggest library.
  std::vector<size_t> byWork(n);
  for (size_t i = 0; i < n; ++i) byWork[i] = i;
  std::stable_sort(byWork.begin(), byWork.end(), [&](size_t a, size_t b) {
    return mods[todo[a]].elf->bytes().size() > mods[todo[b]].elf->bytes().size();
  });
  auto worker = [&] {
    for (size_t k; (k = next++) < n;) {
      size_t i = byWork[k];
      bool hit = false;
      auto m = cache.get(*mods[todo[i]].elf, hit);
      std::lock_guard<std::mutex> lock(mu);
      if (!m) { errors.push_back(m.takeError()); continue; }
      if (hit) ++cacheHits;
      if (opts.progress)
        opts.progress((hit ? "model (cached) " : "analyzed ") + mods[todo[i]].elf->fileName() + " [" +
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
  for (size_t k = 0; k < n; ++k) {
    auto shared = std::make_shared<const ModuleModel>(std::move(*models[k]));
    session.models.emplace(mods[todo[k]].elf->sha256(), shared);
    known[todo[k] - from] = std::move(shared);
  }
  for (auto &m : known) out.push_back(std::move(m));
  return Error::success();
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

// Roots of the modules loaded at process start (the first `startup`), in the order the process runs them.
std::vector<Root> collectRoots(const Program &p, const RootSpec &spec, size_t startup) {
  std::vector<Root> roots;
  auto addRoot = [&](size_t m, int32_t f, const std::string &why) { if (f >= 0) roots.push_back({p.gid(m, f), why}); };
  for (size_t m = 0; m < startup; ++m)
    if (p.module(m).interpreter) addRoot(m, p.model(m).entryFunction, "interpreter entry (" + p.module(m).name + ")");
  if (spec.programEntry) addRoot(0, p.model(0).entryFunction, "entry");
  addNamedRoots(p, spec, roots);
  for (size_t m = 0; m < startup; ++m)
    for (int32_t f : p.model(m).roots) addRoot(m, f, "init/fini or ifunc resolver (" + p.module(m).name + ")");
  // ld.so calls libc's early initialisation by name, not through a relocation.
  for (size_t m = 0; m < startup; ++m)
    for (auto &[n, f] : p.model(m).exports)
      if (n == "__libc_early_init") addRoot(m, f, "called by the dynamic loader by name");
  for (size_t m = 0; m < startup; ++m) {
    for (int32_t f : p.model(m).dataAddressTaken) addRoot(m, f, "address stored in data (" + p.module(m).name + ")");
    for (int32_t imp : p.model(m).dataImports)
      for (uint32_t g : p.importTargets(m, imp)) roots.push_back({g, "address stored in data (" + p.module(m).name + ")"});
  }
  return roots;
}

// Where code loaded at run time is entered: the loading call, or (flag and observed objects of a program
// without a dlopen site the analysis sees) nowhere the analysis can name, with a reason.
struct EntryPoint {
  std::optional<Reached> from;
  std::string reason; // root reason when `from` is empty
};

// A module (and its closure) loaded at run time, entered at `entry`.
struct RunTimeLoad {
  size_t module;      // index of the loaded module
  size_t closureEnd;  // modules [module, closureEnd) came with it
  EntryPoint entry;
};

std::string sourceText(const ConfigSource &s) {
  return s.file + ":" + std::to_string(s.line) + ": " + s.text;
}

class ImageAnalysis {
public:
  ImageAnalysis(const ImageRequest &req, const BinaryAnalysisOptions &opts, AnalysisSession &session)
      : Req(req), Opts(opts), Session(session), Loader(opts.loader, &session.files) {}

  Expected<ImageResult> run() {
    if (auto first = Loader.add(Req.path, ""); !first) return first.takeError();
    if (Error e = Loader.addInterpreter()) return e;
    Startup = Loader.modules().size();
    for (size_t m = 0; m < Startup; ++m) {
      const LoadedModule &lm = Loader.modules()[m];
      ModuleInfo info;
      info.kind = m == 0 && Req.spec.programEntry ? "program" : "library";
      // analyzeLibraryCalls models a library the program (analysed from source) needs: its caller names `by`.
      info.loaded = m == 0 ? (Req.spec.programEntry ? "executable" : "needed") : lm.interpreter ? "interpreter" : "needed";
      info.by = lm.neededBy;
      addInfo(m, std::move(info));
    }
    for (unsigned round = 0;; ++round) {
      if (Error e = buildNewModels()) return e;
      relink();
      if (Opts.progress)
        Opts.progress(Infos[0].name + ": " + std::to_string(Models.size()) + " modules, " +
                      std::to_string(R.order.size()) + " reachable functions (pass " + std::to_string(round + 1) + ")");
      auto more = loadRunTimeCode(round == 0);
      if (!more) return more.takeError();
      if (!*more || round == 15) break;
    }
    return finish();
  }

private:
  Error buildNewModels() {
    unsigned hits = 0;
    if (Error e = buildModels(Loader.modules(), Models.size(), Opts, Session, Models, hits)) return e;
    Result.report.cacheHits += hits;
    Result.report.modules = unsigned(Loader.modules().size());
    return Error::success();
  }

  void relink() {
    // A pass that only entered loaded code from new places keeps the program graph; new modules rebuild it.
    if (!P || P->moduleCount() != Models.size()) {
      std::vector<ProgramModule> modules;
      for (size_t i = 0; i < Models.size(); ++i)
        modules.push_back({Models[i].get(), Infos[i].name, Loader.modules()[i].interpreter && i < Startup});
      P = std::make_unique<Program>(std::move(modules));
      Wrappers = inferWrappers(*P);
    }
    std::vector<Root> roots = collectRoots(*P, Req.spec, Startup);
    std::vector<Attachment> attachments;
    for (const RunTimeLoad &load : Loads) enter(load, roots, attachments);
    Stats = AnalysisStats{};
    for (size_t m = 0; m < P->moduleCount(); ++m) Stats.functions += P->model(m).functions.size();
    R = walk(*P, roots, Stats, attachments);
    std::vector<RunTimeModule> rt;
    for (size_t m = 0; m < P->moduleCount(); ++m) {
      const ElfModule *elf = Loader.modules()[m].elf.get();
      bool implementation = (elf->isSharedObject() && m > 0 && !P->model(m).libc.empty()) ||
                            (Loader.modules()[m].interpreter && m > 0);
      rt.push_back({elf, implementation});
    }
    Sites = findRunTimeSites(*P, R, rt, Wrappers);
  }

  // The functions a run-time module is entered at: constructors, init arrays, IFUNC resolvers, functions
  // stored in data, and (for the module the program asked for) every exported function.
  void enter(const RunTimeLoad &load, std::vector<Root> &roots, std::vector<Attachment> &attachments) {
    std::vector<uint32_t> fns;
    for (size_t m = load.module; m < load.closureEnd && m < P->moduleCount(); ++m) {
      const ModuleModel &mm = P->model(m);
      for (int32_t f : mm.roots) fns.push_back(P->gid(m, f));
      for (int32_t f : mm.dataAddressTaken) fns.push_back(P->gid(m, f));
      for (int32_t imp : mm.dataImports)
        for (uint32_t g : P->importTargets(m, imp)) fns.push_back(g);
      if (m == load.module)
        for (auto &[name, f] : mm.exports) fns.push_back(P->gid(m, f));
    }
    for (uint32_t g : fns) {
      if (load.entry.from) attachments.push_back({load.entry.from->function, load.entry.from->site, g});
      else roots.push_back({g, load.entry.reason});
    }
  }

  // Resolves what the sites of the last walk load; adds what is new. Returns whether anything was added.
  Expected<bool> loadRunTimeCode(bool first) {
    bool added = false;
    auto load = [&](const std::string &path, ModuleInfo info, EntryPoint entry) -> Error {
      int existing = Loader.indexOf(path);
      auto idx = Loader.add(path, info.by);
      if (!idx) return idx.takeError();
      std::string key = std::to_string(*idx) + "@" +
                        (entry.from ? std::to_string(entry.from->function) + ":" + std::to_string(entry.from->site) : entry.reason);
      if (!Entered.insert(key).second) return Error::success();
      if (existing < 0) {
        addInfo(*idx, std::move(info));
        for (size_t m = *idx + 1; m < Loader.modules().size(); ++m) {
          ModuleInfo dep;
          dep.kind = "library";
          dep.loaded = "needed";
          dep.by = Loader.modules()[m].neededBy;
          addInfo(m, std::move(dep));
        }
      }
      Loads.push_back({*idx, existing < 0 ? Loader.modules().size() : *idx + 1, std::move(entry)});
      added = true;
      return Error::success();
    };
    // dlopen of constant names, found as ld.so finds them for the calling module.
    std::vector<const CodeSite *> openSites;
    for (const CodeSite &s : Sites.dlopens) {
      if (s.values.empty()) { openSites.push_back(&s); continue; }
      for (const std::string &name : s.values) {
        const ElfModule &caller = *Loader.modules()[P->split(s.function).first].elf;
        std::string path = Loader.find(name, caller);
        if (path.empty() || (name.find('/') != std::string::npos && name[0] != '/')) {
          Pending.push_back({"dlopen", "dlopen of \"" + name + "\": " +
                                           (path.empty() ? "not found on this machine (the program's dlopen fails here, or "
                                                           "loads a library the analysis never saw)"
                                                         : "a path relative to the working directory"),
                             s.function, s.site});
          continue;
        }
        ModuleInfo info;
        info.kind = "library";
        info.loaded = "dlopen";
        info.by = P->module(P->split(s.function).first).name;
        info.site = P->frame(s.function, s.site);
        info.target = name;
        if (Error e = load(path, std::move(info), {Reached{s.function, s.site}, ""})) {
          // A library that cannot be loaded with its dependencies fails at run time too.
          Pending.push_back({"dlopen", "dlopen of \"" + name + "\": " + toString(std::move(e)), s.function, s.site});
        }
      }
    }
    // Plugin systems the machine's configuration drives.
    if (Opts.runTime.configuration) {
      std::vector<std::string> warnings;
      // What the configuration names is read once per analysis (the session keeps it).
      auto configured = [&](const char *system, auto read) -> Expected<const std::vector<PluginModule> *> {
        auto it = Session.plugins.find(system);
        if (it == Session.plugins.end()) {
          auto modules = read();
          if (!modules) return modules.takeError();
          it = Session.plugins.emplace(system, std::move(*modules)).first;
        }
        return &it->second;
      };
      auto plugins = [&](const char *system, Expected<const std::vector<PluginModule> *> modules, EntryPoint entry,
                         const std::string &by) -> Error {
        if (!modules) return modules.takeError();
        for (const PluginModule &pm : **modules) {
          ModuleInfo info;
          info.kind = "library";
          info.loaded = system;
          info.by = by;
          info.config = sourceText(pm.source);
          if (Error e = load(pm.path, std::move(info), entry))
            warnings.push_back(pm.path + ": not analysed, it cannot be loaded here: " + toString(std::move(e)));
        }
        return Error::success();
      };
      if (Sites.nssDispatcher || Sites.staticNss) {
        EntryPoint at = Sites.nssDispatcher ? EntryPoint{Sites.nssDispatcher, ""}
                                            : EntryPoint{std::nullopt, "loaded by glibc's NSS (/etc/nsswitch.conf)"};
        std::string by = Sites.nssDispatcher ? P->module(P->split(Sites.nssDispatcher->function).first).name : Infos[0].name;
        if (Error e = plugins("nss", configured("nss", [&] { return nssModules(Opts.runTime.plugins, warnings); }), at, by)) return e;
      }
      if (Sites.iconvOpen) {
        std::string by = P->module(P->split(Sites.iconvOpen->function).first).name;
        if (Error e = plugins("gconv", configured("gconv", [&] { return gconvModules(Opts.runTime.plugins, warnings); }),
                              {Sites.iconvOpen, ""}, by))
          return e;
      }
      if (!Sites.pamDlopens.empty()) {
        const CodeSite &s = Sites.pamDlopens.front();
        if (Error e = plugins("pam", configured("pam", [&] { return pamModules(Opts.runTime.plugins, warnings); }),
                              {Reached{s.function, s.site}, ""},
                              P->module(P->split(s.function).first).name))
          return e;
      }
      if (!Sites.opensslDlopens.empty()) {
        const CodeSite &s = Sites.opensslDlopens.front();
        if (Error e = plugins("openssl", configured("openssl", [&] { return opensslModules(Opts.runTime.plugins, warnings); }),
                              {Reached{s.function, s.site}, ""},
                              P->module(P->split(s.function).first).name))
          return e;
      }
      for (const std::string &w : warnings) {
        // A module the configuration names but the machine lacks is skipped by the loader as by the
        // analysis: normal on a stock system (nsswitch.conf's db, nis), so progress, not a warning.
        if (llvm::StringRef(w).contains("is not installed")) {
          if (Opts.progress && Warned.insert(w).second) Opts.progress(w);
        } else {
          warn(w);
        }
      }
    } else {
      for (const auto *list : {&Sites.pamDlopens, &Sites.opensslDlopens})
        for (const CodeSite &s : *list) openSites.push_back(&s);
    }
    // Libraries the user named, and those the observed run mapped: entered where the program loads code
    // chosen at run time, if the analysis sees such a call.
    if (first && Req.isMain) {
      EntryPoint at = openSites.empty() ? EntryPoint{std::nullopt, ""}
                                        : EntryPoint{Reached{openSites.front()->function, openSites.front()->site}, ""};
      for (const std::string &path : Opts.runTime.dlopen) {
        ModuleInfo info;
        info.kind = "library";
        info.loaded = "flag";
        info.flag = "--dlopen " + path;
        EntryPoint e = at;
        if (!e.from) e.reason = "loaded at run time (--dlopen " + path + ")";
        if (Error err = load(path, std::move(info), e)) return err;
      }
    }
    if (first && Opts.runTime.observation) {
      std::string exe = realPathOf(Loader.modules()[0].elf->path());
      for (const ObservedObject &o : Opts.runTime.observation->objects) {
        if (realPathOf(o.program) != exe || Loader.indexOf(o.path) >= 0 || !isElf(o.path)) continue;
        ModuleInfo info;
        info.kind = "library";
        info.loaded = "observed";
        info.by = Infos[0].name;
        EntryPoint e = openSites.empty() ? EntryPoint{std::nullopt, "mapped in the observed run"}
                                         : EntryPoint{Reached{openSites.front()->function, openSites.front()->site}, ""};
        if (Error err = load(o.path, std::move(info), e))
          warn(o.path + ": observed, but not analysed: " + toString(std::move(err)));
      }
    }
    OpenDlopens = openSites;
    return added;
  }

  static bool isElf(const std::string &path) {
    char buf[4] = {};
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) return false;
    size_t n = fread(buf, 1, 4, f);
    fclose(f);
    return n == 4 && buf[0] == 0x7f && buf[1] == 'E' && buf[2] == 'L' && buf[3] == 'F';
  }

  void warn(const std::string &w) {
    if (Opts.runTime.warning && Warned.insert(w).second) Opts.runTime.warning(w);
  }

  // The file name a module is known by in frames: its own, or with "#2", "#3" when another file of the
  // image already has that name.
  void addInfo(size_t m, ModuleInfo info) {
    const LoadedModule &lm = Loader.modules()[m];
    info.name = lm.elf->fileName();
    for (unsigned k = 2; std::any_of(Infos.begin(), Infos.end(), [&](const ModuleInfo &i) { return i.name == info.name; }); ++k)
      info.name = lm.elf->fileName() + "#" + std::to_string(k);
    info.path = lm.elf->path();
    info.sha256 = lm.elf->sha256();
    if (Infos.size() <= m) Infos.resize(m + 1);
    Infos[m] = std::move(info);
  }

  Expected<ImageResult> finish() {
    Footprint &fp = Result.footprint;
    FootprintReader reader(*P, R, Wrappers, Sites.setxidFunctions, fp);
    reader.setStringReader([this](size_t m, uint64_t addr) { return Loader.modules()[m].elf->cStringAt(addr); });
    reader.read();
    for (const PendingUnresolved &u : Pending) reader.unresolved(u.kind, u.why, u.function, u.site);
    std::string given;
    if (Req.isMain && (!Opts.runTime.dlopen.empty() || Opts.runTime.observation))
      given = "; only the libraries --dlopen or --observe name are analysed";
    for (const CodeSite *s : OpenDlopens)
      reader.unresolved("dlopen", "dlopen of a library chosen at run time (" + s->why + ")" + given, s->function, s->site);
    if (!Opts.runTime.configuration) {
      if (Sites.nssDispatcher)
        reader.unresolved("dlopen", "glibc's NSS loads the modules /etc/nsswitch.conf names (configuration not read)",
                          Sites.nssDispatcher->function, Sites.nssDispatcher->site);
      if (Sites.iconvOpen)
        reader.unresolved("dlopen", "iconv_open loads the gconv modules gconv-modules names (configuration not read)",
                          Sites.iconvOpen->function, Sites.iconvOpen->site);
    }
    findExecs(reader);
    reader.finish();
    findReachedOtherwise();
    fp.stats = Stats;
    for (ModuleInfo &i : Infos) fp.modules.push_back(i);
    addAppFacts(fp);
    return std::move(Result);
  }

  // For each syscall whose argument facts come from the source's calls of some functions: is it reachable
  // with the roots of those calls taken away (process start-up, functions stored in data, other calls)?
  // Then the facts are not the whole story and the caller must widen them to any value.
  void findReachedOtherwise() {
    if (Req.spec.soleRoutes.empty()) return;
    std::vector<Root> loaded, startup = collectRoots(*P, Req.spec, Startup);
    std::vector<Attachment> attachments;
    for (const RunTimeLoad &load : Loads) enter(load, loaded, attachments);
    for (const auto &[sys, fns] : Req.spec.soleRoutes) {
      std::optional<int> nr = syscallNumber(sys);
      if (!nr) continue;
      std::vector<Root> roots = loaded;
      for (const Root &r : startup)
        if (std::none_of(fns.begin(), fns.end(), [&](const std::string &f) { return r.reason == "call to " + f; }))
          roots.push_back(r);
      AnalysisStats unused;
      Reach without = walk(*P, roots, unused, attachments);
      bool reached = false;
      auto isSys = [&](const AbsValue &v) {
        for (int i = 0; v.kind == AbsValue::Const && i < v.n; ++i)
          if (v.c[i] == uint64_t(*nr)) return true;
        return false;
      };
      forEachSyscallSite(*P, without, Wrappers, isSys, [&](uint32_t, uint64_t, uint32_t) {
        reached = true;
        return false; // one site is enough
      });
      if (reached) Result.reachedOtherwise.insert(sys);
    }
  }

  // The programs the image executes: constant paths and names (PATH searched where the function does),
  // scripts through their interpreter; --exec and observed programs for the main image.
  void findExecs(FootprintReader &reader) {
    std::vector<const CodeSite *> open;
    for (const CodeSite &s : Sites.execs) {
      if (s.values.empty()) {
        open.push_back(&s);
        continue;
      }
      for (const std::string &value : s.values) {
        std::string why;
        std::vector<std::string> paths = resolveExec(value, s.searchesPath, why);
        if (paths.empty()) {
          reader.unresolved("exec", "exec of \"" + value + "\": " + why, s.function, s.site);
          continue;
        }
        for (const std::string &path : paths) {
          ExecTarget t;
          t.path = path;
          t.target = value;
          t.loaded = "exec";
          t.site = P->frame(s.function, s.site);
          t.evidence = chainTo(*P, R, s.function, s.site);
          t.evidence.chain.push_back(P->frame(s.callee, P->fn(s.callee).addr));
          Result.execs.push_back(std::move(t));
        }
      }
    }
    std::string given = Req.isMain && (!Opts.runTime.exec.empty() || Opts.runTime.observation)
                            ? "; only the programs --exec or --observe name are analysed"
                            : "";
    for (const CodeSite *s : open)
      reader.unresolved("exec", "exec of a program chosen at run time (" + s->why + ")" + given, s->function, s->site);
    Evidence via;
    if (!open.empty()) {
      via = chainTo(*P, R, open.front()->function, open.front()->site);
      via.chain.push_back(P->frame(open.front()->callee, P->fn(open.front()->callee).addr));
    }
    auto given_ = [&](const std::string &path, const std::string &target, const std::string &loaded,
                      const std::string &flag, const std::string &reason) {
      ExecTarget t;
      t.path = path;
      t.target = target;
      t.loaded = loaded;
      t.flag = flag;
      t.evidence = via;
      if (via.chain.empty()) t.evidence.root = reason;
      Result.execs.push_back(std::move(t));
    };
    if (Req.isMain)
      for (const std::string &p : Opts.runTime.exec) {
        std::string why;
        std::vector<std::string> paths = resolveExec(p, true, why);
        if (paths.empty()) {
          warn("--exec " + p + ": " + why);
          continue;
        }
        for (const std::string &path : paths) given_(path, p, "flag", "--exec " + p, "executed at run time (--exec " + p + ")");
      }
    if (Opts.runTime.observation) {
      std::string exe = realPathOf(Loader.modules()[0].elf->path());
      for (const ObservedExec &o : Opts.runTime.observation->programs)
        if (realPathOf(o.by) == exe) given_(o.path, o.requested.empty() ? o.path : o.requested, "observed", "",
                                            "executed in the observed run");
    }
  }

  // The files the kernel runs for an exec of `value`: the program, or a script's interpreter (and, for
  // "#!/usr/bin/env NAME", env and NAME). Empty with `why` when it cannot be told.
  std::vector<std::string> resolveExec(const std::string &value, bool searches, std::string &why) const {
    std::string path;
    if (value.find('/') != std::string::npos) {
      if (value[0] != '/') {
        why = "a path relative to the working directory";
        return {};
      }
      path = value;
    } else if (searches) {
      for (const std::string &dir : Opts.runTime.searchPath)
        if (std::string p = dir + "/" + value; llvm::sys::fs::can_execute(p) && !llvm::sys::fs::is_directory(p)) {
          path = p;
          break;
        }
      if (path.empty()) {
        why = "not found in " + join(Opts.runTime.searchPath, ":");
        return {};
      }
    } else {
      why = "a name without '/' is a path relative to the working directory";
      return {};
    }
    if (!llvm::sys::fs::exists(path)) {
      why = "no such file here";
      return {};
    }
    auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buf) {
      why = "cannot read it: " + buf.getError().message();
      return {};
    }
    StringRef head = (*buf)->getBuffer().take_front(256);
    if (head.starts_with("\x7f" "ELF")) return {path};
    if (head.starts_with("#!")) {
      StringRef line = head.drop_front(2).split('\n').first.trim();
      auto [interp, arg] = line.split(' ');
      interp = interp.trim();
      arg = arg.trim();
      if (interp.empty() || interp[0] != '/') {
        why = "a script whose interpreter line is not an absolute path";
        return {};
      }
      if (sys::path::filename(interp) == "env" && !arg.empty() && !arg.starts_with("-")) {
        std::vector<std::string> out = {interp.str()};
        std::vector<std::string> named = resolveExec(arg.str(), true, why);
        if (named.empty()) return {};
        out.insert(out.end(), named.begin(), named.end());
        return out;
      }
      return {interp.str()};
    }
    why = "neither an ELF executable nor a script (the exec fails, or a shell runs it)";
    return {};
  }

  static std::string join(const std::vector<std::string> &v, const char *sep) {
    std::string s;
    for (const std::string &x : v) s += (s.empty() ? "" : sep) + x;
    return s;
  }

  // What the manifest says about the application: its identity, linkage and C library.
  void addAppFacts(Footprint &fp) {
    const ElfModule &app = *Loader.modules()[0].elf;
    fp.app.name = app.fileName();
    fp.app.path = Req.path;
    fp.app.sha256 = app.sha256();
    fp.app.linkage = !app.interpreter().empty() ? "dynamic" : (app.isSharedObject() ? "static-pie" : "static");
    fp.app.libc = "none";
    fp.app.libcVersion = "none";
    for (size_t m = 0; m < P->moduleCount(); ++m)
      if (!P->model(m).libc.empty()) {
        fp.app.libc = P->model(m).libc;
        fp.app.libcVersion = P->model(m).libcVersion;
        break;
      }
  }

  struct PendingUnresolved {
    std::string kind, why;
    uint32_t function;
    uint64_t site;
  };

  const ImageRequest &Req;
  const BinaryAnalysisOptions &Opts;
  AnalysisSession &Session;
  ClosureLoader Loader;
  size_t Startup = 0;
  std::vector<ModuleInfo> Infos;
  std::vector<std::shared_ptr<const ModuleModel>> Models;
  std::unique_ptr<Program> P;
  std::vector<uint16_t> Wrappers;
  Reach R;
  AnalysisStats Stats;
  RunTimeSites Sites;
  std::vector<RunTimeLoad> Loads;
  std::set<std::string> Entered, Warned;
  std::vector<PendingUnresolved> Pending;
  std::vector<const CodeSite *> OpenDlopens;
  ImageResult Result;
};

} // namespace

Expected<ImageResult> analyzeProcessImage(const ImageRequest &request, const BinaryAnalysisOptions &opts,
                                          AnalysisSession &session) {
  return ImageAnalysis(request, opts, session).run();
}

} // namespace bespoke
