// RunTimeCode: dlopen and exec sites, plugin-system entry points and the setxid broadcast on a walked
// Program (see RunTimeCode.h).
#include "analyzer/RunTimeCode.h"

#include "analyzer/LibcFacts.h"
#include "analyzer/X86Registers.h"

#include "llvm/ADT/StringRef.h"

#include <map>
#include <tuple>

namespace bespoke {

namespace {

// A function that loads what one of its registers names: dlopen, an exec function, or a wrapper.
struct Loader {
  enum Kind : uint8_t { Dlopen, Exec };
  Kind kind = Dlopen;
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
  SiteFinder(const Program &p, const Reach &r, const std::vector<RunTimeModule> &modules)
      : P(p), R(r), Modules(modules) {}

  RunTimeSites find() {
    for (uint32_t g = 0; g < P.functionCount(); ++g)
      if (auto l = loaderByName(P.model(P.split(g).first).functionName(P.split(g).second))) Loaders[g] = *l;
    // Wrappers first: a function passing its argument on becomes a loader, until nothing changes.
    for (bool changed = true; changed;) {
      changed = false;
      scan([&](uint32_t, uint64_t, uint32_t, const Loader &, const AbsValue &) {}, changed);
    }
    std::set<std::tuple<uint32_t, uint64_t, uint32_t>> seen;
    bool ignored = false;
    scan(
        [&](uint32_t g, uint64_t site, uint32_t callee, const Loader &l, const AbsValue &v) {
          if (!seen.insert({g, site, callee}).second) return;
          record(g, site, callee, l, v);
        },
        ignored);
    findEntryPoints();
    return std::move(Out);
  }

private:
  // Every reachable call of a loader: `emit` gets the sites whose argument is not passed on from the
  // caller's own arguments; those that are make the caller a loader (`changed`).
  template <typename Emit> void scan(Emit emit, bool &changed) {
    std::vector<uint32_t> targets;
    for (uint32_t g : R.order) {
      auto [m, f] = P.split(g);
      const Function &fn = P.model(m).functions[size_t(f)];
      for (const Edge &e : fn.edges) {
        if (e.kind == Edge::AddressTaken || e.indirect) continue;
        P.targets(m, e, targets);
        for (uint32_t t : targets) {
          auto it = Loaders.find(t);
          if (it == Loaders.end() || t == g) continue;
          const Loader l = it->second;
          AbsValue v = AbsValue::top();
          for (const RegValue &rv : e.args)
            if (rv.reg == l.reg) v = rv.value;
          if (v.kind == AbsValue::Entry && !R.unknownEntry[g] && !Loaders.count(g)) {
            Loaders[g] = Loader{l.kind, v.reg, l.searchesPath};
            changed = true;
            continue;
          }
          if (v.kind == AbsValue::Entry && Loaders.count(g) && Loaders[g].reg == v.reg) continue; // passed on
          emit(g, e.site, t, l, v);
        }
      }
    }
  }

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
      if (s.kind == SyscallSite::Syscall && s.nr.kind == AbsValue::Top) return true;
    return false;
  }

  const Program &P;
  const Reach &R;
  const std::vector<RunTimeModule> &Modules;
  std::map<uint32_t, Loader> Loaders;
  RunTimeSites Out;
};

} // namespace

RunTimeSites findRunTimeSites(const Program &p, const Reach &r, const std::vector<RunTimeModule> &modules) {
  return SiteFinder(p, r, modules).find();
}

} // namespace bespoke
