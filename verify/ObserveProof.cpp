// ObserveProof: the observe program's decision part against a Policy (ObserveProof.h).
#include "verify/ObserveProof.h"

#include "ebpf/Program.h"
#include "verify/Equivalence.h"

#include <z3++.h>

#include <chrono>
#include <string>
#include <vector>

namespace bespoke {

namespace {

constexpr uint8_t kNr = 7, kClass = 8;

llvm::Error refuse(const ObserveProgram &p, size_t pc, const std::string &why) {
  return llvm::make_error<ProofError>(ProofError::KernelWouldRefuse,
                                      "observe program insn " + std::to_string(pc) + " (" +
                                          disassemble(p.insns[pc]) + "): " + why);
}

bool isCompare(const bpf_insn &i) {
  return i.code == (BPF_JMP32 | BPF_JGT | BPF_K) && i.dst_reg == kNr && i.src_reg == 0;
}
bool isSetClass(const bpf_insn &i) {
  return i.code == (BPF_ALU64 | BPF_MOV | BPF_K) && i.dst_reg == kClass && i.src_reg == 0 && i.off == 0 &&
         i.imm >= 0 && i.imm <= 0x7f;
}
bool isGoto(const bpf_insn &i) { return i.code == (BPF_JMP | BPF_JA) && i.dst_reg == 0 && i.src_reg == 0 && i.imm == 0; }

} // namespace

uint8_t observeClassOf(const Policy &policy, uint32_t nr) {
  if (nr >= Policy::X32SyscallBit) return ObserveRecord; // x32 numbers and -1 never meet a rule that allows
  for (const SyscallRule &r : policy.allowed) {
    if (r.nr < 0 || static_cast<uint32_t>(r.nr) != nr) continue;
    bool anyArgs = r.alternatives.empty();
    for (const auto &alt : r.alternatives) anyArgs = anyArgs || alt.empty();
    if (anyArgs && r.action.kind == Action::Allow) return 0;
    uint8_t cls = ObserveRecord;
    for (const auto &alt : r.alternatives)
      for (const ArgCondition &c : alt)
        if (c.arg < 6) cls |= uint8_t(1u << c.arg);
    return cls;
  }
  return ObserveRecord;
}

llvm::Error checkObserveDecision(const ObserveProgram &p) {
  size_t b = p.decisionBegin, e = p.decisionEnd;
  if (b >= e || e > p.insns.size())
    return llvm::make_error<ProofError>(ProofError::KernelWouldRefuse, "the observe program has no decision part");
  // written[pc]: 1 r8 written on every path reaching pc, 0 on none known yet; reached[pc].
  std::vector<char> reached(e - b + 1, 0), written(e - b + 1, 1);
  reached[0] = 1;
  written[0] = 0;
  auto flow = [&](size_t from, size_t to, bool w) -> llvm::Error {
    if (to <= from || to > e) return refuse(p, from, "a jump that is not forward within the decision part");
    size_t k = to - b;
    written[k] = reached[k] ? (written[k] && w) : w;
    reached[k] = 1;
    return llvm::Error::success();
  };
  for (size_t pc = b; pc < e; ++pc) {
    const bpf_insn &i = p.insns[pc];
    size_t k = pc - b;
    if (!reached[k]) return refuse(p, pc, "unreachable");
    bool w = written[k];
    if (isCompare(i)) {
      if (llvm::Error x = flow(pc, pc + 1, w)) return x;
      if (llvm::Error x = flow(pc, pc + 1 + i.off, w)) return x;
    } else if (isSetClass(i)) {
      if (llvm::Error x = flow(pc, pc + 1, true)) return x;
    } else if (isGoto(i)) {
      if (llvm::Error x = flow(pc, pc + 1 + i.off, w)) return x;
    } else {
      return refuse(p, pc, "not one of the decision part's three kinds of instruction");
    }
  }
  if (!reached[e - b]) return refuse(p, e - 1, "the end of the decision part is never reached");
  if (!written[e - b]) return refuse(p, e - 1, "a path reaches the end of the decision part without setting r8");
  return llvm::Error::success();
}

uint8_t runObserveDecision(const ObserveProgram &p, uint32_t nr) {
  uint8_t r8 = 0;
  size_t pc = p.decisionBegin;
  while (pc < p.decisionEnd && pc < p.insns.size()) {
    const bpf_insn &i = p.insns[pc];
    if (isCompare(i))
      pc += 1 + (nr > static_cast<uint32_t>(i.imm) ? i.off : 0);
    else if (isSetClass(i))
      r8 = static_cast<uint8_t>(i.imm), ++pc;
    else
      pc += 1 + i.off;
  }
  return r8;
}

llvm::Expected<ObserveVerdict> proveObserveProgram(const ObserveProgram &p, const Policy &policy) {
  auto start = std::chrono::steady_clock::now();
  if (llvm::Error x = checkObserveDecision(p)) return x;
  z3::context ctx;
  z3::expr nr = ctx.bv_const("nr", 32);
  // Symbolic execution of the decision part: per instruction, the condition of reaching it and r8 there.
  size_t b = p.decisionBegin, e = p.decisionEnd;
  struct In {
    z3::expr cond, r8;
  };
  std::vector<std::vector<In>> incoming(e - b + 1);
  incoming[0].push_back({ctx.bool_val(true), ctx.bv_val(0, 8)});
  for (size_t pc = b; pc <= e; ++pc) {
    std::vector<In> &in = incoming[pc - b];
    z3::expr cond = in[0].cond, r8 = in[0].r8; // checkObserveDecision: every instruction is reached
    for (size_t j = 1; j < in.size(); ++j) {
      r8 = z3::ite(in[j].cond, in[j].r8, r8);
      cond = cond || in[j].cond;
    }
    if (pc == e) {
      z3::solver s(ctx);
      z3::expr expected = ctx.bv_val(ObserveRecord, 8); // numbers without a rule
      for (auto it = policy.allowed.rbegin(); it != policy.allowed.rend(); ++it)
        if (it->nr >= 0 && static_cast<uint32_t>(it->nr) < Policy::X32SyscallBit)
          expected = z3::ite(nr == ctx.bv_val(static_cast<uint32_t>(it->nr), 32),
                             ctx.bv_val(observeClassOf(policy, static_cast<uint32_t>(it->nr)), 8), expected);
      s.add(r8 != expected);
      ObserveVerdict v;
      z3::check_result res = s.check();
      if (res == z3::unknown)
        return llvm::make_error<ProofError>(ProofError::GaveUp, "Z3 gave up on the observe program's decision part");
      if (res == z3::unsat) {
        v.equivalent = true;
      } else {
        v.witnessNr = s.get_model().eval(nr, true).get_numeral_uint();
        v.programClass = runObserveDecision(p, v.witnessNr);
        v.policyClass = observeClassOf(policy, v.witnessNr);
        if (v.programClass == v.policyClass)
          return llvm::make_error<ProofError>(ProofError::GaveUp,
                                              "Z3's counterexample for the observe program (nr " +
                                                  std::to_string(v.witnessNr) + ") does not reproduce");
      }
      v.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return v;
    }
    const bpf_insn &i = p.insns[pc];
    if (isCompare(i)) {
      z3::expr taken = z3::ugt(nr, ctx.bv_val(static_cast<uint32_t>(i.imm), 32));
      incoming[pc - b + 1 + i.off].push_back({cond && taken, r8});
      incoming[pc - b + 1].push_back({cond && !taken, r8});
    } else if (isSetClass(i)) {
      incoming[pc - b + 1].push_back({cond, ctx.bv_val(static_cast<unsigned>(i.imm), 8)});
    } else {
      incoming[pc - b + 1 + i.off].push_back({cond, r8});
    }
  }
  return llvm::make_error<ProofError>(ProofError::GaveUp, "the observe program's decision part has no end");
}

} // namespace bespoke
