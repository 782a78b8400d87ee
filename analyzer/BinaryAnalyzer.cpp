// BinaryAnalyzer: the footprint of a program tree. The program is analysed as a process image (its
// closure and the code it loads at run time, ProcessImage.h); every program it executes is analysed the
// same way, up to the bounds of RunTimeOptions, and merged in: a seccomp filter is inherited across
// execve, so the footprint of a program that executes others is the union of theirs. Evidence chains run
// from the caller's exec call on into the executed program.
#include "analyzer/BinaryAnalyzer.h"

#include "analyzer/ProcessImage.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

using namespace llvm;

namespace bespoke {

namespace {

Error errorf(const std::string &message) { return createStringError(inconvertibleErrorCode(), "%s", message.c_str()); }

// The files an observed run opened or looked up (--observe): what an image must hold for a run to go the
// same way. Observed evidence replaces a static chain for the same path: the run did open it. The one
// frame names the program and the call ("python3.11!openat@0x0"); the address is not known.
void addObservedFiles(Footprint &fp, const Observation &o) {
  std::map<std::string, size_t> at; // path -> index in fp.files (a run may name thousands: tar of a tree)
  for (size_t i = 0; i < fp.files.size(); ++i) at.emplace(fp.files[i].path, i);
  for (const ObservedFile &f : o.files) {
    Evidence e{"observed", {Frame{sys::path::filename(f.program).str(), f.call, 0, "", 0}}};
    if (auto it = at.find(f.path); it != at.end()) fp.files[it->second].evidence = std::move(e);
    else fp.files.push_back({f.path, std::move(e)});
  }
}

// Merges an executed program's image into the tree's footprint: its modules (renamed where another file
// of the tree has the name), and its syscalls, unresolved sites and files with chains that start at the
// exec call in the executing program.
class TreeMerger {
public:
  explicit TreeMerger(Footprint &into) : Into(into) {}

  void merge(const ImageResult &child, const ExecTarget &how, const std::string &by) {
    std::map<std::string, std::string> rename = names(child.footprint.modules);
    auto frames = [&](std::vector<Frame> chain) {
      for (Frame &f : chain)
        if (auto it = rename.find(f.module); it != rename.end()) f.module = it->second;
      return chain;
    };
    auto prefixed = [&](const Evidence &e) {
      Evidence out = how.evidence;
      std::vector<Frame> tail = frames(e.chain);
      out.chain.insert(out.chain.end(), tail.begin(), tail.end());
      return out;
    };
    // Modules: the executed program says how it was executed; its closure as it was loaded.
    for (size_t i = 0; i < child.footprint.modules.size(); ++i) {
      ModuleInfo m = child.footprint.modules[i];
      if (havePath(m.path)) continue;
      m.name = rename.count(m.name) ? rename[m.name] : m.name;
      if (auto it = rename.find(m.by); it != rename.end()) m.by = it->second;
      if (i == 0) {
        m.kind = "program";
        m.loaded = how.loaded;
        m.by = how.loaded == "flag" ? "" : by;
        m.site = how.site;
        m.target = how.loaded == "flag" ? "" : how.target;
        m.flag = how.flag;
      }
      Into.modules.push_back(std::move(m));
    }
    for (const SyscallUse &u : child.footprint.syscalls) {
      auto at = std::lower_bound(Into.syscalls.begin(), Into.syscalls.end(), u.name,
                                 [](const SyscallUse &a, const std::string &n) { return a.name < n; });
      if (at == Into.syscalls.end() || at->name != u.name) {
        SyscallUse copy = u;
        copy.evidence.clear();
        at = Into.syscalls.insert(at, std::move(copy));
      } else {
        // The executed program's arguments join the caller's: the union, any if either is any (an
        // argument one side does not record is any there).
        for (auto &[arg, into] : at->args)
          if (!u.args.count(arg) && !into.any) into = ArgFact::anyOf("not recorded for " + child.footprint.app.name);
        for (const auto &[arg, fact] : u.args) {
          ArgFact &into = at->args.try_emplace(arg, ArgFact::anyOf("not recorded for " + Into.app.name)).first->second;
          std::set<std::string> values(into.values.begin(), into.values.end());
          values.insert(fact.values.begin(), fact.values.end());
          if (!into.any && fact.any) into.why = fact.why;
          into.any = into.any || fact.any;
          into.values.clear();
          if (!into.any) {
            into.values.assign(values.begin(), values.end());
            for (const auto &[v, site] : fact.sites) // the caller's site of a value stays first
              if (!into.sites.count(v)) into.sites[v] = frames({site}).front();
          } else {
            into.sites.clear();
          }
        }
      }
      for (const Evidence &e : u.evidence) {
        if (at->evidence.size() >= 3) break;
        // A kernel-issued entry stays as it is; only code is reached through the exec.
        if (e.chain.empty()) {
          if (at->evidence.empty()) at->evidence.push_back(e);
          continue;
        }
        if (!at->evidence.empty() && at->evidence.front().chain.empty()) at->evidence.clear(); // code beats kernel
        at->evidence.push_back(prefixed(e));
      }
    }
    for (const Unresolved &u : child.footprint.unresolved) Into.unresolved.push_back({u.kind, u.why, prefixed(u.evidence)});
    for (const FileUse &f : child.footprint.files)
      if (std::none_of(Into.files.begin(), Into.files.end(), [&](const FileUse &x) { return x.path == f.path; }))
        Into.files.push_back({f.path, prefixed(f.evidence)});
    std::set<std::string> paths(Into.kernel.paths.begin(), Into.kernel.paths.end());
    paths.insert(child.footprint.kernel.paths.begin(), child.footprint.kernel.paths.end());
    Into.kernel.paths.assign(paths.begin(), paths.end());
    const AnalysisStats &s = child.footprint.stats;
    Into.stats.functions += s.functions;
    Into.stats.reachableFunctions += s.reachableFunctions;
    Into.stats.indirectCallSites += s.indirectCallSites;
    Into.stats.addressTakenFunctions += s.addressTakenFunctions;
  }

