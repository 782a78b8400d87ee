#include "verify/Equivalence.h"

#include <chrono>
#include <functional>
#include <set>

#include <llvm/ADT/StringExtras.h>
#include <z3++.h>

#include "seccomp/Interpreter.h"
#include "verify/Safety.h"

namespace bespoke {

char ProofError::ID = 0;

bool kernelCachesAllow(const BpfProgram &filter, uint32_t nr, uint32_t arch) {
  uint32_t reg = 0;
  for (size_t pc = 0; pc < filter.size(); ++pc) {
    const sock_filter &in = filter[pc];
    uint32_t k = in.k;
    switch (in.code) {
    case BPF_LD | BPF_W | BPF_ABS:
      if (k == 0)
        reg = nr;
      else if (k == 4)
        reg = arch;
      else
        return false; // not constant: loads ip or an argument
      break;
    case BPF_RET | BPF_K: return k == SECCOMP_RET_ALLOW;
    case BPF_JMP | BPF_JA: pc += k; break;
    case BPF_JMP | BPF_JEQ | BPF_K: pc += reg == k ? in.jt : in.jf; break;
    case BPF_JMP | BPF_JGE | BPF_K: pc += reg >= k ? in.jt : in.jf; break;
    case BPF_JMP | BPF_JGT | BPF_K: pc += reg > k ? in.jt : in.jf; break;
    case BPF_JMP | BPF_JSET | BPF_K: pc += (reg & k) ? in.jt : in.jf; break;
    case BPF_ALU | BPF_AND | BPF_K: reg &= k; break;
    default: return false; // the kernel's emulator does not know this instruction
    }
  }
  return false; // ran off the end
}

namespace {

struct SymData {
  z3::expr nr, arch, ip;
  std::vector<z3::expr> args;
};

SymData freshData(z3::context &ctx, const std::string &suffix, bool fixedX86) {
  SymData d{ctx.bv_const(("nr" + suffix).c_str(), 32),
            fixedX86 ? ctx.bv_val(Policy::AuditArchX86_64, 32) : ctx.bv_const(("arch" + suffix).c_str(), 32),
            ctx.bv_const(("ip" + suffix).c_str(), 64),
            {}};
  for (int i = 0; i < 6; ++i)
    d.args.push_back(ctx.bv_const(("arg" + std::to_string(i) + suffix).c_str(), 64));
  return d;
}

z3::expr loadWord(const SymData &d, uint32_t off) {
  if (off == 0) return d.nr;
  if (off == 4) return d.arch;
  const z3::expr &w = off < 16 ? d.ip : d.args[(off - 16) / 8];
  return (off % 8 == 0) ? w.extract(31, 0) : w.extract(63, 32);
}

struct State {
  z3::expr A, X;
  std::vector<z3::expr> M;
};

struct Edge {
  z3::expr cond;
  State st;
};

// ite-merge of one value over the incoming edges; no ite when all edges carry the same term.
z3::expr mergeValue(const std::vector<Edge> &in, const std::function<const z3::expr &(const State &)> &get) {
  const z3::expr &first = get(in[0].st);
  bool same = true;
  for (size_t i = 1; i < in.size() && same; ++i)
    same = z3::eq(get(in[i].st), first);
  if (same)
    return first;
  z3::expr v = get(in.back().st);
  for (size_t i = in.size() - 1; i-- > 0;)
    v = z3::ite(in[i].cond, get(in[i].st), v);
  return v;
}

bool numeralValue(const z3::expr &e, uint32_t &out) {
  uint64_t v;
  if (!e.is_numeral_u64(v))
    return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// The filter's 32-bit return value as one term over d. The program must pass checkSafety: every jump is
// forward and in range, so visiting instructions in index order sees all predecessors first.
z3::expr encodeFilter(z3::context &ctx, const BpfProgram &prog, const SymData &d) {
  size_t n = prog.size();
  std::vector<std::vector<Edge>> incoming(n);
  z3::expr zero = ctx.bv_val(0, 32);
  incoming[0].push_back(Edge{ctx.bool_val(true), State{zero, zero, std::vector<z3::expr>(BPF_MEMWORDS, zero)}});
  std::vector<std::pair<z3::expr, z3::expr>> rets; // (path condition, value)
  for (size_t pc = 0; pc < n; ++pc) {
    std::vector<Edge> in = std::move(incoming[pc]);
    incoming[pc].clear();
    if (in.empty())
      continue; // unreachable
    z3::expr cond = in[0].cond;
    if (in.size() > 1) {
      z3::expr_vector cs(ctx);
      for (auto &e : in)
        cs.push_back(e.cond);
      cond = z3::mk_or(cs);
    }
    State st{mergeValue(in, [](const State &s) -> const z3::expr & { return s.A; }),
             mergeValue(in, [](const State &s) -> const z3::expr & { return s.X; }),
             {}};
    for (unsigned m = 0; m < BPF_MEMWORDS; ++m)
      st.M.push_back(mergeValue(in, [m](const State &s) -> const z3::expr & { return s.M[m]; }));
    in.clear();

    const sock_filter &ins = prog[pc];
    uint32_t k = ins.k;
    z3::expr K = ctx.bv_val(k, 32);
    auto next = [&](size_t target, const z3::expr &c, const State &s) { incoming[target].push_back(Edge{c, s}); };
    switch (ins.code) {
    case BPF_LD | BPF_W | BPF_ABS: st.A = loadWord(d, k); break;
    case BPF_LD | BPF_W | BPF_LEN: st.A = ctx.bv_val(SeccompDataSize, 32); break;
    case BPF_LDX | BPF_W | BPF_LEN: st.X = ctx.bv_val(SeccompDataSize, 32); break;
    case BPF_LD | BPF_IMM: st.A = K; break;
    case BPF_LDX | BPF_IMM: st.X = K; break;
    case BPF_LD | BPF_MEM: st.A = st.M[k]; break;
    case BPF_LDX | BPF_MEM: st.X = st.M[k]; break;
    case BPF_ST: st.M[k] = st.A; break;
    case BPF_STX: st.M[k] = st.X; break;
    case BPF_ALU | BPF_ADD | BPF_K: st.A = st.A + K; break;
    case BPF_ALU | BPF_ADD | BPF_X: st.A = st.A + st.X; break;
    case BPF_ALU | BPF_SUB | BPF_K: st.A = st.A - K; break;
    case BPF_ALU | BPF_SUB | BPF_X: st.A = st.A - st.X; break;
    case BPF_ALU | BPF_MUL | BPF_K: st.A = st.A * K; break;
    case BPF_ALU | BPF_MUL | BPF_X: st.A = st.A * st.X; break;
    case BPF_ALU | BPF_DIV | BPF_K: st.A = z3::udiv(st.A, K); break; // k != 0 (checkSafety)
    case BPF_ALU | BPF_DIV | BPF_X: {
      // The kernel returns 0 from the filter when X == 0.
      uint32_t xv;
      bool xKnown = numeralValue(st.X, xv);
      if (!xKnown || xv == 0)
        rets.emplace_back(xKnown ? cond : (cond && st.X == zero), zero);
      if (xKnown && xv == 0)
        continue;
      if (!xKnown)
        cond = cond && st.X != zero;
      st.A = z3::udiv(st.A, st.X);
      break;
    }
    case BPF_ALU | BPF_AND | BPF_K: st.A = st.A & K; break;
    case BPF_ALU | BPF_AND | BPF_X: st.A = st.A & st.X; break;
    case BPF_ALU | BPF_OR | BPF_K: st.A = st.A | K; break;
    case BPF_ALU | BPF_OR | BPF_X: st.A = st.A | st.X; break;
    case BPF_ALU | BPF_XOR | BPF_K: st.A = st.A ^ K; break;
    case BPF_ALU | BPF_XOR | BPF_X: st.A = st.A ^ st.X; break;
    case BPF_ALU | BPF_LSH | BPF_K: st.A = z3::shl(st.A, K); break; // k < 32 (checkSafety)
    case BPF_ALU | BPF_LSH | BPF_X: st.A = z3::shl(st.A, st.X & ctx.bv_val(31, 32)); break;
    case BPF_ALU | BPF_RSH | BPF_K: st.A = z3::lshr(st.A, K); break;
    case BPF_ALU | BPF_RSH | BPF_X: st.A = z3::lshr(st.A, st.X & ctx.bv_val(31, 32)); break;
    case BPF_ALU | BPF_NEG: st.A = -st.A; break;
    case BPF_MISC | BPF_TAX: st.X = st.A; break;
    case BPF_MISC | BPF_TXA: st.A = st.X; break;
    case BPF_RET | BPF_K: rets.emplace_back(cond, K); continue;
    case BPF_RET | BPF_A: rets.emplace_back(cond, st.A); continue;
    case BPF_JMP | BPF_JA: next(pc + 1 + k, cond, st); continue;
    default: {
      // Conditional jumps (checkSafety admits nothing else).
      const z3::expr &v = BPF_SRC(ins.code) == BPF_X ? st.X : K;
      size_t t = pc + 1 + ins.jt, f = pc + 1 + ins.jf;
      if (t == f) {
        next(t, cond, st);
        continue;
      }
      uint32_t av, vv;
      if (numeralValue(st.A, av) && numeralValue(v, vv)) {
        bool taken = false;
        switch (BPF_OP(ins.code)) {
        case BPF_JEQ: taken = av == vv; break;
        case BPF_JGT: taken = av > vv; break;
        case BPF_JGE: taken = av >= vv; break;
        case BPF_JSET: taken = (av & vv) != 0; break;
        }
        next(taken ? t : f, cond, st);
        continue;
      }
      z3::expr test = ctx.bool_val(false);
      switch (BPF_OP(ins.code)) {
      case BPF_JEQ: test = st.A == v; break;
      case BPF_JGT: test = z3::ugt(st.A, v); break;
      case BPF_JGE: test = z3::uge(st.A, v); break;
      case BPF_JSET: test = (st.A & v) != zero; break;
      }
      next(t, cond && test, st);
      next(f, cond && !test, st);
      continue;
    }
    }
    if (pc + 1 < n)
      next(pc + 1, cond, st);
  }
  if (rets.empty())
    return ctx.bv_val(SECCOMP_RET_KILL_PROCESS, 32);
  z3::expr res = rets.back().second;
  for (size_t i = rets.size() - 1; i-- > 0;)
    res = z3::ite(rets[i].first, rets[i].second, res);
  return res;
}

z3::expr encodeCondition(z3::context &ctx, const ArgCondition &c, const SymData &d) {
  const z3::expr &v = d.args[c.arg];
  switch (c.op) {
  case ArgCondition::Equal: return v == ctx.bv_val(c.a, 64);
  case ArgCondition::MaskedEqual: return (v & ctx.bv_val(c.mask, 64)) == ctx.bv_val(c.a, 64);
  case ArgCondition::InRange: return z3::uge(v, ctx.bv_val(c.a, 64)) && z3::ule(v, ctx.bv_val(c.b, 64));
  }
  return ctx.bool_val(false);
}

// Policy::decide as a term over d.
z3::expr encodePolicy(z3::context &ctx, const Policy &p, const SymData &d) {
  auto val = [&](uint32_t v) { return ctx.bv_val(v, 32); };
  z3::expr res = val(p.defaultAction.value());
  for (size_t i = p.allowed.size(); i-- > 0;) {
    const SyscallRule &r = p.allowed[i];
    if (r.nr < 0)
      continue; // matches no nr (Policy::decide)
    z3::expr when = d.nr == val(static_cast<uint32_t>(r.nr));
    if (!r.alternatives.empty()) {
      z3::expr_vector alts(ctx);
      for (const auto &alt : r.alternatives) {
        z3::expr_vector conj(ctx);
        for (const ArgCondition &c : alt)
          conj.push_back(encodeCondition(ctx, c, d));
        alts.push_back(conj.empty() ? ctx.bool_val(true) : z3::mk_and(conj));
      }
      when = when && z3::mk_or(alts);
    }
    res = z3::ite(when, val(r.action.value()), res);
  }
  z3::expr x32 = z3::uge(d.nr, val(Policy::X32SyscallBit)) && d.nr != val(0xffffffffu);
  z3::expr bad = d.arch != val(Policy::AuditArchX86_64) || x32;
  return z3::ite(bad, val(p.badArchAction.value()), res);
}

uint64_t modelValue(const z3::model &m, const z3::expr &e) {
  z3::expr v = m.eval(e, true);
  uint64_t out = 0;
  v.is_numeral_u64(out);
  return out;
}

// Resource units (Z3's deterministic rlimit) for the SMT core before switching to bit-blasting. Measured:
// small and mutated libseccomp filters need <= 50k; a 300-syscall linear filter 13k; a 300-syscall binary
// tree (SCMP_FLTATR_CTL_OPTIMIZE 2) 4.7M.
constexpr unsigned SmtCoreBudget = 500000;

llvm::Error fail(ProofError::Kind kind, const std::string &msg) { return llvm::make_error<ProofError>(kind, msg); }

} // namespace

llvm::Expected<Verdict> proveEquivalent(const BpfProgram &filter, const Policy &policy) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> problems = checkSafety(filter);
  if (!problems.empty()) {
    std::string msg = "the kernel would refuse this filter:";
    for (const auto &p : problems)
      msg += "\n  " + p;
    return fail(ProofError::KernelWouldRefuse, msg);
  }
  for (const SyscallRule &r : policy.allowed)
    for (const auto &alt : r.alternatives)
      for (const ArgCondition &c : alt)
        if (c.arg > 5)
          return fail(ProofError::BadPolicy, "policy rule for syscall " + std::to_string(r.nr) + " names argument " +
                      std::to_string(c.arg) + " (there are 6, numbered 0..5)");
  Verdict verdict;
  try {
    z3::context ctx;
    SymData d = freshData(ctx, "", false);
    z3::expr f = encodeFilter(ctx, filter, d);
    z3::expr p = encodePolicy(ctx, policy, d);
    // Portfolio, both deciding the same formula: Z3's SMT core starts fast (small filters, ~10 ms) but
    // is slow on large decision trees (a 300-syscall libseccomp binary tree: ~1.4 s); eager bit-blasting
    // to SAT takes ~0.1 s there but has a higher fixed cost. The SMT core gets a deterministic resource
    // budget (rlimit); when it runs out, the bit-blasting pipeline decides.
    z3::solver s(ctx, z3::solver::simple());
    s.set("rlimit", SmtCoreBudget);
    s.add(f != p);
    z3::check_result r = s.check();
    if (r == z3::unknown) {
      s = (z3::tactic(ctx, "simplify") & z3::tactic(ctx, "bit-blast") & z3::tactic(ctx, "sat")).mk_solver();
      s.add(f != p);
      r = s.check();
    }
    if (r == z3::unknown)
      return fail(ProofError::GaveUp, "Z3 could not decide equivalence: " + s.reason_unknown());
    if (r == z3::sat) {
      z3::model m = s.get_model();
      seccomp_data cex{};
      cex.nr = static_cast<int>(static_cast<uint32_t>(modelValue(m, d.nr)));
      cex.arch = static_cast<uint32_t>(modelValue(m, d.arch));
      cex.instruction_pointer = modelValue(m, d.ip);
      for (int i = 0; i < 6; ++i)
        cex.args[i] = modelValue(m, d.args[i]);
      verdict.filterAction = runBpf(filter, cex).ret;
      verdict.policyAction = policy.decide(cex).value();
      verdict.counterexample = describe(cex);
      verdict.witness = cex;
      if (verdict.filterAction == verdict.policyAction)
        return fail(ProofError::GaveUp, "internal error: Z3's counterexample " + verdict.counterexample +
                    " does not reproduce (both return 0x" + llvm::utohexstr(verdict.filterAction) + ")");
      verdict.equivalent = false;
    } else {
      verdict.equivalent = true;
    }

    for (const SyscallRule &rule : policy.allowed)
      if (kernelCachesAllow(filter, static_cast<uint32_t>(rule.nr)))
        verdict.kernelCachedSyscalls.push_back(rule.nr);
    if (!verdict.equivalent) {
      verdict.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return verdict;
    }
    // Constant-action syscalls (only computed for an equivalent filter): for x86-64 and an allowed nr,
    // the filter's result is the same for any two (ip, args). Each sat answer names one non-constant nr,
    // which is then excluded, so there are (non-constant allowed syscalls + 1) checks.
    SymData d1 = freshData(ctx, "_1", true);
    SymData d2 = freshData(ctx, "_2", true);
    d2.nr = d1.nr;
    z3::expr f1 = encodeFilter(ctx, filter, d1), f2 = encodeFilter(ctx, filter, d2);
    z3::solver cs(ctx, z3::solver::simple());
    cs.add(f1 != f2);
    std::set<int> candidates;
    for (const SyscallRule &rule : policy.allowed)
      candidates.insert(rule.nr);
    if (!candidates.empty()) {
      z3::expr_vector in(ctx);
      for (int nr : candidates)
        in.push_back(d1.nr == ctx.bv_val(static_cast<uint32_t>(nr), 32));
      cs.add(z3::mk_or(in));
      while (true) {
        z3::check_result cr = cs.check();
        if (cr == z3::unknown)
          return fail(ProofError::GaveUp, "Z3 could not decide the constant-action question: " + cs.reason_unknown());
        if (cr == z3::unsat)
          break;
        uint32_t nr = static_cast<uint32_t>(modelValue(cs.get_model(), d1.nr));
        candidates.erase(static_cast<int>(nr));
        cs.add(d1.nr != ctx.bv_val(nr, 32));
      }
    }
    verdict.constantActionSyscalls.assign(candidates.begin(), candidates.end());
  } catch (const z3::exception &e) {
    return fail(ProofError::GaveUp, std::string("Z3 error: ") + e.msg());
  }
  verdict.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return verdict;
}

} // namespace bespoke
