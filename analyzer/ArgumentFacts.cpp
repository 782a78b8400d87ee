// ArgumentFacts: the recorded arguments, their text, and the resolution of argument registers through
// the callers of wrappers (see ArgumentFacts.h).
#include "analyzer/ArgumentFacts.h"

#include "analyzer/LibcFacts.h"
#include "analyzer/X86Registers.h"

#include "llvm/ADT/StringRef.h"

#include <cstdio>
#include <algorithm>
#include <deque>

namespace bespoke {

namespace {

// Beyond this many (function, register) states one resolution gives up, soundly: any.
constexpr size_t MaxStates = 20000;

} // namespace

ArgumentResolver::ArgumentResolver(const Program &p, const Reach &r, StringReader strings) : P(p), R(r) {
  Reached.assign(P.functionCount(), 0);
  for (uint32_t g : R.order) Reached[g] = 1;
  markSymbolLookups(strings);
}

// dlsym returns a pointer to an exported function of the name it is given (in the handle's library or the
// libraries that one needs: libc's socket for "socket"), which the program then calls with arguments the
// analysis does not see: those functions are entered from unknown places. The name is followed up the
// callers like an argument; a name that is not a constant string could be any exported function.
void ArgumentResolver::markSymbolLookups(const StringReader &strings) {
  LookedUp.assign(P.functionCount(), 0);
  std::vector<uint8_t> lookup(P.functionCount(), 0);
  for (uint32_t g = 0; g < P.functionCount(); ++g) {
    llvm::StringRef name(P.fn(g).name);
    name.consume_back("@plt");
    if (isSymbolLookup(name)) lookup[g] = 1;
  }
  for (size_t m = 0; m < P.moduleCount(); ++m)
    for (auto &[name, f] : P.model(m).exports)
      if (isSymbolLookup(name)) lookup[P.gid(m, f)] = 1;
  bool everything = false;
  std::set<std::string> names;
  // A constant address passed by function f as the name: the string there, in f's module.
  auto constantName = [&](uint32_t f, const AbsValue &v) {
    for (int i = 0; i < v.n && !everything; ++i) {
      std::optional<std::string> str = strings ? strings(P.split(f).first, v.c[i]) : std::nullopt;
      if (str) names.insert(*str);
      else everything = true;
    }
  };
  std::set<std::pair<uint32_t, int>> seen;
  std::deque<std::pair<uint32_t, int>> work; // functions passing their entry register on as the name
  for (uint32_t g = 0; g < P.functionCount() && !everything; ++g) {
    if (!lookup[g] || !Reached[g]) continue;
    if (R.unknownEntry[g]) { everything = true; if (getenv("BESPOKE_DEBUG_ARGS")) fprintf(stderr, "lookup any: lookup fn unknown entry %s\n", P.fn(g).name.c_str()); } // called through a pointer: with any name
    for (const Program::Call &c : P.callersOf(g)) {
      if (!Reached[c.caller] || lookup[c.caller]) continue; // a PLT slot passes its caller's name on
      if (!c.edge->stringArg.empty()) { names.insert(c.edge->stringArg); continue; }
      AbsValue v = c.edge->args.get(RSI);
      if (v.kind == AbsValue::Const) constantName(c.caller, v);
      else if (v.kind == AbsValue::Entry && v.reg < NumGprs) {
        if (seen.insert({c.caller, v.reg}).second) work.push_back({c.caller, v.reg});
      } else { everything = true; if (getenv("BESPOKE_DEBUG_ARGS")) fprintf(stderr, "lookup any: %s -> %s\n", P.fn(c.caller).name.c_str(), P.fn(g).name.c_str()); }
    }
  }
  while (!work.empty() && !everything) {
    auto [f, r] = work.front();
    work.pop_front();
    if (seen.size() > MaxStates || R.unknownEntry[f]) { everything = true; if (getenv("BESPOKE_DEBUG_ARGS")) { Frame fr = P.frame(f, 0); fprintf(stderr, "lookup any: unknown entry %s!%s %lx\n", fr.module.c_str(), fr.symbol.c_str(), (unsigned long)fr.address); } } // a name from unknown places
    for (const Program::Call &c : P.callersOf(f)) {
      if (everything) break;
      if (!Reached[c.caller]) continue;
      AbsValue v = c.edge->args.get(r);
      if (v.kind == AbsValue::Const) constantName(c.caller, v);
      else if (v.kind == AbsValue::Entry && v.reg < NumGprs) {
        if (seen.insert({c.caller, v.reg}).second) work.push_back({c.caller, v.reg});
      } else { everything = true; if (getenv("BESPOKE_DEBUG_ARGS")) fprintf(stderr, "lookup any: %s -> %s\n", P.fn(c.caller).name.c_str(), P.fn(f).name.c_str()); }
    }
  }
  for (size_t m = 0; m < P.moduleCount(); ++m)
    for (auto &[name, f] : P.model(m).exports)
      if (everything || names.count(name)) LookedUp[P.gid(m, f)] = 1;
  LookupNames = everything ? std::vector<std::string>{"*"} : std::vector<std::string>(names.begin(), names.end());
}

ValueSet ArgumentResolver::resolve(uint32_t g, const AbsValue &arg, const AbsValue &number, long nr) {
  ValueSet out;
  const int rn = number.kind == AbsValue::Entry && number.reg < NumGprs ? number.reg : -1;
  const bool entryArg = arg.kind == AbsValue::Entry && arg.reg < NumGprs;
  if (!entryArg) {
    // The value is settled at the site; with the number from the callers, only if one can pass nr.
    if (rn >= 0 && !numberReaches(g, rn, nr)) return out;
    if (arg.kind == AbsValue::Const) out.values.insert(arg.c, arg.c + arg.n);
    else {
      out.any = true;
      out.why = "not a constant at the site in " + P.fn(g).name;
    }
    return out;
  }
  auto key = std::tuple(g, int(arg.reg), rn, rn >= 0 ? nr : -1L);
  if (auto it = Memo.find(key); it != Memo.end()) return it->second;

  // Breadth first up the callers. A state is a function and the registers its entry values came in: the
  // argument's, and the number's (-1 once it is known to be nr, or unknown and so possibly nr).
  struct St {
    uint32_t g;
    int ra, rn;
  };
  std::set<std::tuple<uint32_t, int, int>> seen{{g, arg.reg, rn}};
  std::deque<St> work{{g, arg.reg, rn}};
  while (!work.empty() && !out.any) {
    St s = work.front();
    work.pop_front();
    if (seen.size() > MaxStates || unknownEntry(s.g)) {
      out.any = true;
      out.why = seen.size() > MaxStates ? "too many callers" : P.fn(s.g).name + " is entered from unknown places" + (LookedUp[s.g] ? " (dlsym)" : R.rootOf[s.g] >= 0 ? " (" + R.rootReasons[size_t(R.rootOf[s.g])] + ")" : " (address taken)");
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
      AbsValue a = c.edge->args.get(s.ra);
      if (a.kind == AbsValue::Entry && a.reg < NumGprs) {
        if (seen.insert({c.caller, a.reg, rN}).second) work.push_back({c.caller, a.reg, rN});
        continue;
      }
      if (rN >= 0 && !numberReaches(c.caller, rN, nr)) continue;
      if (a.kind == AbsValue::Const) out.values.insert(a.c, a.c + a.n);
      else {
        out.any = true;
        out.why = P.fn(c.caller).name + " passes a non-constant to " + P.fn(s.g).name;
        break;
      }
    }
  }
  if (out.any) out.values.clear();
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
