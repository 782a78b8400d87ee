// The observe program's decision part (extension-gen/ObserveProgram) against verify/ObserveProof: every
// generated program is proven for policies of every shape; every mutant that changes what the decision
// gives some syscall number is refused (a counterexample that reproduces, or the shape check); programs
// outside the decision's shape are refused by checkObserveDecision.
#include "extension-gen/ObserveProgram.h"
#include "verify/Equivalence.h"
#include "verify/ObserveProof.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace bespoke {
namespace {

const ObserveMaps kMaps{3, 4, 5, 6};

SyscallRule rule(int nr, std::vector<std::vector<ArgCondition>> alts = {}, Action a = {Action::Allow, 0}) {
  SyscallRule r;
  r.nr = nr;
  r.name = "nr" + std::to_string(nr);
  r.alternatives = std::move(alts);
  r.action = a;
  return r;
}

ArgCondition eq(uint8_t arg, uint64_t v) {
  ArgCondition c;
  c.arg = arg;
  c.op = ArgCondition::Equal;
  c.a = v;
  return c;
}

Policy policyOf(std::vector<SyscallRule> rules) {
  Policy p;
  p.allowed = std::move(rules);
  p.defaultAction = {Action::Errno, 1};
  p.badArchAction = {Action::KillProcess, 0};
  return p;
}

std::vector<Policy> policies() {
  std::vector<Policy> out;
  out.push_back(policyOf({}));                                // nothing allowed
  out.push_back(policyOf({rule(0), rule(1), rule(2), rule(60)})); // a run and a gap
  out.push_back(policyOf({rule(41, {{eq(0, 2)}, {eq(0, 10)}}),  // socket(AF_INET | AF_INET6): arg 0
                          rule(56, {{eq(0, 0x11)}, {eq(2, 7)}}), // two alternatives on different arguments
                          rule(435, {}, {Action::Errno, 38}),    // clone3 answered ENOSYS
                          rule(231)}));
  Policy all; // every x86-64 number allowed, one conditioned: a large tree
  std::vector<SyscallRule> rules;
  for (int nr = 0; nr <= 461; ++nr) rules.push_back(nr == 16 ? rule(16, {{eq(1, 0x5401)}}) : rule(nr));
  out.push_back(policyOf(rules));
  std::mt19937 rng(14);
  for (int k = 0; k < 20; ++k) { // random subsets with random conditions
    std::vector<SyscallRule> rs;
    for (int nr = 0; nr <= 461; ++nr) {
      if (rng() % 3) continue;
      if (rng() % 5 == 0)
        rs.push_back(rule(nr, {{eq(uint8_t(rng() % 6), rng() % 100)}}));
      else
        rs.push_back(rule(nr));
    }
    out.push_back(policyOf(rs));
  }
  return out;
}

// Numbers where classes change, and the edges of the 32-bit range.
std::vector<uint32_t> probes(const Policy &p) {
  std::set<uint32_t> s{0, 1, 0x3fffffff, 0x40000000, 0x40000001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
  for (const SyscallRule &r : p.allowed)
    for (int d = -1; d <= 1; ++d) s.insert(uint32_t(r.nr + d));
  return {s.begin(), s.end()};
}

TEST(ObserveProof, GeneratedProgramsAreProven) {
  for (const Policy &p : policies()) {
    auto prog = generateObserveProgram(p, kMaps);
    ASSERT_TRUE(bool(prog)) << llvm::toString(prog.takeError());
    auto v = proveObserveProgram(*prog, p);
    ASSERT_TRUE(bool(v)) << llvm::toString(v.takeError());
    EXPECT_TRUE(v->equivalent) << "nr " << v->witnessNr;
    for (uint32_t nr : probes(p)) EXPECT_EQ(runObserveDecision(*prog, nr), observeClassOf(p, nr)) << nr;
  }
}

TEST(ObserveProof, ClassesSayWhatToRecord) {
  Policy p = policies()[2];
  EXPECT_EQ(observeClassOf(p, 231), 0);                          // allowed whatever the arguments
  EXPECT_EQ(observeClassOf(p, 41), ObserveRecord | 0x1);         // socket: domain recorded
  EXPECT_EQ(observeClassOf(p, 56), ObserveRecord | 0x5);         // arguments 0 and 2
  EXPECT_EQ(observeClassOf(p, 435), ObserveRecord);              // answered ENOSYS: always a violation
  EXPECT_EQ(observeClassOf(p, 60), ObserveRecord);               // not in the policy
  EXPECT_EQ(observeClassOf(p, 0xffffffff), ObserveRecord);       // -1
  Policy x32 = policyOf({rule(0x40000001)});                     // decide() never allows an x32 number
  EXPECT_EQ(observeClassOf(x32, 0x40000001), ObserveRecord);
  auto prog = generateObserveProgram(x32, kMaps);
  ASSERT_TRUE(bool(prog));
  EXPECT_EQ(runObserveDecision(*prog, 0x40000001), ObserveRecord);
}

// Every single-field mutant of the decision part: the prover refuses exactly the ones that change some
// number's class (checked on the probes and on the prover's own witness), and accepts none that do.
TEST(ObserveProof, MeaningChangingMutantsAreRefused) {
  size_t changing = 0, refused = 0;
  // The hand-made policies in full; of one random policy's large tree every 13th instruction (each proof
  // of a large tree takes ~0.1 s).
  std::vector<Policy> all = policies(), some(all.begin(), all.begin() + 5);
  for (size_t k = 0; k < some.size(); ++k) {
    const Policy &p = some[k];
    auto prog = generateObserveProgram(p, kMaps);
    ASSERT_TRUE(bool(prog));
    size_t stride = k == 4 ? 13 : 1;
    for (size_t pc = prog->decisionBegin; pc < prog->decisionEnd; pc += stride) {
      for (int variant = 0; variant < 3; ++variant) {
        ObserveProgram m = *prog;
        bpf_insn &i = m.insns[pc];
        if (i.code == (BPF_JMP32 | BPF_JGT | BPF_K)) {
          if (variant == 0) i.imm += 1;
          else if (variant == 1) i.imm -= 1;
          else i.code = BPF_JMP32 | BPF_JGE | BPF_K;
        } else if (i.code == (BPF_ALU64 | BPF_MOV | BPF_K)) {
          if (variant == 0) i.imm ^= 0x40;
          else if (variant == 1) i.imm ^= 0x1;
          else i.dst_reg = 9;
        } else {
          if (variant == 0) i.off += 1;
          else if (variant == 1) i.off -= 1;
          else i.off = -1;
        }
        bool differs = false;
        llvm::Error shape = checkObserveDecision(m);
        if (!shape) {
          for (uint32_t nr : probes(p)) differs = differs || runObserveDecision(m, nr) != observeClassOf(p, nr);
        } else {
          llvm::consumeError(std::move(shape));
          differs = true; // outside the shape: must be refused
        }
        auto v = proveObserveProgram(m, p);
        bool rejected = !v || !v->equivalent;
        if (v && !v->equivalent) {
          EXPECT_NE(runObserveDecision(m, v->witnessNr), observeClassOf(p, v->witnessNr));
        }
        if (!v) llvm::consumeError(v.takeError());
        if (differs) {
          ++changing;
          refused += rejected;
          EXPECT_TRUE(rejected) << "pc " << pc << " variant " << variant;
        }
      }
    }
  }
  EXPECT_GT(changing, 100u);
  EXPECT_EQ(refused, changing);
  std::printf("observe decision mutants: %zu meaning-changing, %zu refused\n", changing, refused);
}

TEST(ObserveProof, ShapeCheckRefuses) {
  Policy p = policies()[1];
  auto prog = generateObserveProgram(p, kMaps);
  ASSERT_TRUE(bool(prog));
  ObserveProgram empty = *prog;
  empty.decisionEnd = empty.decisionBegin;
  auto e = checkObserveDecision(empty);
  EXPECT_TRUE(bool(e));
  llvm::consumeError(std::move(e));
  ObserveProgram other = *prog; // reads another register
  other.insns[other.decisionBegin].dst_reg = 2;
  auto v = proveObserveProgram(other, p);
  ASSERT_FALSE(bool(v));
  std::string msg = llvm::toString(v.takeError());
  EXPECT_NE(msg.find("not one of the decision part's"), std::string::npos) << msg;
}

} // namespace
} // namespace bespoke
