// TransferCase: the YAML reader, the runner (assemble, analyse, compare) and the value syntax of the
// transfer-function data tests (see TransferCase.h).
#include "tests/analyzer/TransferCase.h"

#include "analyzer/FunctionAnalysis.h"
#include "tests/analyzer/TestAssembler.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <yaml-cpp/yaml.h>

#include <set>

using namespace llvm;

namespace bespoke::test {

namespace {

// Where GOT slots named under module.imports are placed: away from the code and the usual symbols.
constexpr uint64_t ImportSlotBase = 0x100000;

Error problem(const std::string &name, const YAML::Node &at, const std::string &what) {
  return createStringError(inconvertibleErrorCode(), "%s:%d: %s", name.c_str(), at.Mark().line + 1, what.c_str());
}

Error problem(const std::string &name, const std::string &what) {
  return createStringError(inconvertibleErrorCode(), "%s: %s", name.c_str(), what.c_str());
}

// Keys of a mapping that are not in `known`, as an error.
Error checkKeys(const std::string &name, const YAML::Node &map, const std::string &where,
                std::initializer_list<const char *> known) {
  if (!map.IsMap()) return problem(name, map, where + " must be a mapping");
  for (auto it = map.begin(); it != map.end(); ++it) {
    std::string key = it->first.Scalar();
    bool ok = false;
    for (const char *k : known) ok |= key == k;
    if (!ok) {
      std::string list;
      for (const char *k : known) list += std::string(list.empty() ? "" : ", ") + k;
      return problem(name, it->first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
    }
  }
  return Error::success();
}

Expected<std::string> scalar(const std::string &name, const YAML::Node &n, const std::string &what) {
  if (!n.IsScalar()) return problem(name, n, what + " must be a scalar");
  return n.Scalar();
}

Expected<int64_t> integer(const std::string &name, const YAML::Node &n, const std::string &what) {
  auto s = scalar(name, n, what);
  if (!s) return s.takeError();
  StringRef text(*s);
  bool negative = text.consume_front("-");
  uint64_t v;
  if (text.getAsInteger(0, v)) return problem(name, n, what + ": '" + *s + "' is not an integer");
  return negative ? -int64_t(v) : int64_t(v);
}

Expected<int> registerNumber(const std::string &name, const YAML::Node &n) {
  auto s = scalar(name, n, "a register");
  if (!s) return s.takeError();
  int r = gprNumber(*s);
  if (r < 0) return problem(name, n, "unknown register '" + *s + "' (rax .. r15)");
  return r;
}

Expected<AbsValue> parseValue(const std::string &name, const YAML::Node &n, const std::string &what) {
  if (n.IsSequence()) {
    if (n.size() == 0 || n.size() > size_t(AbsValue::MaxConsts))
      return problem(name, n, what + ": a constant set holds 1 to " + std::to_string(AbsValue::MaxConsts) +
                                  " values (more is top)");
    AbsValue v = AbsValue::bottom();
    for (const YAML::Node &c : n) {
      auto k = integer(name, c, what);
      if (!k) return k.takeError();
      v = v.join(AbsValue::constant(uint64_t(*k)));
    }
    return v;
  }
  auto s = scalar(name, n, what);
  if (!s) return s.takeError();
  StringRef text(*s);
  if (text == "top") return AbsValue::top();
  if (text == "bottom") return AbsValue::bottom();
  if (text.consume_front("entry(") && text.consume_back(")")) {
    int r = gprNumber(text);
    if (r < 0) return problem(name, n, what + ": unknown register '" + text.str() + "' in entry()");
    return AbsValue::entry(r);
  }
  // derived(REG: op K, op K, ...), op one of add, and, or, shl, shr (32-bit operations, in order).
  if (text.consume_front("derived(") && text.consume_back(")")) {
    auto [reg, ops] = text.split(':');
    int r = gprNumber(reg.trim());
    if (r < 0) return problem(name, n, what + ": unknown register '" + reg.trim().str() + "' in derived()");
    AbsValue v = AbsValue::entry(r);
    SmallVector<StringRef, 4> parts;
    ops.split(parts, ',');
    for (StringRef part : parts) {
      auto [op, operand] = part.trim().split(' ');
      uint64_t k = 0;
      AbsValue::DerivedOp o = op == "add" ? AbsValue::Add32 : op == "and" ? AbsValue::And32 : op == "or" ? AbsValue::Or32
                              : op == "shl" ? AbsValue::Shl32 : AbsValue::Shr32;
      if ((op != "add" && op != "and" && op != "or" && op != "shl" && op != "shr") ||
          operand.trim().getAsInteger(0, k))
        return problem(name, n, what + ": '" + part.trim().str() + "' is not an operation (add|and|or|shl|shr K)");
      v = v.op32(o, k);
    }
    if (v.kind != AbsValue::Derived) return problem(name, n, what + ": derived() needs 1 to 4 operations");
    return v;
  }
  if (text.consume_front("stack(") && text.consume_back(")")) {
    auto off = integer(name, YAML::Node(text.str()), what);
    if (!off) { consumeError(off.takeError()); return problem(name, n, what + ": stack() needs an offset"); }
    return AbsValue::stack(*off);
  }
  if (auto k = integer(name, n, what)) return AbsValue::constant(uint64_t(*k));
  else consumeError(k.takeError());
  return problem(name, n, what + ": '" + *s + "' is not a value (an integer, [constants], top, bottom, entry(REG), derived(REG: OP K, ...), stack(OFFSET))");
}

// `regs: value` pairs plus an optional `slots` mapping.
Error parseState(const std::string &name, const YAML::Node &n, const std::string &where,
                 std::vector<std::pair<int, AbsValue>> &regs,
                 std::optional<std::vector<std::pair<int64_t, AbsValue>>> &slots) {
  if (!n.IsMap()) return problem(name, n, where + " must be a mapping of registers (and slots)");
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "slots") {
      if (!it->second.IsMap()) return problem(name, it->second, where + ".slots must be a mapping of offsets");
      slots.emplace();
      for (auto s = it->second.begin(); s != it->second.end(); ++s) {
        auto off = integer(name, s->first, where + ".slots offset");
        if (!off) return off.takeError();
        auto v = parseValue(name, s->second, where + ".slots[" + std::to_string(*off) + "]");
        if (!v) return v.takeError();
        slots->push_back({*off, *v});
      }
      std::sort(slots->begin(), slots->end(), [](auto &a, auto &b) { return a.first < b.first; });
      continue;
    }
    auto r = registerNumber(name, it->first);
    if (!r) return r.takeError();
    auto v = parseValue(name, it->second, where + "." + GprNames[*r]);
    if (!v) return v.takeError();
    regs.push_back({*r, *v});
  }
  return Error::success();
}

Error parseModule(const std::string &name, const YAML::Node &n, TransferCase &c) {
  if (Error e = checkKeys(name, n, "module", {"symbols", "imports", "clobbers", "noreturn", "absolute-code"})) return e;
  if (const YAML::Node s = n["symbols"]) {
    if (!s.IsMap()) return problem(name, s, "module.symbols must map names to addresses");
    for (auto it = s.begin(); it != s.end(); ++it) {
      auto a = integer(name, it->second, "module.symbols address");
      if (!a) return a.takeError();
      c.symbols[it->first.Scalar()] = uint64_t(*a);
    }
  }
  if (const YAML::Node s = n["imports"]) {
    if (!s.IsMap()) return problem(name, s, "module.imports must map slot symbols to import names");
    for (auto it = s.begin(); it != s.end(); ++it) {
      auto imp = scalar(name, it->second, "module.imports import name");
      if (!imp) return imp.takeError();
      c.importSlots[it->first.Scalar()] = *imp;
    }
  }
  if (const YAML::Node s = n["clobbers"]) {
    if (!s.IsMap()) return problem(name, s, "module.clobbers must map functions to register lists");
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (!it->second.IsSequence()) return problem(name, it->second, "module.clobbers." + it->first.Scalar() + " must be a list of registers");
      std::vector<int> &regs = c.clobbers[it->first.Scalar()];
      for (const YAML::Node &r : it->second) {
        auto g = registerNumber(name, r);
        if (!g) return g.takeError();
        regs.push_back(*g);
      }
    }
  }
  if (const YAML::Node s = n["noreturn"]) {
    if (!s.IsSequence()) return problem(name, s, "module.noreturn must be a list of functions");
    for (const YAML::Node &f : s) {
      auto fn = scalar(name, f, "module.noreturn entry");
      if (!fn) return fn.takeError();
      c.noReturn.push_back(*fn);
    }
  }
  if (const YAML::Node s = n["absolute-code"]) {
    auto v = scalar(name, s, "module.absolute-code");
    if (!v) return v.takeError();
    if (*v != "true" && *v != "false") return problem(name, s, "module.absolute-code must be true or false");
    c.absoluteCode = *v == "true";
  }
  return Error::success();
}

