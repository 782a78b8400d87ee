// FootprintReader: syscalls, unresolved sites, kernel paths and files of a walked Program (see
// FootprintReader.h).
#include "analyzer/FootprintReader.h"

#include "analyzer/ArgumentFacts.h"
#include "analyzer/KernelEntries.h"
#include "analyzer/SyscallTable.h"
#include "analyzer/X86Registers.h"

#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <tuple>

namespace bespoke {

void FootprintReader::read() {
  for (uint32_t g : R.order) {
    auto [m, f] = P.split(g);
    const Function &fn = P.model(m).functions[size_t(f)];
    for (const SyscallSite &s : fn.syscalls) {
      readSyscallSite(g, s);
      if (s.kind == SyscallSite::Syscall) Sites.push_back({g, &s});
    }
    for (const Edge &e : fn.edges) {
      if (e.kind == Edge::AddressTaken || e.indirect) continue;
      readWrapperCall(g, m, e);
      readPathCall(g, e);
    }
  }
}

void FootprintReader::finish() {
  Fp.kernel.paths.assign(KernelPaths.begin(), KernelPaths.end());
  for (auto &[path, ev] : Files) Fp.files.push_back({path, std::move(ev)});
  for (auto &[nr, evs] : Found) {
    SyscallUse u;
    u.name = std::string(*syscallName(nr));
    u.nr = nr;
    u.evidence = std::move(evs);
    u.args = argumentFacts(nr);
    Fp.syscalls.push_back(std::move(u));
  }
  std::sort(Fp.syscalls.begin(), Fp.syscalls.end(), [](const SyscallUse &a, const SyscallUse &b) { return a.name < b.name; });
  addKernelIssuedSyscalls(Fp);
  auto key = [](const Unresolved &u) {
    static const Frame none;
    const Frame &f = u.evidence.chain.empty() ? none : u.evidence.chain.back();
    return std::tuple(f.module, f.address, u.kind, u.why);
  };
  std::stable_sort(Fp.unresolved.begin(), Fp.unresolved.end(), [&](const Unresolved &a, const Unresolved &b) { return key(a) < key(b); });
  Fp.unresolved.erase(std::unique(Fp.unresolved.begin(), Fp.unresolved.end(),
                                  [&](const Unresolved &a, const Unresolved &b) { return key(a) == key(b); }),
                      Fp.unresolved.end());
}

// The recorded arguments of syscall nr: the union over every reachable site that can make it (a wrapper's
// site counts for the callers that pass nr), any as soon as one gives any.
std::map<std::string, ArgFact> FootprintReader::argumentFacts(int nr) {
  std::map<std::string, ArgFact> out;
  std::vector<const ArgumentSpec *> specs = argumentSpecsOf(std::string(*syscallName(nr)));
  if (specs.empty()) return out;
  if (!Resolver) Resolver = std::make_unique<ArgumentResolver>(P, R, Strings);
  std::vector<std::pair<uint32_t, const SyscallSite *>> making; // the sites whose number can be nr
  for (auto [g, s] : Sites) {
    if (s->nr.kind == AbsValue::Const) {
      if (std::find(s->nr.c, s->nr.c + s->nr.n, uint64_t(nr)) == s->nr.c + s->nr.n) continue;
    } else if (s->nr.kind != AbsValue::Entry) {
      continue; // an unresolved number (listed under unresolved:), or glibc's setxid broadcast
    }
    making.push_back({g, s});
  }
  for (const ArgumentSpec *spec : specs) {
    ValueSet all;
    for (auto [g, s] : making) {
      ValueSet v = Resolver->resolve(g, s->site, s->args.get(SyscallArgRegs[spec->index]), s->nr, nr, spec->index);
      all.any = all.any || v.any;
      all.values.insert(v.values.begin(), v.values.end());
      all.sites.insert(v.sites.begin(), v.sites.end()); // keeps the first site of each value
      all.models.insert(v.models.begin(), v.models.end());
      if (all.any) {
        all.why = v.why;
        break;
      }
    }
    ArgFact &f = out[spec->name];
    // A syscall found with no site giving a value (not expected) knows nothing: any.
    f.any = all.any || all.values.empty();
    if (f.any) {
      f.why = all.any ? all.why : "no site gives a value";
      continue;
    }
    std::set<std::string> texts;
    for (uint64_t v : all.values) {
      std::string text = argumentValueText(*spec, v);
      texts.insert(text);
      if (auto s = all.sites.find(v); s != all.sites.end() && !f.sites.count(text))
        f.sites[text] = P.frame(s->second.first, s->second.second);
    }
    f.values.assign(texts.begin(), texts.end());
    for (const std::string &m : all.models) f.why += (f.why.empty() ? "values from " : "; ") + m;
  }
  return out;
}

// Up to three evidence chains per syscall, from different functions.
void FootprintReader::addUse(long nr, uint32_t g, uint64_t site, const std::vector<Frame> &tail) {
  if (FoundIn[int(nr)].size() >= 3 || !FoundIn[int(nr)].insert(g).second) return;
  Evidence ev = chainTo(P, R, g, site);
  ev.chain.insert(ev.chain.end(), tail.begin(), tail.end());
  Found[int(nr)].push_back(std::move(ev));
}

void FootprintReader::unresolved(const std::string &kind, const std::string &why, uint32_t g, uint64_t site) {
  Fp.unresolved.push_back({kind, why, chainTo(P, R, g, site)});
}

void FootprintReader::readSyscallSite(uint32_t g, const SyscallSite &s) {
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
  } else if (Setxid.count(g)) {
    // glibc's setxid broadcast makes the syscall a set*id function asked for (xid_command.syscall_no);
    // each such function also makes that syscall directly (single-threaded path), so it is listed.
  } else {
    unresolved("syscall-number", "%rax is not a constant at the syscall instruction", g, s.site);
  }
}