  // The name the tree knows a module of the child image by (the same file keeps its name).
  std::map<std::string, std::string> names(const std::vector<ModuleInfo> &mods) const {
    std::map<std::string, std::string> out;
    std::set<std::string> taken;
    for (const ModuleInfo &m : Into.modules) taken.insert(m.name);
    for (const ModuleInfo &m : mods) {
      if (const ModuleInfo *same = byPath(m.path)) {
        out[m.name] = same->name;
        continue;
      }
      std::string base = m.name.substr(0, m.name.find('#')), name = base;
      for (unsigned k = 2; taken.count(name); ++k) name = base + "#" + std::to_string(k);
      taken.insert(name);
      out[m.name] = name;
    }
    return out;
  }

  void finish() {
    std::sort(Into.files.begin(), Into.files.end(), [](const FileUse &a, const FileUse &b) { return a.path < b.path; });
    std::stable_sort(Into.unresolved.begin(), Into.unresolved.end(), [](const Unresolved &a, const Unresolved &b) {
      static const Frame none;
      const Frame &fa = a.evidence.chain.empty() ? none : a.evidence.chain.back();
      const Frame &fb = b.evidence.chain.empty() ? none : b.evidence.chain.back();
      return std::tie(fa.module, fa.address, a.kind, a.why) < std::tie(fb.module, fb.address, b.kind, b.why);
    });
  }

private:
  const ModuleInfo *byPath(const std::string &path) const {
    std::string real = realPathOf(path);
    for (const ModuleInfo &m : Into.modules)
      if (m.path == path || realPathOf(m.path) == real) return &m;
    return nullptr;
  }
  bool havePath(const std::string &path) const { return byPath(path) != nullptr; }