Error parseSyscalls(const std::string &name, const YAML::Node &n, TransferCase &c) {
  if (!n.IsSequence()) return problem(name, n, "syscalls must be a list");
  c.syscalls.emplace();
  for (const YAML::Node &s : n) {
    if (Error e = checkKeys(name, s, "a syscall", {"kind", "rax"})) return e;
    ExpectedSyscall x;
    if (const YAML::Node k = s["kind"]) {
      std::string kind = k.IsScalar() ? k.Scalar() : "";
      if (kind == "syscall") x.kind = SyscallSite::Syscall;
      else if (kind == "int80") x.kind = SyscallSite::Int80;
      else if (kind == "sysenter") x.kind = SyscallSite::Sysenter;
      else return problem(name, k, "syscall kind must be syscall, int80 or sysenter");
    }
    if (!s["rax"]) return problem(name, s, "a syscall needs rax (the value expected at the instruction)");
    auto v = parseValue(name, s["rax"], "syscall rax");
    if (!v) return v.takeError();
    x.rax = *v;
    c.syscalls->push_back(x);
  }
  return Error::success();
}

Error parseEdges(const std::string &name, const YAML::Node &n, TransferCase &c) {
  if (!n.IsSequence()) return problem(name, n, "edges must be a list");
  c.edges.emplace();
  for (const YAML::Node &s : n) {
    if (Error e = checkKeys(name, s, "an edge", {"kind", "to", "args"})) return e;
    ExpectedEdge x;
    std::string kind = s["kind"] && s["kind"].IsScalar() ? s["kind"].Scalar() : "";
    if (kind == "call") x.kind = Edge::Call;
    else if (kind == "tail") x.kind = Edge::Tail;
    else if (kind == "address-taken") x.kind = Edge::AddressTaken;
    else return problem(name, s, "an edge needs kind: call, tail or address-taken");
    auto to = scalar(name, s["to"], "an edge's to");
    if (!to) return to.takeError();
    x.to = *to;
    if (const YAML::Node a = s["args"]) {
      std::optional<std::vector<std::pair<int64_t, AbsValue>>> noSlots;
      if (Error e = parseState(name, a, "edge args", x.args, noSlots)) return e;
      if (noSlots) return problem(name, a, "edge args name registers only");
    }
    c.edges->push_back(std::move(x));
  }
  return Error::success();
}

