// RunTimeCode: dlopen and exec sites, plugin-system entry points and the setxid broadcast on a walked
// Program (see RunTimeCode.h).
#include "analyzer/RunTimeCode.h"

#include "analyzer/LibcFacts.h"
#include "analyzer/X86Registers.h"

#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>

namespace bespoke {

namespace {

// A function that loads what one of its registers names: dlopen, an exec function, or a wrapper.
struct Loader {
  enum Kind : uint8_t { None, Dlopen, Exec };
  Kind kind = None;
  int reg = -1;
  bool searchesPath = false;
};

// The C library function a symbol names, without the "@plt" of a PLT slot and glibc's "__" aliases.
std::optional<Loader> loaderByName(llvm::StringRef name) {
  name.consume_back("@plt");
  if (name == "dlopen" || name == "__libc_dlopen_mode") return Loader{Loader::Dlopen, RDI, false};
  if (name == "dlmopen") return Loader{Loader::Dlopen, RSI, false};
  std::optional<ExecFunction> e = execFunction(name);
  if (!e && name.starts_with("__")) e = execFunction(name.drop_front(2));
  if (e) return Loader{Loader::Exec, e->pathRegister, e->searchesPath};
  return std::nullopt;
}

class SiteFinder {
public:
  SiteFinder(const Program &p, const Reach &r, const std::vector<RunTimeModule> &modules,
             const std::vector<uint16_t> &wrappers)
      : P(p), R(r), Modules(modules), Wrappers(wrappers) {}

  RunTimeSites find() {
    const uint32_t n = P.functionCount();
    std::vector<uint32_t> order(n, UINT32_MAX); // position in the walk; UINT32_MAX: not reachable
    for (size_t i = 0; i < R.order.size(); ++i) order[R.order[i]] = uint32_t(i);
    Loaders.assign(n, Loader{});
    std::deque<uint32_t> work;
    for (size_t m = 0; m < P.moduleCount(); ++m) { // a function without a symbol is no C library loader
      const std::vector<Function> &fns = P.model(m).functions;
      for (size_t f = 0; f < fns.size(); ++f)
        if (!fns[f].name.empty())
          if (auto l = loaderByName(fns[f].name)) {
            Loaders[P.gid(m, int32_t(f))] = *l;
            work.push_back(P.gid(m, int32_t(f)));
          }
    }
    // Wrappers: a reachable caller that passes its own argument on (and is entered only by calls the
    // analysis sees) is a loader of that argument; its callers are the sites.
    std::vector<uint32_t> loaders;
    while (!work.empty()) {
      uint32_t t = work.front();
      work.pop_front();
      loaders.push_back(t);
      const Loader l = Loaders[t];
      for (const Program::Call &c : P.callersOf(t)) {
        if (c.caller == t || order[c.caller] == UINT32_MAX || Loaders[c.caller].kind != Loader::None) continue;
        AbsValue v = argument(*c.edge, l.reg);
        if (v.kind == AbsValue::Entry && !R.unknownEntry[c.caller]) {
          Loaders[c.caller] = Loader{l.kind, v.reg, l.searchesPath};
          work.push_back(c.caller);
        }
      }
    }
    // The sites: every reachable call of a loader that does not pass the caller's own argument on.
    struct Found {
      uint32_t order;
      uint64_t site;
      uint32_t callee;
      const Edge *edge;
    };
    std::vector<Found> found;
    for (uint32_t t : loaders)
      for (const Program::Call &c : P.callersOf(t)) {
        if (c.caller == t || order[c.caller] == UINT32_MAX) continue;
        AbsValue v = argument(*c.edge, Loaders[t].reg);
        const Loader &mine = Loaders[c.caller];
        if (v.kind == AbsValue::Entry && mine.kind != Loader::None && mine.reg == v.reg) continue; // passed on
        found.push_back({order[c.caller], c.edge->site, t, c.edge});
      }
    // In walk order, so that the first site of each kind is the one reached first.
    auto key = [](const Found &f) { return std::tie(f.order, f.site, f.callee); };
    std::sort(found.begin(), found.end(), [&](const Found &a, const Found &b) { return key(a) < key(b); });
    found.erase(std::unique(found.begin(), found.end(), [&](const Found &a, const Found &b) { return key(a) == key(b); }),
                found.end());
    for (const Found &f : found)
      record(R.order[f.order], f.site, f.callee, Loaders[f.callee], argument(*f.edge, Loaders[f.callee].reg));
    findRawExecs();
    findEntryPoints();
    return std::move(Out);
  }

private:
  static AbsValue argument(const Edge &e, int reg) { return e.args.get(reg); }

