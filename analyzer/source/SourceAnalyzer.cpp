// Whole-program part of the source analysis: links the translation units' facts by USR into one call
// graph, walks it from the program's entry points, and joins it with the library model at the calls
// into code without source.
#include "analyzer/source/SourceAnalyzer.h"

#include "analyzer/ArgumentFacts.h"
#include "analyzer/Loader.h"
#include "analyzer/SyscallTable.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

using namespace llvm;

namespace bespoke {

namespace {

Error errorf(const std::string &msg) { return createStringError(inconvertibleErrorCode(), "%s", msg.c_str()); }

// The APIs whose arguments become argument facts: which syscall they make (glibc / musl on x86-64),
// which arguments matter, and which one is a path.
struct ApiArg {
  int index;
  const char *name;
  bool hex; // bit masks and request codes in hex, enumerations in decimal
};
struct Api {
  const char *name;
  const char *glibcSyscall, *muslSyscall;
  std::vector<ApiArg> args;
  int pathArg = -1;
  int modeArg = -1;    // fopen's mode string, turned into open flags
  int64_t flags = -1;  // creat's implied flags
};

const std::vector<Api> &apis() {
  static const std::vector<Api> table = {
      {"socket", "socket", "socket", {{0, "domain", false}, {1, "type", true}, {2, "protocol", false}}},
      {"socketpair", "socketpair", "socketpair", {{0, "domain", false}, {1, "type", true}, {2, "protocol", false}}},
      {"ioctl", "ioctl", "ioctl", {{1, "request", true}}},
      {"open", "openat", "open", {{1, "flags", true}}, 0},
      {"open64", "openat", "open", {{1, "flags", true}}, 0},
      {"openat", "openat", "openat", {{2, "flags", true}}, 1},
      {"openat64", "openat", "openat", {{2, "flags", true}}, 1},
      {"creat", "openat", "open", {}, 0, -1, 0x241},   // O_CREAT | O_WRONLY | O_TRUNC
      {"creat64", "openat", "open", {}, 0, -1, 0x241},
      {"fopen", "openat", "open", {}, 0, 1},
      {"fopen64", "openat", "open", {}, 0, 1},
      {"mmap", "mmap", "mmap", {{2, "prot", true}, {3, "flags", true}}},
      {"mmap64", "mmap", "mmap", {{2, "prot", true}, {3, "flags", true}}},
      {"mprotect", "mprotect", "mprotect", {{2, "prot", true}}},
      {"prctl", "prctl", "prctl", {{0, "option", false}}},
      {"fcntl", "fcntl", "fcntl", {{1, "cmd", false}}},
      {"fcntl64", "fcntl", "fcntl", {{1, "cmd", false}}},
      {"clone", "clone", "clone", {{2, "flags", true}}},
  };
  return table;
}

const Api *findApi(const std::string &name) {
  for (const Api &a : apis())
    if (name == a.name) return &a;
  return nullptr;
}

// fopen's mode string as the open flags glibc and musl pass ("r" O_RDONLY, "w" O_WRONLY|O_CREAT|O_TRUNC,
// "a" O_WRONLY|O_CREAT|O_APPEND, '+' O_RDWR, 'e' O_CLOEXEC, 'x' O_EXCL).
std::optional<int64_t> fopenFlags(const std::string &mode) {
  if (mode.empty()) return std::nullopt;
  int64_t f;
  switch (mode[0]) {
  case 'r': f = 0; break;
  case 'w': f = 0x1 | 0x40 | 0x200; break;
  case 'a': f = 0x1 | 0x40 | 0x400; break;
  default: return std::nullopt;
  }
  for (char c : mode.substr(1)) {
    if (c == '+') f = (f & ~int64_t(3)) | 2;
    else if (c == 'e') f |= 0x80000;
    else if (c == 'x') f |= 0x80;
  }
  return f;
}

std::string valueText(const std::string &sys, const std::string &arg, int64_t v, bool hex) {
  // Written as the binary analysis writes them (ArgumentFacts.h: low 32 bits, socket type flags masked).
  for (const ArgumentSpec *spec : argumentSpecsOf(sys))
    if (arg == spec->name) return argumentValueText(*spec, uint64_t(v));
  if (!hex) return std::to_string(v);
  char b[32];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

// Compiler builtins (__builtin_va_end, __sync_fetch_and_add, __atomic_load_n, ...) are expanded inline
// or become calls to memcpy-like helpers that make no system calls: not library calls to resolve.
bool isCompilerBuiltin(const std::string &name) {
  StringRef n(name);
  return n.starts_with("__builtin_") || n.starts_with("__sync_") || n.starts_with("__atomic_");
}

// Argument facts as the manifest keeps them: values sorted and unique, none when `any`.
void normalizeArgs(SyscallUse &u) {
  for (auto &[arg, fact] : u.args) {
    std::sort(fact.values.begin(), fact.values.end());
    fact.values.erase(std::unique(fact.values.begin(), fact.values.end()), fact.values.end());
    if (fact.any) fact.values.clear();
  }
}

bool isKernelPath(const std::string &p) {
  for (const char *prefix : {"/proc", "/sys", "/dev"})
    if (p == prefix || StringRef(p).starts_with(std::string(prefix) + "/")) return true;
  return false;
}

std::string entryReason(const SourceFunction &f) {
  switch (f.entry) {
  case EntryKind::Main: return "main";
  case EntryKind::Constructor: return "constructor (" + f.name + ")";
  case EntryKind::Destructor: return "destructor (" + f.name + ")";
  case EntryKind::Callback: return f.entryWhy.empty() ? "callback (" + f.name + ")" : f.entryWhy;
  case EntryKind::Escaping: return f.entryWhy.empty() ? "address taken, escapes (" + f.name + ")" : f.entryWhy;
  case EntryKind::None: break;
  }
  return "unknown";
}

struct Graph {
  static constexpr size_t None = SIZE_MAX;
  const SourceFacts &facts;
  std::unordered_map<std::string, size_t> byUsr;
  std::unordered_map<std::string, std::vector<const SourceCall *>> callsOf;
  std::map<std::string, std::vector<size_t>> takenByType;
  std::vector<size_t> allTaken;
  std::vector<size_t> castAway; // address-taken functions whose address was converted to another type
  // Walk state.
  std::vector<size_t> parent;
  std::vector<const SourceCall *> via;
  std::vector<std::string> root;
  std::vector<size_t> order;

  explicit Graph(const SourceFacts &f) : facts(f) {
    for (size_t i = 0; i < f.functions.size(); ++i) byUsr.emplace(f.functions[i].usr, i);
    for (const SourceCall &c : f.calls) callsOf[c.callerUsr].push_back(&c);
    for (size_t i = 0; i < f.functions.size(); ++i)
      if (f.functions[i].addressTaken && f.functions[i].defined) {
        takenByType[f.functions[i].type].push_back(i);
        allTaken.push_back(i);
        if (f.functions[i].typeCastAway) castAway.push_back(i);
      }
    parent.assign(f.functions.size(), None);
    via.assign(f.functions.size(), nullptr);
    root.assign(f.functions.size(), "");
  }

  const SourceFunction &fn(size_t i) const { return facts.functions[i]; }

  // Source frames from the root to `site` inside function i.
  std::vector<Frame> chain(size_t i, const SourceLoc &site) const {
    std::vector<Frame> rev;
    Frame f;
    f.symbol = fn(i).name;
    f.file = site.file;
    f.line = site.line;
    rev.push_back(f);
    for (size_t cur = i; parent[cur] != None; cur = parent[cur]) {
      Frame p;
      p.symbol = fn(parent[cur]).name;
      p.file = via[cur]->loc.file;
      p.line = via[cur]->loc.line;
      rev.push_back(p);
    }
    return {rev.rbegin(), rev.rend()};
  }
  std::string rootOf(size_t i) const {
    size_t cur = i;
    while (parent[cur] != None) cur = parent[cur];
    return root[cur];
  }
};

} // namespace

std::string defaultLibraryFor(const std::string &compiler, const LoaderOptions &loader) {
  const std::string musl = "/usr/lib/x86_64-linux-musl/libc.so";
  if (sys::path::filename(compiler).contains("musl") && sys::fs::exists(musl)) return musl;
  for (const auto &[name, path] : readLdSoCache(loader.ldSoCache))
    if (name == "libc.so.6" && sys::fs::exists(path)) return path;
  for (const std::string &dir : loader.defaultDirs)
    if (sys::fs::exists(dir + "/libc.so.6")) return dir + "/libc.so.6";
  return "";
}

Expected<Footprint> analyzeSource(const SourceFacts &facts, const SourceAnalysisOptions &opts) {
  std::string library = opts.library.empty() ? defaultLibraryFor(facts.compiler, opts.binary.loader) : opts.library;
  if (library.empty())
    return errorf("no C library to model calls into code without source (neither musl's libc.so nor glibc's "
                  "libc.so.6 found; give the program's binary)");
  const bool musl = StringRef(library).contains("musl");

  Graph g(facts);
  // Roots: main first, then the other entry points in USR order (facts are sorted by USR).
  std::deque<size_t> queue;
  std::vector<uint8_t> seen(facts.functions.size(), 0);
  auto addRoot = [&](size_t i) {
    if (seen[i]) return;
    seen[i] = 1;
    g.root[i] = entryReason(g.fn(i));
    queue.push_back(i);
  };
  for (size_t i = 0; i < facts.functions.size(); ++i)
    if (g.fn(i).defined && g.fn(i).entry == EntryKind::Main) addRoot(i);
  for (size_t i = 0; i < facts.functions.size(); ++i)
    if (g.fn(i).defined && g.fn(i).entry != EntryKind::None) addRoot(i);

  Footprint fp;
  std::map<std::string, std::pair<size_t, const SourceCall *>> externals; // name -> first call (BFS order)
  std::map<int, std::vector<Evidence>> direct;                             // syscall() with a constant
  std::map<std::string, std::map<std::string, ArgFact>> facts_;            // syscall -> arg -> values
  std::set<std::string> kernelPaths;
  auto unresolved = [&](const std::string &kind, const std::string &why, std::string rootWhy, std::vector<Frame> chain) {
    Unresolved u;
    u.kind = kind;
    u.why = why;
    u.evidence.root = std::move(rootWhy);
    u.evidence.chain = std::move(chain);
    fp.unresolved.push_back(std::move(u));
  };
  std::map<std::string, std::set<std::string>> factSources; // syscall -> the functions whose calls give facts
  std::string factFunction;                                   // the callee of the call being read
  auto addFact = [&](const std::string &sys, const std::string &arg, const ArgValue *v, bool hex, std::optional<int64_t> forced = std::nullopt) {
    factSources[sys].insert(factFunction);
    ArgFact &f = facts_[sys][arg];
    if (forced) f.values.push_back(valueText(sys, arg, *forced, hex));
    else if (!v || !v->known || v->isString) f.any = true;
    else if (!v->alternatives.empty())
      for (int64_t a : v->alternatives) f.values.push_back(valueText(sys, arg, a, hex));
    else f.values.push_back(valueText(sys, arg, v->value, hex));
  };

  uint64_t indirectSites = 0;
  while (!queue.empty()) {
    size_t i = queue.front();
    queue.pop_front();
    g.order.push_back(i);
    auto it = g.callsOf.find(g.fn(i).usr);
    if (it == g.callsOf.end()) continue;
    for (const SourceCall *c : it->second) {
      std::vector<size_t> targets;
      if (c->calleeUsr.empty()) {
        ++indirectSites;
        if (c->typeCastAway) {
          targets = g.allTaken;
        } else {
          if (auto t = g.takenByType.find(c->indirectType); t != g.takenByType.end()) targets = t->second;
          targets.insert(targets.end(), g.castAway.begin(), g.castAway.end()); // may be called as any type
        }
      } else if (auto t = g.byUsr.find(c->calleeUsr); t != g.byUsr.end()) {
        const SourceFunction &callee = g.fn(t->second);
        // The linker's name: an assembler label (glibc's __read_alias is `read`) or the mangled C++ name.
        const std::string &linkName = callee.symbol.empty() ? callee.name : callee.symbol;
        if (callee.defined && callee.inlineOnly)
          externals.try_emplace(linkName, i, c); // the call runs this body or the library's definition
        if (callee.defined) {
          targets.push_back(t->second);
        } else if (linkName == "syscall") {
          const ArgValue *nr = c->args.empty() ? nullptr : &c->args[0];
          Evidence ev{g.rootOf(i), g.chain(i, c->loc)};
          std::vector<int64_t> nrs;
          if (nr && nr->known && !nr->isString)
            nrs = nr->alternatives.empty() ? std::vector<int64_t>{nr->value} : nr->alternatives;
          bool allValid = !nrs.empty() && std::all_of(nrs.begin(), nrs.end(), [](int64_t n) { return syscallName(n).has_value(); });
          if (allValid) {
            for (int64_t n : nrs) {
              auto &evs = direct[int(n)];
              if (evs.size() < 3) evs.push_back(ev);
            }
          } else {
            unresolved("syscall-number",
                       nr && nr->known ? "syscall(" + std::to_string(nr->value) + (nr->alternatives.empty() ? "" : ", ...") +
                                             ") is not an x86-64 system call"
                                       : "syscall() with a number that is not a compile-time constant",
                       ev.root, ev.chain);
          }
        } else if (!isCompilerBuiltin(linkName)) {
          externals.try_emplace(linkName, i, c);
        }
        if (!callee.defined || callee.inlineOnly) {
          const Api *api = findApi(callee.name);
          if (!api) api = findApi(linkName);
          if (api) {
            std::string sys = musl ? api->muslSyscall : api->glibcSyscall;
            factFunction = linkName;
            for (const ApiArg &a : api->args)
              addFact(sys, a.name, size_t(a.index) < c->args.size() ? &c->args[size_t(a.index)] : nullptr, a.hex);
            if (api->flags >= 0) addFact(sys, "flags", nullptr, true, api->flags);
            if (api->modeArg >= 0) {
              const ArgValue *m = size_t(api->modeArg) < c->args.size() ? &c->args[size_t(api->modeArg)] : nullptr;
              std::optional<int64_t> fl = m && m->known && m->isString ? fopenFlags(m->text) : std::nullopt;
              if (fl) addFact(sys, "flags", nullptr, true, fl);
              else addFact(sys, "flags", nullptr, true);
            }
            if (api->pathArg >= 0 && size_t(api->pathArg) < c->args.size()) {
              const ArgValue &p = c->args[size_t(api->pathArg)];
              if (p.known && p.isString && isKernelPath(p.text)) kernelPaths.insert(p.text);
            }
          }
        }
      }
      for (size_t t : targets) {
        if (seen[t]) continue;
        seen[t] = 1;
        g.parent[t] = i;
        g.via[t] = c;
        queue.push_back(t);
      }
    }
  }
  for (const InlineAsmSyscall &a : facts.inlineAsm)
    if (auto t = g.byUsr.find(a.functionUsr); t != g.byUsr.end() && seen[t->second])
      unresolved("inline-asm", "inline asm with a syscall instruction: its number is not analysed", g.rootOf(t->second),
                 g.chain(t->second, a.loc));
  for (const SourceProblem &p : facts.problems) {
    Frame f;
    f.symbol = "<translation unit>";
    f.file = p.file;
    f.line = 0;
    unresolved("source-file", "not analysed: " + p.message, "compile database", {f});
  }

  // The library side: everything the program calls without source, plus process start-up.
  std::vector<std::string> names;
  for (const auto &[name, site] : externals)
    if (name != "syscall") names.push_back(name);
  names.push_back("__libc_start_main"); // crt1.o's _start calls it; it runs main and exit
  std::vector<std::string> unbound;
  LibraryFacts libFacts;
  for (const auto &[sys, fns] : factSources) libFacts.soleRoutes[sys].assign(fns.begin(), fns.end());
  auto lib = analyzeLibraryCalls(library, names, opts.binary, nullptr, &unbound, &libFacts);
  if (!lib) return lib.takeError();
  for (const std::string &name : unbound) {
    auto e = externals.find(name);
    if (e == externals.end()) continue; // __libc_start_main of a library without it
    auto [caller, call] = e->second;
    unresolved("external", "call to " + name + ": no source, and " + sys::path::filename(library).str() +
                               " and its libraries do not provide it",
               g.rootOf(caller), g.chain(caller, call->loc));
  }
  // Library evidence rooted at "call to NAME" continues the source chain that reaches that call.
  auto joined = [&](Evidence ev) {
    StringRef root(ev.root);
    if (root.consume_front("call to ")) {
      auto e = externals.find(root.str());
      if (e != externals.end()) {
        auto [caller, call] = e->second;
        std::vector<Frame> chain = g.chain(caller, call->loc);
        chain.insert(chain.end(), ev.chain.begin(), ev.chain.end());
        ev.chain = std::move(chain);
        ev.root = g.rootOf(caller);
      } else if (root == "__libc_start_main") {
        ev.root = "program start (_start calls __libc_start_main)";
      }
    }
    return ev;
  };
  std::map<std::string, SyscallUse> uses;
  for (SyscallUse &u : lib->syscalls) {
    for (Evidence &ev : u.evidence) ev = joined(std::move(ev));
    uses.emplace(u.name, std::move(u));
  }
  for (auto &[nr, evs] : direct) {
    std::string name(*syscallName(nr));
    SyscallUse &u = uses[name];
    u.name = name;
    u.nr = nr;
    // Source evidence first: it is what the developer wrote.
    evs.insert(evs.end(), u.evidence.begin(), u.evidence.end());
    if (evs.size() > 3) evs.resize(3);
    u.evidence = std::move(evs);
  }
  for (auto &[sys, args] : facts_) {
    auto u = uses.find(sys);
    if (u == uses.end()) continue; // the library model does not reach it (reported as unresolved if unbound)
    // Reached also without the calls the facts come from: other code passes other values.
    const bool elsewhere = libFacts.reachedOtherwise.count(sys) > 0;
    for (auto &[arg, fact] : args) {
      // The library's own facts for this argument come from roots at the named functions (any): the
      // source's calls replace them, and `elsewhere` stands for the library's other calls.
      ArgFact &into = u->second.args[arg];
      into = ArgFact{};
      into.any = fact.any || elsewhere;
      into.values.insert(into.values.end(), fact.values.begin(), fact.values.end());
    }
  }
  for (auto &[name, u] : uses) {
    normalizeArgs(u);
    fp.syscalls.push_back(std::move(u));
  }
  for (Unresolved &u : lib->unresolved) {
    u.evidence = joined(std::move(u.evidence));
    fp.unresolved.push_back(std::move(u));
  }
  kernelPaths.insert(lib->kernel.paths.begin(), lib->kernel.paths.end());
  fp.kernel.paths.assign(kernelPaths.begin(), kernelPaths.end());

  fp.app.name = opts.appName;
  fp.app.path = opts.appPath;
  fp.app.sha256 = opts.appSha256;
  fp.app.linkage = "unknown";
  fp.app.libc = lib->app.libc;
  fp.app.libcVersion = lib->app.libcVersion;
  fp.modules = lib->modules;
  // The modelled library (libc, or the closure's first module) is what the program built from source needs.
  if (!fp.modules.empty() && fp.modules[0].by.empty()) fp.modules[0].by = opts.appName;
  uint64_t defined = 0;
  for (const SourceFunction &f : facts.functions) defined += f.defined;
  fp.stats.functions = defined + lib->stats.functions;
  fp.stats.reachableFunctions = g.order.size() + lib->stats.reachableFunctions;
  fp.stats.indirectCallSites = indirectSites + lib->stats.indirectCallSites;
  fp.stats.addressTakenFunctions = g.allTaken.size() + lib->stats.addressTakenFunctions;
  return fp;
}

FootprintDiff diffSyscalls(const Footprint &first, const Footprint &second) {
  std::set<std::string> a, b;
  for (const SyscallUse &u : first.syscalls) a.insert(u.name);
  for (const SyscallUse &u : second.syscalls) b.insert(u.name);
  FootprintDiff d;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(d.onlyInFirst));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(d.onlyInSecond));
  return d;
}

void mergeFootprint(Footprint &into, const Footprint &from) {
  std::map<std::string, SyscallUse> uses;
  for (SyscallUse &u : into.syscalls) uses.emplace(u.name, std::move(u));
  for (const SyscallUse &u : from.syscalls) {
    auto [it, fresh] = uses.emplace(u.name, u);
    if (fresh) continue;
    SyscallUse &have = it->second;
    for (const Evidence &ev : u.evidence)
      if (have.evidence.size() < 3) have.evidence.push_back(ev);
    for (const auto &[arg, fact] : u.args) {
      ArgFact &f = have.args[arg];
      f.any = f.any || fact.any;
      f.values.insert(f.values.end(), fact.values.begin(), fact.values.end());
    }
  }
  into.syscalls.clear();
  for (auto &[name, u] : uses) {
    normalizeArgs(u);
    into.syscalls.push_back(std::move(u));
  }
  into.unresolved.insert(into.unresolved.end(), from.unresolved.begin(), from.unresolved.end());
  std::set<std::string> paths(into.kernel.paths.begin(), into.kernel.paths.end());
  paths.insert(from.kernel.paths.begin(), from.kernel.paths.end());
  into.kernel.paths.assign(paths.begin(), paths.end());
}

} // namespace bespoke