Error parseTop(const std::string &name, const YAML::Node &root, TransferCase &c) {
  if (Error e = checkKeys(name, root, "the case", {"description", "syntax", "code", "base", "pre", "module", "post",
                                                  "syscalls", "edges"}))
    return e;
  for (const char *required : {"description", "code"})
    if (!root[required]) return problem(name, root, std::string("missing '") + required + "'");
  if (!root["post"] && !root["syscalls"] && !root["edges"])
    return problem(name, root, "nothing to check: give post, syscalls or edges");
  auto description = scalar(name, root["description"], "description");
  if (!description) return description.takeError();
  c.description = *description;
  auto code = scalar(name, root["code"], "code");
  if (!code) return code.takeError();
  c.source = *code;
  if (const YAML::Node s = root["syntax"]) {
    std::string syntax = s.IsScalar() ? s.Scalar() : "";
    if (syntax == "intel") c.source = ".intel_syntax noprefix\n" + c.source;
    else if (syntax != "att") return problem(name, s, "syntax must be att or intel");
  }
  if (const YAML::Node b = root["base"]) {
    auto base = integer(name, b, "base");
    if (!base) return base.takeError();
    c.base = uint64_t(*base);
  }
  if (const YAML::Node p = root["pre"]) {
    std::vector<std::pair<int, AbsValue>> regs;
    std::optional<std::vector<std::pair<int64_t, AbsValue>>> slots;
    if (Error e = parseState(name, p, "pre", regs, slots)) return e;
    for (auto &[r, v] : regs) c.pre.reg[r] = v;
    if (slots) c.pre.slots = *slots;
  }
  if (const YAML::Node m = root["module"])
    if (Error e = parseModule(name, m, c)) return e;
  if (const YAML::Node p = root["post"]) {
    c.checkPost = true;
    if (Error e = parseState(name, p, "post", c.postRegs, c.postSlots)) return e;
  }
  if (const YAML::Node s = root["syscalls"])
    if (Error e = parseSyscalls(name, s, c)) return e;
  if (const YAML::Node s = root["edges"])
    if (Error e = parseEdges(name, s, c)) return e;
  return Error::success();
}