  Footprint &Into;
};

struct QueuedExec {
  ExecTarget target;
  std::string by; // the executing program's module name in the tree
  unsigned depth;
};

Expected<Footprint> analyzeTree(const std::string &path, const RootSpec &spec, const BinaryAnalysisOptions &opts,
                                BinaryAnalysisReport *report, std::set<std::string> *reachedOtherwise = nullptr) {
  std::vector<std::string> executedSyscalls; // names the executed programs make
  ImageRequest main{path, spec, true};
  AnalysisSession session;
  auto root = analyzeProcessImage(main, opts, session);
  if (!root) return root.takeError();
  Footprint fp = std::move(root->footprint);
  BinaryAnalysisReport total = root->report;
  TreeMerger merger(fp);
  std::deque<QueuedExec> queue;
  for (ExecTarget &t : root->execs) queue.push_back({std::move(t), fp.modules[0].name, 1});
  std::set<std::string> analysed{realPathOf(fp.modules[0].path)};
  const RunTimeOptions &rt = opts.runTime;
  while (!queue.empty()) {
    QueuedExec q = std::move(queue.front());
    queue.pop_front();
    std::string real = realPathOf(q.target.path);
    if (analysed.count(real)) continue;
    auto unresolved = [&](const std::string &why) {
      fp.unresolved.push_back({"exec", "exec of \"" + q.target.target + "\" (" + q.target.path + "): " + why, q.target.evidence});
    };
    if (total.programs >= rt.maxPrograms) {
      unresolved("not analysed: the analysis stops after " + std::to_string(rt.maxPrograms) + " programs");
      continue;
    }
    if (q.depth > rt.maxDepth) {
      unresolved("not analysed: executed " + std::to_string(q.depth) + " programs deep (at most " +
                 std::to_string(rt.maxDepth) + " are followed)");
      continue;
    }
    analysed.insert(real);
    if (opts.progress) opts.progress("executed program " + q.target.path + " (" + q.target.loaded + ")");
    ImageRequest req{q.target.path, RootSpec{}, false};
    auto child = analyzeProcessImage(req, opts, session);
    if (!child) {
      std::string why = toString(child.takeError());
      // A program the user named must be analysable; one the program names may fail here as it would there.
      if (q.target.loaded == "flag") return errorf(q.target.path + ": cannot analyse the program given with --exec: " + why);
      unresolved("cannot be analysed: " + why);
      continue;
    }
    ++total.programs;
    for (const SyscallUse &u : child->footprint.syscalls) executedSyscalls.push_back(u.name);
    total.modules += child->report.modules;
    total.cacheHits += child->report.cacheHits;
    std::map<std::string, std::string> names = merger.names(child->footprint.modules);
    merger.merge(*child, q.target, q.by);
    std::string childName = names.count(child->footprint.modules[0].name) ? names[child->footprint.modules[0].name]
                                                                           : child->footprint.modules[0].name;
    for (ExecTarget &t : child->execs) {
      // The grandchild's chain starts where the child was executed.
      Evidence e = q.target.evidence;
      for (Frame f : t.evidence.chain) {
        if (auto it = names.find(f.module); it != names.end()) f.module = it->second;
        e.chain.push_back(f);
      }
      if (t.evidence.chain.empty() && e.chain.empty()) e.root = t.evidence.root;
      t.evidence = std::move(e);
      if (t.site)
        if (auto it = names.find(t.site->module); it != names.end()) t.site->module = it->second;
      queue.push_back({std::move(t), childName, q.depth + 1});
    }
  }
  if (rt.observation) addObservedFiles(fp, *rt.observation);
  merger.finish();
  if (report) *report = total;
  if (reachedOtherwise) {
    *reachedOtherwise = root->reachedOtherwise;
    // An executed program makes its syscalls with arguments of its own.
    for (const auto &[sys, fns] : spec.soleRoutes)
      if (std::any_of(executedSyscalls.begin(), executedSyscalls.end(), [&](const std::string &n) { return n == sys; }))
        reachedOtherwise->insert(sys);
  }
  return fp;
}

bool isElfSharedObject(const std::string &path, std::string &why) {
  auto buf = MemoryBuffer::getFileSlice(path, 64, 0, /*IsVolatile=*/false);
  if (!buf) {
    why = "cannot read: " + buf.getError().message();
    return false;
  }
  StringRef h = (*buf)->getBuffer();
  if (h.size() < 20 || !h.starts_with("\x7f" "ELF")) {
    why = "not an ELF file";
    return false;
  }
  if (uint8_t(h[4]) != 2 || uint8_t(h[18]) != 62 || uint8_t(h[19]) != 0) { // ELFCLASS64, EM_X86_64
    why = "not an x86-64 ELF file";
    return false;
  }
  if (uint8_t(h[16]) != 3 || uint8_t(h[17]) != 0) { // ET_DYN
    why = "not a shared object";
    return false;
  }
  // A position-independent executable is ET_DYN too, but has an interpreter; glibc refuses to dlopen it.
  auto elf = ElfModule::open(path);
  if (!elf) {
    why = toString(elf.takeError());
    return false;
  }
  if (!(*elf)->interpreter().empty()) {
    why = "a program (it has an interpreter), not a shared object";
    return false;
  }
  return true;
}

} // namespace

Expected<std::vector<std::string>> expandDlopenPaths(const std::vector<std::string> &paths) {
  std::vector<std::string> out;
  for (const std::string &p : paths) {
    sys::fs::file_status st;
    if (std::error_code ec = sys::fs::status(p, st)) return errorf(p + ": " + ec.message() + " (--dlopen)");
    std::vector<std::string> files;
    if (sys::fs::is_directory(st)) {
      std::error_code ec;
      for (sys::fs::directory_iterator it(p, ec), end; it != end && !ec; it.increment(ec)) {
        StringRef name = sys::path::filename(it->path());
        if ((name.ends_with(".so") || name.contains(".so.")) && sys::fs::is_regular_file(it->path())) files.push_back(it->path());
      }
      if (ec) return errorf(p + ": cannot list: " + ec.message() + " (--dlopen)");
      if (files.empty()) return errorf(p + ": no shared objects in this directory (--dlopen)");
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(p);
    }
    for (const std::string &f : files) {
      std::string why;
      if (!isElfSharedObject(f, why)) return errorf(f + ": " + why + " (--dlopen expects x86-64 shared objects)");
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    }
  }
  return out;
}

Expected<Footprint> analyzeBinary(const std::string &path, const BinaryAnalysisOptions &opts,
                                  BinaryAnalysisReport *report) {
  return analyzeTree(path, RootSpec{}, opts, report);
}

Expected<Footprint> analyzeLibraryCalls(const std::string &library, const std::vector<std::string> &functions,
                                        const BinaryAnalysisOptions &opts, BinaryAnalysisReport *report,
                                        std::vector<std::string> *unbound, LibraryFacts *facts) {
  RootSpec spec;
  spec.unbound = unbound;
  if (facts) spec.soleRoutes = facts->soleRoutes;
  spec.programEntry = false;
  spec.namedFunctions = functions;
  std::sort(spec.namedFunctions.begin(), spec.namedFunctions.end());
  spec.namedFunctions.erase(std::unique(spec.namedFunctions.begin(), spec.namedFunctions.end()), spec.namedFunctions.end());
  return analyzeTree(library, spec, opts, report, facts ? &facts->reachedOtherwise : nullptr);
}

} // namespace bespoke
