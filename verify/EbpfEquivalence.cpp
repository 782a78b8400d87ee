#include "verify/EbpfEquivalence.h"

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <vector>

#include <llvm/ADT/StringExtras.h>
#include <z3++.h>

#include "ebpf/Interpreter.h"
#include "verify/EbpfSafety.h"
#include "verify/Equivalence.h"

namespace bespoke {

namespace {

// The context's fields as free variables, each as the program's 4-byte load sees it.
struct SymContext {
  std::vector<z3::expr> fields; // one per readableContextFields(hook), same order
  std::vector<int16_t> offsets;
  // Address hooks: the 16-bit port as loaded (network byte order read little-endian), user_port's low half.
  std::vector<z3::expr> port; // empty or one
};

SymContext freshContext(z3::context &ctx, NetHook hook) {
  SymContext c;
  for (const ContextField &f : readableContextFields(hook)) {
    c.offsets.push_back(f.offset);
    if (hook != NetHook::SockCreate && f.offset == static_cast<int16_t>(offsetof(bpf_sock_addr, user_port))) {
      c.port.push_back(ctx.bv_const("user_port16", 16));
      c.fields.push_back(z3::zext(c.port[0], 16)); // upper 16 bits zero
    } else {
      c.fields.push_back(ctx.bv_const(f.name, 32));
    }
  }
  return c;
}

const z3::expr &field(const SymContext &c, int16_t off) {
  for (size_t i = 0; i < c.offsets.size(); ++i)
    if (c.offsets[i] == off)
      return c.fields[i];
  return c.fields[0]; // unreachable: checkEbpfSafety admits only these offsets
}

using Regs = std::vector<z3::expr>; // r0..r10, 64 bits

struct Edge {
  z3::expr cond;
  Regs regs;
};

z3::expr merge(const std::vector<Edge> &in, unsigned r) {
  bool same = true;
  for (size_t i = 1; i < in.size() && same; ++i)
    same = z3::eq(in[i].regs[r], in[0].regs[r]);
  if (same)
    return in[0].regs[r];
  z3::expr v = in.back().regs[r];
  for (size_t i = in.size() - 1; i-- > 0;)
    v = z3::ite(in[i].cond, in[i].regs[r], v);
  return v;
}

uint64_t signExtended(int32_t imm) { return static_cast<uint64_t>(static_cast<int64_t>(imm)); }

// r0 at exit as one term over the context. The program passed checkEbpfSafety: jumps are forward and in
// range, every register read is written on every path, loads go through the context pointer at a field.
// The context pointer itself is never a value: registers holding it keep a placeholder that is never read.
z3::expr encodeProgram(z3::context &ctx, const EbpfProgram &p, const SymContext &c) {
  size_t n = p.insns.size();
  std::vector<std::vector<Edge>> incoming(n);
  incoming[0].push_back(Edge{ctx.bool_val(true), Regs(11, ctx.bv_val(0, 64))});
  std::vector<std::pair<z3::expr, z3::expr>> exits; // (path condition, r0)
  for (size_t pc = 0; pc < n; ++pc) {
    std::vector<Edge> in = std::move(incoming[pc]);
    if (in.empty())
      continue;
    z3::expr cond = in[0].cond;
    if (in.size() > 1) {
      z3::expr_vector cs(ctx);
      for (const Edge &e : in)
        cs.push_back(e.cond);
      cond = z3::mk_or(cs);
    }
    Regs r;
    for (unsigned i = 0; i < 11; ++i)
      r.push_back(merge(in, i));
    in.clear();
    const bpf_insn &ins = p.insns[pc];
    uint8_t cls = BPF_CLASS(ins.code), op = BPF_OP(ins.code);
    bool x = BPF_SRC(ins.code) == BPF_X;
    auto next = [&](size_t target, const z3::expr &cnd) { incoming[target].push_back(Edge{cnd, r}); };
    switch (cls) {
    case BPF_LDX:
      r[ins.dst_reg] = z3::zext(field(c, ins.off), 32);
      break;
    case BPF_ALU64:
    case BPF_ALU: {
      bool wide = cls == BPF_ALU64;
      unsigned w = wide ? 64 : 32;
      z3::expr src = x ? r[ins.src_reg] : ctx.bv_val(signExtended(ins.imm), 64);
      z3::expr dst = r[ins.dst_reg];
      if (!wide) {
        src = src.extract(31, 0);
        dst = dst.extract(31, 0);
      }
      z3::expr mask = ctx.bv_val(w - 1, w);
      z3::expr v = src;
      switch (op) {
      case BPF_ADD: v = dst + src; break;
      case BPF_SUB: v = dst - src; break;
      case BPF_AND: v = dst & src; break;
      case BPF_OR: v = dst | src; break;
      case BPF_XOR: v = dst ^ src; break;
      case BPF_LSH: v = z3::shl(dst, src & mask); break;  // the interpreter and JITs mask the amount
      case BPF_RSH: v = z3::lshr(dst, src & mask); break;
      case BPF_MOV: v = src; break;
      }
      r[ins.dst_reg] = (wide ? v : z3::zext(v, 32)).simplify();
      break;
    }
    default: { // BPF_JMP, BPF_JMP32
      if (cls == BPF_JMP && op == BPF_EXIT) {
        exits.emplace_back(cond, r[0]);
        continue;
      }
      if (cls == BPF_JMP && op == BPF_JA) {
        next(pc + 1 + ins.off, cond);
        continue;
      }
      z3::expr a = r[ins.dst_reg];
      z3::expr b = x ? r[ins.src_reg] : ctx.bv_val(signExtended(ins.imm), 64);
      if (cls == BPF_JMP32) {
        a = a.extract(31, 0);
        b = b.extract(31, 0);
      }
      z3::expr test = ctx.bool_val(false);
      switch (op) {
      case BPF_JEQ: test = a == b; break;
      case BPF_JNE: test = a != b; break;
      case BPF_JGT: test = z3::ugt(a, b); break;
      case BPF_JGE: test = z3::uge(a, b); break;
      case BPF_JLT: test = z3::ult(a, b); break;
      case BPF_JLE: test = z3::ule(a, b); break;
      case BPF_JSGT: test = a > b; break; // z3++'s operators on bit-vectors are signed
      case BPF_JSGE: test = a >= b; break;
      case BPF_JSLT: test = a < b; break;
      case BPF_JSLE: test = a <= b; break;
      case BPF_JSET: test = (a & b) != ctx.bv_val(0, a.get_sort().bv_size()); break;
      }
      test = test.simplify();
      size_t taken = pc + 1 + ins.off, fall = pc + 1;
      if (taken == fall || test.is_true()) {
        next(taken, cond);
      } else if (test.is_false()) {
        next(fall, cond);
      } else {
        next(taken, cond && test);
        next(fall, cond && !test);
      }
      continue;
    }
    }
    next(pc + 1, cond);
  }
  z3::expr res = exits.back().second; // checkEbpfSafety: every path reaches an exit
  for (size_t i = exits.size() - 1; i-- > 0;)
    res = z3::ite(exits[i].first, exits[i].second, res);
  return res;
}

// A port (host order) as the program's load sees it: its network-order bytes read little-endian.
uint16_t portAsLoaded(uint16_t port) { return static_cast<uint16_t>((port >> 8) | (port << 8)); }

// Four address bytes (memory order) as a little-endian 32-bit load sees them.
uint32_t wordAsLoaded(const uint8_t *bytes) {
  return bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (static_cast<uint32_t>(bytes[3]) << 24);
}

// allows() for p.hook as a formula over the context (written from NetPolicy.h's rules, not from allows()).
z3::expr encodePolicy(z3::context &ctx, NetHook hook, const NetPolicy &policy, const SymContext &c) {
  z3::expr_vector any(ctx);
  if (hook == NetHook::SockCreate) {
    const z3::expr &family = field(c, offsetof(bpf_sock, family));
    for (uint32_t f : policy.families)
      any.push_back(family == ctx.bv_val(f, 32));
    return any.empty() ? ctx.bool_val(false) : z3::mk_or(any);
  }
  const z3::expr &port = c.port[0];
  auto portIs = [&](uint16_t p) { return port == ctx.bv_val(portAsLoaded(p), 16); };
  if (hook == NetHook::Bind4 || hook == NetHook::Bind6) {
    if (policy.bindAnyPort)
      return ctx.bool_val(true);
    any.push_back(portIs(0)); // the kernel picks a free port: always allowed
    for (uint16_t p : policy.bindPorts)
      any.push_back(portIs(p));
    return z3::mk_or(any);
  }
  if (policy.connectAny)
    return ctx.bool_val(true);
  bool v6 = isIpv6(hook);
  auto word = [&](int i) -> const z3::expr & {
    return field(c, static_cast<int16_t>(v6 ? offsetof(bpf_sock_addr, user_ip6) + 4 * i
                                            : offsetof(bpf_sock_addr, user_ip4)));
  };
  for (const NetDestination &d : policy.connect) {
    z3::expr addr = ctx.bool_val(false);
    if (d.family == AF_INET6 && v6) {
      addr = ctx.bool_val(true);
      if (!d.anyAddr)
        for (int i = 0; i < 4; ++i)
          addr = addr && word(i) == ctx.bv_val(wordAsLoaded(d.addr.data() + 4 * i), 32);
    } else if (d.family == AF_INET && !v6) {
      addr = d.anyAddr ? ctx.bool_val(true) : word(0) == ctx.bv_val(wordAsLoaded(d.addr.data()), 32);
    } else if (d.family == AF_INET && v6) {
      // ::ffff:a.b.c.d, the v4 destination through a dual-stack socket.
      const uint8_t mapped[4] = {0, 0, 0xff, 0xff};
      addr = word(0) == ctx.bv_val(0, 32) && word(1) == ctx.bv_val(0, 32) &&
             word(2) == ctx.bv_val(wordAsLoaded(mapped), 32);
      if (!d.anyAddr)
        addr = addr && word(3) == ctx.bv_val(wordAsLoaded(d.addr.data()), 32);
    }
    any.push_back(d.anyPort ? addr : addr && portIs(d.port));
  }
  return any.empty() ? ctx.bool_val(false) : z3::mk_or(any);
}

uint64_t modelValue(const z3::model &m, const z3::expr &e) {
  uint64_t out = 0;
  m.eval(e, true).is_numeral_u64(out);
  return out;
}

// The model as the event the hook would see.
NetEvent eventOf(const z3::model &m, NetHook hook, const SymContext &c) {
  NetEvent e;
  e.hook = hook;
  if (hook == NetHook::SockCreate) {
    e.family = static_cast<uint32_t>(modelValue(m, field(c, offsetof(bpf_sock, family))));
    e.type = static_cast<uint32_t>(modelValue(m, field(c, offsetof(bpf_sock, type))));
    e.protocol = static_cast<uint32_t>(modelValue(m, field(c, offsetof(bpf_sock, protocol))));
    return e;
  }
  bool v6 = isIpv6(hook);
  for (int i = 0; i < (v6 ? 4 : 1); ++i) {
    auto w = static_cast<uint32_t>(modelValue(
        m, field(c, static_cast<int16_t>(v6 ? offsetof(bpf_sock_addr, user_ip6) + 4 * i
                                            : offsetof(bpf_sock_addr, user_ip4)))));
    for (int b = 0; b < 4; ++b)
      e.ip[4 * i + b] = static_cast<uint8_t>(w >> (8 * b));
  }
  e.port = portAsLoaded(static_cast<uint16_t>(modelValue(m, c.port[0]))); // ntohs of the loaded half
  return e;
}

llvm::Error fail(ProofError::Kind kind, const std::string &msg) { return llvm::make_error<ProofError>(kind, msg); }

} // namespace

llvm::Expected<EbpfVerdict> proveNetProgram(const EbpfProgram &p, const NetPolicy &policy) {
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error err = checkEbpfSafety(p))
    return fail(ProofError::KernelWouldRefuse,
                std::string("the kernel would refuse this ") + hookName(p.hook) +
                    " program: " + llvm::toString(std::move(err)));
  EbpfVerdict verdict;
  try {
    z3::context ctx;
    SymContext c = freshContext(ctx, p.hook);
    z3::expr r0 = encodeProgram(ctx, p, c);
    z3::expr allowed = encodePolicy(ctx, p.hook, policy, c);
    z3::expr programAllows = r0 != ctx.bv_val(0, 64);
    z3::solver s(ctx, "QF_BV");
    s.add(programAllows != allowed);
    z3::check_result res = s.check();
    if (res == z3::unknown)
      return fail(ProofError::GaveUp, "Z3 could not decide equivalence: " + s.reason_unknown());
    if (res == z3::sat) {
      z3::model m = s.get_model();
      NetEvent e = eventOf(m, p.hook, c);
      verdict.witness = e;
      verdict.counterexample = describe(e);
      verdict.programResult = runNetProgram(p, e);
      verdict.policyAllows = allows(policy, e);
      uint64_t modelR0 = modelValue(m, r0);
      bool modelAllows = m.eval(allowed, true).is_true();
      if (verdict.programResult != modelR0 || verdict.policyAllows != modelAllows ||
          (verdict.programResult != 0) == verdict.policyAllows)
        return fail(ProofError::GaveUp,
                    "internal error: Z3's counterexample " + verdict.counterexample +
                        " does not reproduce (model: r0 " + std::to_string(modelR0) + ", policy " +
                        (modelAllows ? "allows" : "refuses") + "; replay: r0 " +
                        std::to_string(verdict.programResult) + ", allows() " +
                        (verdict.policyAllows ? "true" : "false") + ")");
      verdict.equivalent = false;
    } else {
      verdict.equivalent = true;
    }
  } catch (const z3::exception &e) {
    return fail(ProofError::GaveUp, std::string("Z3 error: ") + e.msg());
  }
  verdict.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return verdict;
}

} // namespace bespoke