std::string kindName(SyscallSite::Kind k) {
  return k == SyscallSite::Syscall ? "syscall" : k == SyscallSite::Int80 ? "int80" : "sysenter";
}

std::string kindName(Edge::Kind k) {
  return k == Edge::Call ? "call" : k == Edge::Tail ? "tail" : "address-taken";
}

AbsValue argValue(const RawEdge &e, int reg) {
  for (const RegValue &rv : e.args)
    if (rv.reg == reg) return rv.value;
  return AbsValue::top();
}

std::string describeSlots(const std::vector<std::pair<int64_t, AbsValue>> &slots) {
  std::string out = "{";
  for (auto &[off, v] : slots) out += (out.size() > 1 ? ", " : "") + std::to_string(off) + ": " + describe(v);
  return out + "}";
}

} // namespace

std::string describe(const AbsValue &v) {
  auto number = [](uint64_t x) { return x < 0x10000 ? std::to_string(x) : "0x" + utohexstr(x, /*LowerCase=*/true); };
  switch (v.kind) {
  case AbsValue::Bot: return "bottom";
  case AbsValue::Top: return "top";
  case AbsValue::Entry: return std::string("entry(") + (v.reg < NumGprs ? GprNames[v.reg] : "?") + ")";
  case AbsValue::Stack: return "stack(" + std::to_string(int64_t(v.c[0])) + ")";
  case AbsValue::Derived: {
    static const char *names[] = {"?", "add", "and", "or", "shl", "shr"};
    std::string out = std::string("derived(") + (v.reg < NumGprs ? GprNames[v.reg] : "?") + ":";
    for (int i = 0; i + 1 < v.n; i += 2)
      out += std::string(i ? ", " : " ") + (v.c[i] < 6 ? names[v.c[i]] : "?") + " " + number(v.c[i + 1]);
    return out + ")";
  }
  case AbsValue::Const: {
    if (v.n == 1) return number(v.c[0]);
    std::string out = "[";
    for (int i = 0; i < v.n; ++i) out += (i ? ", " : "") + number(v.c[i]);
    return out + "]";
  }
  }
  return "?";
}

Expected<TransferCase> parseTransferCase(const std::string &yaml, const std::string &name) {
  TransferCase c;
  c.name = name;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception &e) {
    return problem(name, "not YAML: " + std::string(e.what()));
  }
  try {
    if (Error e = parseTop(name, root, c)) return e;
  } catch (const YAML::Exception &e) { // a shape the reader did not expect
    return problem(name, e.what());
  }
  return c;
}

Expected<TransferCase> loadTransferCase(const std::string &path) {
  auto buf = MemoryBuffer::getFile(path);
  if (!buf) return problem(path, buf.getError().message());
  return parseTransferCase((*buf)->getBuffer().str(), path);
}

