// ArgumentFacts: the recorded arguments, their text, and the resolution of argument registers through
// the callers of wrappers (see ArgumentFacts.h).
#include "analyzer/ArgumentFacts.h"

#include "analyzer/LibcFacts.h"
#include "analyzer/X86Registers.h"

#include "llvm/ADT/StringRef.h"

#include <algorithm>
#include <deque>

namespace bespoke {

namespace {

// Beyond this many (function, register) states one resolution gives up, soundly: any.
constexpr size_t MaxStates = 20000;

} // namespace

std::string ArgumentResolver::where(uint32_t g) const {
  Frame f = P.frame(g, 0);
  return f.module + "!" + f.symbol;
}

// Why function g counts as entered from unknown places.
std::string ArgumentResolver::entryReason(uint32_t g) const {
  if (R.rootOf[g] >= 0) return R.rootReasons[size_t(R.rootOf[g])];
  if (R.unknownEntry[g]) return "its address is taken or it is loaded at run time";
  if (LookupWhy.empty()) return "dlsym can return it";
  return "dlsym can return any exported function: " + LookupWhy;
}

ArgumentResolver::ArgumentResolver(const Program &p, const Reach &r, StringReader strings) : P(p), R(r) {
  Reached.assign(P.functionCount(), 0);
  for (uint32_t g : R.order) Reached[g] = 1;
  markSymbolLookups(strings);
}

// dlsym returns a pointer to an exported function of the name it is given (in the handle's library or the
// libraries that one needs: libc's socket for "socket"), which the program then calls with arguments the
// analysis does not see: those functions are entered from unknown places. The name is followed up the
// callers like an argument; a name that is not a constant string could be any exported function.
// libcrypto's dlsym calls are its DSO methods: their names are those given to DSO_bind_func and
// DSO_global_lookup, by libcrypto itself (opensslBoundNames) or by the program (followed like dlsym's).
// A plugin loader's names that are not constants follow its pattern (pluginLoaders: libsasl2's plugin
// entry points, libkrb5's `_initvt` functions).
void ArgumentResolver::markSymbolLookups(const StringReader &strings) {
  LookedUp.assign(P.functionCount(), 0);
  std::vector<int8_t> nameReg(P.functionCount(), -1); // lookup functions: the register holding the name
  for (uint32_t g = 0; g < P.functionCount(); ++g) {
    llvm::StringRef name(P.fn(g).name);
    name.consume_back("@plt");
    nameReg[g] = int8_t(symbolLookupNameRegister(name));
  }
  std::vector<uint8_t> crypto(P.moduleCount(), 0);
  std::vector<const PluginLoader *> loader(P.moduleCount(), nullptr);
  for (size_t m = 0; m < P.moduleCount(); ++m)
    for (auto &[name, f] : P.model(m).exports) {
      if (name == OpensslDsoExport) crypto[m] = 1;
      for (const PluginLoader &l : pluginLoaders())
        if (name == l.loaderExport) loader[m] = &l;
      if (int r = symbolLookupNameRegister(name); r >= 0) nameReg[P.gid(m, f)] = int8_t(r);
    }
  std::string everything; // why any exported function may be looked up; empty while the names are known
  std::set<std::string> names;
  std::set<std::string> suffixes; // and every export whose name ends so
  // A constant address passed by function f as the name: the string there, in f's module.
  auto constantName = [&](uint32_t f, const AbsValue &v) {
    for (int i = 0; i < v.n && everything.empty(); ++i) {
      std::optional<std::string> str = strings ? strings(P.split(f).first, v.c[i]) : std::nullopt;
      if (str) names.insert(*str);
      else everything = where(f) + " passes an address that holds no string";
    }
  };
  std::set<std::pair<uint32_t, int>> seen;
  std::deque<std::pair<uint32_t, int>> work; // functions passing their entry register on as the name
  // One caller's name argument (register r at the call).
  auto follow = [&](uint32_t caller, const Edge &edge, int r) {
    if (!edge.stringArg.empty()) { names.insert(edge.stringArg); return; }
    AbsValue v = edge.args.get(r);
    if (v.kind == AbsValue::Const) constantName(caller, v);
    else if (v.kind == AbsValue::Entry && v.reg < NumGprs) {
      if (seen.insert({caller, v.reg}).second) work.push_back({caller, v.reg});
    } else if (const PluginLoader *l = loader[P.split(caller).first]) {
      names.insert(l->names.begin(), l->names.end());
      if (!l->suffix.empty()) suffixes.insert(l->suffix);
    } else everything = where(caller) + " looks up a name that is not a constant";
  };
  for (uint32_t g = 0; g < P.functionCount() && everything.empty(); ++g) {
    if (nameReg[g] < 0 || !Reached[g]) continue;
    const bool dsoEntry = llvm::StringRef(P.fn(g).name).starts_with("DSO_");
    if (R.unknownEntry[g]) { // called through a pointer: with any name
      everything = where(g) + " is called through a pointer";
      break;
    }
    for (const Program::Call &c : P.callersOf(g)) {
      if (!everything.empty()) break;
      if (!Reached[c.caller] || nameReg[c.caller] >= 0) continue; // a PLT slot passes its caller's name on
      if (crypto[P.split(c.caller).first]) {
        if (!dsoEntry) continue; // a DSO method: its names come through DSO_bind_func / DSO_global_lookup
        names.insert(opensslBoundNames().begin(), opensslBoundNames().end());
        continue;
      }
      follow(c.caller, *c.edge, nameReg[g]);
    }
  }
  while (!work.empty() && everything.empty()) {
    auto [f, r] = work.front();
    work.pop_front();
    if (seen.size() > MaxStates) everything = "too many callers pass the name on";
    else if (R.unknownEntry[f]) everything = where(f) + " passes on a name it is given from unknown places";
    for (const Program::Call &c : P.callersOf(f)) {
      if (!everything.empty()) break;
      if (Reached[c.caller]) follow(c.caller, *c.edge, r);
    }
  }
  for (size_t m = 0; m < P.moduleCount(); ++m)
    for (auto &[name, f] : P.model(m).exports)
      if (!everything.empty() || names.count(name) ||
          std::any_of(suffixes.begin(), suffixes.end(), [&](const std::string &x) { return llvm::StringRef(name).ends_with(x); }))
        LookedUp[P.gid(m, f)] = 1;
  LookupWhy = everything;
}

bool ArgumentResolver::modelled(uint32_t g, uint64_t site, uint32_t callee, long nr, int index, ValueSet &out) const {
  auto [m, f] = P.split(g);
  llvm::StringRef calleeName;
  if (callee != Reach::None) {
    calleeName = P.fn(callee).name;
    calleeName.consume_back("@plt");
  }
  std::optional<ModelledValues> v =
      glibcArgumentModel(P.module(m).name, P.model(m).libcVersion, P.fn(g).name, calleeName, nr, index);
  if (!v) return false;
  for (uint64_t x : v->values) out.add(x, g, site);
  out.models.insert(v->what);
  return true;
}

ValueSet ArgumentResolver::resolve(uint32_t g, uint64_t site, const AbsValue &arg, const AbsValue &number, long nr,
                                   int index) {
  ValueSet out;
  const int rn = number.kind == AbsValue::Entry && number.reg < NumGprs ? number.reg : -1;
  const bool entryArg = (arg.kind == AbsValue::Entry || arg.kind == AbsValue::Derived) && arg.reg < NumGprs;
  if (!entryArg) {
    // The value is settled at the site; with the number from the callers, only if one can pass nr.
    if (rn >= 0 && !numberReaches(g, rn, nr)) return out;
    if (arg.kind == AbsValue::Const) {
      for (int i = 0; i < arg.n; ++i) out.add(arg.c[i], g, site);
    } else if (!modelled(g, site, Reach::None, nr, index, out)) {
      out.any = true;
      out.why = "not a constant at the site in " + where(g);
    }
    return out;
  }
  // A model of the function at the site (glibc's tcsetattr) holds for every caller.
  if (ValueSet m; modelled(g, site, Reach::None, nr, index, m)) {
    if (rn >= 0 && !numberReaches(g, rn, nr)) return out;
    return m;
  }
  // The operations a derived value applies to its entry register (none for an entry value).
  auto opsOf = [](const AbsValue &v) {
    return v.kind == AbsValue::Derived ? std::vector<uint64_t>(v.c, v.c + v.n) : std::vector<uint64_t>{};
  };
  auto key = std::tuple(g, int(arg.reg), rn, rn >= 0 ? nr : -1L, index, opsOf(arg)); // the values come from callers
  if (auto it = Memo.find(key); it != Memo.end()) return it->second;

  // Breadth first up the callers. A state is a function, the value the argument is of its entry
  // registers (an entry value, or derived from one), and the register the number came in (-1 once it
  // is known to be nr, or unknown and so possibly nr).
  struct St {
    uint32_t g;
    AbsValue f;
    int rn;
  };
  std::set<std::tuple<uint32_t, int, int, std::vector<uint64_t>>> seen{{g, arg.reg, rn, opsOf(arg)}};
  std::deque<St> work{{g, arg, rn}};
  while (!work.empty() && !out.any) {
    St s = work.front();
    work.pop_front();
    // The number still comes from the callers, and this function is entered through a pointer or as a
    // root: that call is an unresolved site (FootprintReader lists it; it may make any syscall with any
    // arguments), and the facts, like the syscall list, cover the resolved ones.
    if (s.rn >= 0 && R.unknownEntry[s.g] && !LookedUp[s.g]) continue;
    if (seen.size() > MaxStates || unknownEntry(s.g)) {
      out.any = true;
      out.why = seen.size() > MaxStates ? "more than " + std::to_string(MaxStates) + " callers on the way"
                                        : where(s.g) + " is entered from unknown places (" + entryReason(s.g) + ")";
      break;
    }
    for (const Program::Call &c : P.callersOf(s.g)) {
      if (!Reached[c.caller]) continue;
      int rN = -1;
      if (s.rn >= 0) {
        AbsValue n = c.edge->args.get(s.rn);
        if (n.kind == AbsValue::Const) {
          if (std::find(n.c, n.c + n.n, uint64_t(nr)) == n.c + n.n) continue; // this caller makes other syscalls
        } else if (n.kind == AbsValue::Entry && n.reg < NumGprs) {
          rN = n.reg;
        } // an unknown number may be nr: the caller counts (it is an unresolved site of its own)
      }
      AbsValue a = c.edge->args.get(s.f.reg);
      if ((a.kind == AbsValue::Entry || a.kind == AbsValue::Derived) && a.reg < NumGprs) {
        AbsValue f = s.f.after(a); // the argument in the caller's terms
        if (f.kind == AbsValue::Top) {
          out.any = true;
          out.why = where(c.caller) + " passes a value computed in more steps than followed to " + where(s.g);
          break;
        }
        if (seen.insert({c.caller, f.reg, rN, opsOf(f)}).second) work.push_back({c.caller, f, rN});
        continue;
      }
      if (rN >= 0 && !numberReaches(c.caller, rN, nr)) continue;
      if (a.kind == AbsValue::Const) {
        // A derived argument is computed from the constant the caller passes.
        for (int i = 0; i < a.n; ++i)
          out.add(s.f.kind == AbsValue::Derived ? s.f.evaluate(a.c[i]) : a.c[i], c.caller, c.edge->site);
      } else if (!modelled(c.caller, c.edge->site, s.g, nr, index, out)) {
        out.any = true;
        out.why = where(c.caller) + " passes a non-constant to " + where(s.g);
        break;
      }
    }
  }
  if (out.any) {
    out.values.clear();
    out.models.clear();
    out.sites.clear();
  }
  Memo[key] = out;
  return out;
}

// Whether the number function g receives in register rn can be nr: some caller passes it (or a value the
// analysis does not know, or g is entered from unknown places).
bool ArgumentResolver::numberReaches(uint32_t g, int rn, long nr) {
  auto key = std::tuple(g, rn, nr);
  if (auto it = NumberMemo.find(key); it != NumberMemo.end()) return it->second;
  bool reaches = false;
  std::set<std::pair<uint32_t, int>> seen{{g, rn}};
  std::deque<std::pair<uint32_t, int>> work{{g, rn}};
  while (!work.empty() && !reaches) {
    auto [f, r] = work.front();
    work.pop_front();
    if (R.unknownEntry[f] && !LookedUp[f]) continue; // an unresolved site (see resolve)
    if (seen.size() > MaxStates || unknownEntry(f)) {
      reaches = true;
      break;
    }
    for (const Program::Call &c : P.callersOf(f)) {
      if (!Reached[c.caller]) continue;
      AbsValue n = c.edge->args.get(r);
      if (n.kind == AbsValue::Entry && n.reg < NumGprs) {
        if (seen.insert({c.caller, n.reg}).second) work.push_back({c.caller, n.reg});
      } else if (n.kind != AbsValue::Const || std::find(n.c, n.c + n.n, uint64_t(nr)) != n.c + n.n) {
        reaches = true;
        break;
      }
    }
  }
  NumberMemo[key] = reaches;
  return reaches;
}

} // namespace bespoke