  void record(uint32_t g, uint64_t site, uint32_t callee, const Loader &l, const AbsValue &v) {
    size_t m = P.split(g).first;
    CodeSite s;
    s.function = g;
    s.site = site;
    s.callee = callee;
    s.searchesPath = l.searchesPath;
    if (v.kind == AbsValue::Const && Modules[m].elf) {
      for (int i = 0; i < v.n; ++i) {
        std::optional<std::string> str = Modules[m].elf->cStringAt(v.c[i]);
        if (!str || !isPathLike(*str)) {
          s.values.clear();
          s.why = "the argument is a constant address that holds no string";
          break;
        }
        s.values.push_back(*str);
      }
    } else if (l.reg < 0) {
      s.why = "the program is given by a file descriptor (fexecve)";
    } else if (v.kind == AbsValue::Entry) {
      s.why = "the path comes from %" + std::string(GprNames[v.reg]) + " at entry, and " +
              P.model(m).functionName(P.split(g).second) + " is also reached through a pointer or as an entry point";
    } else {
      s.why = "the path is chosen at run time";
    }
    // The loaders' own plumbing: libc's exec functions and ld.so's dlopen pass the caller's path on through
    // memory the analysis does not follow; the program's calls of them are the sites.
    if (s.values.empty() && Modules[m].implementation) return;
    if (l.kind == Loader::Exec) {
      Out.execs.push_back(std::move(s));
      return;
    }
    llvm::StringRef module = P.module(m).name;
    if (s.values.empty() && module.starts_with("libpam.so")) Out.pamDlopens.push_back(std::move(s));
    else if (s.values.empty() && module.starts_with("libcrypto.so")) Out.opensslDlopens.push_back(std::move(s));
    else Out.dlopens.push_back(std::move(s));
  }

  // execve and execveat made without an exec function the analysis knows (inline in a stripped static
  // program, or through syscall()): the program run is not known, so each is an unresolved exec site.
  void findRawExecs() {
    static const uint64_t execNrs[] = {59, 322}; // execve, execveat
    auto isExec = [](const AbsValue &v) {
      for (int i = 0; v.kind == AbsValue::Const && i < v.n; ++i)
        for (uint64_t nr : execNrs)
          if (v.c[i] == nr) return true;
      return false;
    };
    forEachSyscallSite(P, R, Wrappers, isExec, [&](uint32_t g, uint64_t at, uint32_t wrapper) {
      size_t m = P.split(g).first;
      if (Modules[m].implementation || Loaders[g].kind == Loader::Exec) return true;
      CodeSite s;
      s.function = g;
      s.site = at;
      s.callee = wrapper == Reach::None ? g : wrapper;
      s.why = wrapper == Reach::None
                  ? "execve made with the syscall instruction, outside any exec function the analysis knows"
                  : "execve made through a syscall wrapper";
      Out.execs.push_back(std::move(s));
      return true;
    });
  }

  void findEntryPoints() {
    bool glibcNamesNss = false;
    std::vector<uint32_t> targets;
    for (uint32_t g : R.order) {
      auto [m, f] = P.split(g);
      const ModuleModel &mm = P.model(m);
      const Function &fn = mm.functions[size_t(f)];
      if (mm.libc != "glibc") continue;
      if (isNssDispatcher(fn.name)) {
        glibcNamesNss = true;
        if (!Out.nssDispatcher) Out.nssDispatcher = Reached{g, fn.addr};
      }
      if (isIconvOpen(fn.name) && !Out.iconvOpen) Out.iconvOpen = Reached{g, fn.addr};
      // __nptl_setxid: called by the set*id functions, it makes the calling thread's syscall itself.
      if (isSetxidFunction(fn.name))
        for (const Edge &e : fn.edges) {
          if (e.kind == Edge::AddressTaken || e.indirect) continue;
          P.targets(m, e, targets);
          for (uint32_t t : targets)
            if (P.split(t).first == m && hasNonConstantSyscall(P.fn(t))) Out.setxidFunctions.insert(t);
        }
      // The SIGSETXID handler each thread runs (installed by pthread_create).
      if (hasNonConstantSyscall(fn) && Modules[m].elf && looksLikeSetxidHandler(Modules[m].elf->contentsAt(fn.addr, 3)))
        Out.setxidFunctions.insert(g);
    }
    // A static glibc program without symbols: its NSS code is there when its configuration file's name is.
    if (!glibcNamesNss && P.moduleCount() && P.model(0).libc == "glibc" && Modules[0].elf &&
        !Modules[0].elf->isSharedObject()) {
      llvm::ArrayRef<uint8_t> b = Modules[0].elf->bytes();
      Out.staticNss = llvm::StringRef(reinterpret_cast<const char *>(b.data()), b.size()).contains("/etc/nsswitch.conf");
    }
  }

  static bool hasNonConstantSyscall(const Function &fn) {
    for (const SyscallSite &s : fn.syscalls)
      if (s.kind == SyscallSite::Syscall && s.nr.kind != AbsValue::Const && s.nr.kind != AbsValue::Entry) return true;
    return false;
  }

  const Program &P;
  const Reach &R;
  const std::vector<RunTimeModule> &Modules;
  const std::vector<uint16_t> &Wrappers;
  std::vector<Loader> Loaders; // by global id; kind None for the functions that load nothing
  RunTimeSites Out;
};

} // namespace

RunTimeSites findRunTimeSites(const Program &p, const Reach &r, const std::vector<RunTimeModule> &modules,
                              const std::vector<uint16_t> &wrappers) {
  return SiteFinder(p, r, modules, wrappers).find();
}

} // namespace bespoke