Expected<std::vector<std::string>> runTransferCase(const TransferCase &c, const X86Machine &mc) {
  std::map<std::string, uint64_t> symbols = c.symbols;
  uint64_t nextSlot = ImportSlotBase;
  for (auto &[slot, imp] : c.importSlots) {
    if (symbols.count(slot)) return problem(c.name, "'" + slot + "' is both a symbol and an import slot");
    symbols[slot] = nextSlot;
    nextSlot += 8;
  }
  auto code = assembleX86(c.source, c.base, symbols, c.name);
  if (!code) return code.takeError();
  uint64_t end = c.base + code->bytes.size();
  if (code->bytes.empty()) return problem(c.name, "the code assembles to nothing");

  auto addressOf = [&](const std::string &fn) -> std::optional<uint64_t> {
    if (auto it = code->labels.find(fn); it != code->labels.end()) return it->second;
    if (auto it = symbols.find(fn); it != symbols.end()) return it->second;
    return std::nullopt;
  };
  auto nameOf = [&](uint64_t a) {
    for (auto &[n, x] : code->labels) if (x == a) return n;
    for (auto &[n, x] : symbols) if (x == a) return n;
    return "0x" + utohexstr(a, true);
  };

  uint64_t base = c.base;
  ModuleContext ctx(mc, [base, end](uint64_t a) { return a >= base && a < end; }, c.absoluteCode);
  for (auto &[slot, imp] : c.importSlots) ctx.slotImport[symbols[slot]] = ctx.importOf(imp);
  for (auto &[fn, regs] : c.clobbers) {
    auto a = addressOf(fn);
    if (!a) return problem(c.name, "module.clobbers names '" + fn + "', which is no label or symbol");
    uint16_t mask = 0;
    for (int r : regs) mask |= uint16_t(1u << r);
    ctx.clobbers[*a] = mask;
  }
  for (const std::string &fn : c.noReturn) {
    auto a = addressOf(fn);
    if (!a) return problem(c.name, "module.noreturn names '" + fn + "', which is no label or symbol");
    ctx.noReturn.insert(*a);
  }

  FunctionAnalyzer fa(ctx, c.base, end);
  fa.decode(code->bytes);
  RawFunction raw = fa.analyze(c.pre);
  State post = fa.stateAtEnd();

  std::vector<std::string> bad;
  if (raw.decodeErrors) bad.push_back(std::to_string(raw.decodeErrors) + " bytes do not decode");
  if (c.checkPost && !post.reached) bad.push_back("no path reaches the end of the code");
  for (auto &[r, want] : c.postRegs)
    if (post.reached && post.reg[r] != want)
      bad.push_back(std::string("post.") + GprNames[r] + ": expected " + describe(want) + ", got " + describe(post.reg[r]));
  if (c.postSlots && post.reached && (post.slots.size() != c.postSlots->size() ||
                                      !std::equal(post.slots.begin(), post.slots.end(), c.postSlots->begin())))
    bad.push_back("post.slots: expected " + describeSlots(*c.postSlots) + ", got " + describeSlots(post.slots));

  if (c.syscalls) {
    if (raw.syscalls.size() != c.syscalls->size())
      bad.push_back("expected " + std::to_string(c.syscalls->size()) + " syscall sites, got " + std::to_string(raw.syscalls.size()));
    for (size_t i = 0; i < std::min(raw.syscalls.size(), c.syscalls->size()); ++i) {
      const SyscallSite &got = raw.syscalls[i];
      const ExpectedSyscall &want = (*c.syscalls)[i];
      if (got.kind != want.kind || got.nr != want.rax)
        bad.push_back("syscall " + std::to_string(i + 1) + ": expected " + kindName(want.kind) + " with rax " +
                      describe(want.rax) + ", got " + kindName(got.kind) + " with rax " + describe(got.nr));
    }
  }

  if (c.edges) {
    // Falling off the end of the test's code continues in "the next function": not part of the case.
    std::vector<const RawEdge *> edges;
    for (const RawEdge &e : raw.edges)
      if (!(e.kind == Edge::Tail && e.import < 0 && !e.indirect && e.target == end && &e == &raw.edges.back()))
        edges.push_back(&e);
    if (edges.size() != c.edges->size())
      bad.push_back("expected " + std::to_string(c.edges->size()) + " edges, got " + std::to_string(edges.size()));
    for (size_t i = 0; i < std::min(edges.size(), c.edges->size()); ++i) {
      const RawEdge &got = *edges[i];
      const ExpectedEdge &want = (*c.edges)[i];
      std::string to = got.indirect ? "indirect" : got.import >= 0 ? "import:" + ctx.imports[size_t(got.import)] : nameOf(got.target);
      std::string where = "edge " + std::to_string(i + 1) + " (" + kindName(got.kind) + " to " + to + ")";
      if (got.kind != want.kind || to != want.to)
        bad.push_back(where + ": expected " + kindName(want.kind) + " to " + want.to);
      for (auto &[r, v] : want.args)
        if (argValue(got, r) != v)
          bad.push_back(where + ": argument " + GprNames[r] + " expected " + describe(v) + ", got " + describe(argValue(got, r)));
    }
  }
  return bad;
}

} // namespace bespoke::test