// A call to a syscall wrapper: the numbers it passes in the registers the wrapper makes syscalls of.
void FootprintReader::readWrapperCall(uint32_t g, size_t m, const Edge &e) {
  P.targets(m, e, Targets);
  for (uint32_t t : Targets) {
    if (!Wrappers[t]) continue;
    for (int r = 0; r < NumGprs; ++r) {
      if (!(Wrappers[t] >> r & 1)) continue;
      const AbsValue known = e.args.get(r);
      const AbsValue *v = known.kind == AbsValue::Top ? nullptr : &known;
      Frame callee = P.frame(t, P.fn(t).addr);
      if (v && v->kind == AbsValue::Const) {
        for (int i = 0; i < v->n; ++i) {
          if (syscallName(long(v->c[i]))) addUse(long(v->c[i]), g, e.site, {callee});
          else unresolved("wrapper-argument", "call to syscall wrapper " + callee.symbol + " with %" + GprNames[r] + " = " + std::to_string(v->c[i]) + ", not an x86-64 system call", g, e.site);
        }
      } else if (!v || v->kind != AbsValue::Entry) {
        unresolved("wrapper-argument", "call to syscall wrapper " + callee.symbol + " with a non-constant number in %" + GprNames[r], g, e.site);
      } else if (R.unknownEntry[g]) {
        // The number is the caller's own entry value, and the caller is entered where the analysis
        // cannot see what it passes (a pointer, an entry point): any syscall.
        unresolved("wrapper-argument", "call to syscall wrapper " + callee.symbol + " with the number from %" + GprNames[v->reg] +
                       " at entry, and the function is also reached through a pointer or as an entry point", g, e.site);
      }
    }
  }
}

// A constant path passed to a path-taking function: a kernel path (/proc, /sys, /dev) or a file.
// Relative paths depend on the working directory and are not recorded.
void FootprintReader::readPathCall(uint32_t g, const Edge &e) {
  if (e.stringArg.empty() || e.stringArg[0] != '/') return;
  llvm::StringRef path(e.stringArg);
  for (const char *prefix : {"/proc", "/sys", "/dev"})
    if (path == prefix || path.starts_with(std::string(prefix) + "/")) {
      KernelPaths.insert(e.stringArg);
      return;
    }
  Files.try_emplace(e.stringArg, chainTo(P, R, g, e.site)); // the first found: a shortest chain
}

} // namespace bespoke
