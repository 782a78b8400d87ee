#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "tests/verify/SeccompHelpers.h"
#include "verify/Equivalence.h"
#include "verify/Safety.h"

using namespace bespoke;
using bespoke::test::act;

namespace {

sock_filter insn(uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) { return sock_filter{code, jt, jf, k}; }

BpfProgram load(const std::string &bytes) {
  auto prog = readBpf(bytes, "libseccomp");
  if (!prog) {
    ADD_FAILURE() << llvm::toString(prog.takeError());
    return {};
  }
  return *prog;
}

Verdict prove(const BpfProgram &f, const Policy &p) {
  auto v = proveEquivalent(f, p);
  if (!v) {
    ADD_FAILURE() << llvm::toString(v.takeError());
    return {};
  }
  return *v;
}

// A refusal must come with a counterexample on which the filter and the policy really differ.
void expectConfirmedCounterexample(const BpfProgram &f, const Policy &p, const Verdict &v) {
  ASSERT_FALSE(v.equivalent);
  EXPECT_FALSE(v.counterexample.empty());
  EXPECT_EQ(runBpf(f, v.witness).ret, v.filterAction) << v.counterexample;
  EXPECT_EQ(p.decide(v.witness).value(), v.policyAction) << v.counterexample;
  EXPECT_NE(v.filterAction, v.policyAction) << v.counterexample;
}

Policy simplePolicy(std::vector<int> nrs, Action def = act(Action::Errno, 1)) {
  Policy p;
  p.defaultAction = def;
  p.badArchAction = act(Action::KillProcess);
  for (int nr : nrs) {
    SyscallRule r;
    r.nr = nr;
    p.allowed.push_back(r);
  }
  return p;
}

// A hand-written filter in a different shape from libseccomp's: nr via scratch memory, a range check
// with jgt/jge on X, an InRange argument condition split over the two 32-bit halves.
TEST(Equivalence, HandWrittenFilter) {
  Policy p = simplePolicy({0, 1, 2, 3, 60});
  SyscallRule mmap; // nr 9: allowed when 0x1000 <= arg2 <= 0x2fff (hi 32 bits zero)
  mmap.nr = 9;
  ArgCondition c;
  c.arg = 2;
  c.op = ArgCondition::InRange;
  c.a = 0x1000;
  c.b = 0x2fff;
  mmap.alternatives.push_back({c});
  p.allowed.insert(p.allowed.begin() + 4, mmap);
  const uint32_t Allow = SECCOMP_RET_ALLOW, Err = SECCOMP_RET_ERRNO | 1, Kill = SECCOMP_RET_KILL_PROCESS;
  BpfProgram f = {
      /*0*/ insn(BPF_LD | BPF_W | BPF_ABS, 4),
      /*1*/ insn(BPF_JMP | BPF_JEQ | BPF_K, Policy::AuditArchX86_64, 1, 0),
      /*2*/ insn(BPF_RET | BPF_K, Kill),
      /*3*/ insn(BPF_LD | BPF_W | BPF_ABS, 0),
      /*4*/ insn(BPF_ST, 7),
      /*5*/ insn(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 3),
      /*6*/ insn(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 2, 0),
      /*7*/ insn(BPF_RET | BPF_K, Kill),
      /*8*/ insn(BPF_RET | BPF_K, Allow), // unreachable
      /*9*/ insn(BPF_LDX | BPF_IMM, 4),
      /*10*/ insn(BPF_LDX | BPF_MEM, 7),  // X = nr
      /*11*/ insn(BPF_LD | BPF_IMM, 3),
      /*12*/ insn(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 1), // 3 >= nr -> nr <= 3
      /*13*/ insn(BPF_RET | BPF_K, Allow),
      /*14*/ insn(BPF_LD | BPF_MEM, 7),
      /*15*/ insn(BPF_JMP | BPF_JEQ | BPF_K, 60, 0, 1),
      /*16*/ insn(BPF_RET | BPF_K, Allow),
      /*17*/ insn(BPF_JMP | BPF_JEQ | BPF_K, 9, 0, 7),
      /*18*/ insn(BPF_LD | BPF_W | BPF_ABS, 36), // args[2].hi
      /*19*/ insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 5),
      /*20*/ insn(BPF_LD | BPF_W | BPF_ABS, 32), // args[2].lo
      /*21*/ insn(BPF_ALU | BPF_SUB | BPF_K, 0x1000),
      /*22*/ insn(BPF_JMP | BPF_JGT | BPF_K, 0x1fff, 2, 0), // unsigned wrap covers lo < 0x1000
      /*23*/ insn(BPF_LD | BPF_IMM, Allow),
      /*24*/ insn(BPF_RET | BPF_A, 0),
      /*25*/ insn(BPF_RET | BPF_K, Err),
  };
  ASSERT_TRUE(checkSafety(f).empty());
  Verdict v = prove(f, p);
  EXPECT_TRUE(v.equivalent) << v.counterexample;
  EXPECT_EQ(v.constantActionSyscalls, (std::vector<int>{0, 1, 2, 3, 60}));
  // The kernel's emulator gives up at the `st` (insn 4): constant, but not cached.
  EXPECT_TRUE(v.kernelCachedSyscalls.empty());

  // Off by one at the top of the range: refused, confirmed.
  BpfProgram g = f;
  g[22].k = 0x2000;
  Verdict w = prove(g, p);
  expectConfirmedCounterexample(g, p, w);
  EXPECT_EQ(w.witness.nr, 9);
  EXPECT_EQ(w.witness.args[2], 0x3000u);
}

TEST(Equivalence, DivisionByZeroReturnsZero) {
  Policy p = simplePolicy({}, act(Action::KillThread)); // KILL_THREAD == 0
  BpfProgram f = {insn(BPF_LD | BPF_W | BPF_ABS, 4), insn(BPF_JMP | BPF_JEQ | BPF_K, Policy::AuditArchX86_64, 1, 0),
                  insn(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS), insn(BPF_LD | BPF_W | BPF_ABS, 0),
                  insn(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 2), insn(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 1, 0),
                  insn(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                  insn(BPF_LDX | BPF_IMM, 0), insn(BPF_ALU | BPF_DIV | BPF_X, 0), insn(BPF_RET | BPF_K, 77)};
  Verdict v = prove(f, p);
  EXPECT_TRUE(v.equivalent) << v.counterexample;
}

TEST(Equivalence, RefusesUnsafeFilter) {
  auto v = proveEquivalent({insn(BPF_LD | BPF_W | BPF_ABS, 3)}, simplePolicy({}));
  ASSERT_FALSE(static_cast<bool>(v));
  std::string msg = llvm::toString(v.takeError());
  EXPECT_NE(msg.find("kernel would refuse"), std::string::npos) << msg;
}

TEST(Equivalence, RefusesBadArgumentIndex) {
  Policy p = simplePolicy({1});
  ArgCondition c;
  c.arg = 6;
  p.allowed[0].alternatives.push_back({c});
  auto v = proveEquivalent({insn(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, p);
  ASSERT_FALSE(static_cast<bool>(v));
  EXPECT_NE(llvm::toString(v.takeError()).find("names argument 6"), std::string::npos);
}

// A constant filter against a policy: refusal names a concrete input.
TEST(Equivalence, AllowAllIsRefused) {
  Policy p = simplePolicy({0, 1});
  BpfProgram f = {insn(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  Verdict v = prove(f, p);
  expectConfirmedCounterexample(f, p, v);
  EXPECT_EQ(v.filterAction, SECCOMP_RET_ALLOW);
}

struct CrossCheck {
  int optimize;
  bool errnoDefault;
  bool conditions;
  int count;
};

// libseccomp generates the filters; the prover must say equivalent, and refuse deliberately wrong ones.
TEST(Equivalence, LibseccompCrossCheck) {
  std::mt19937_64 rng(20261123);
  int proven = 0, refused = 0;
  for (int i = 0; i < 24; ++i) {
    CrossCheck cc{i % 3, i % 2 == 0, i % 4 >= 2, 1 + static_cast<int>(rng() % 60)};
    Policy p = test::randomPolicy(rng, cc.count, 440, cc.conditions, cc.errnoDefault);
    SCOPED_TRACE("policy " + std::to_string(i) + " optimize " + std::to_string(cc.optimize) + " syscalls " +
                 std::to_string(p.allowed.size()));
    BpfProgram f = load(test::libseccompBytes(p, cc.optimize));
    ASSERT_TRUE(checkSafety(f).empty());
    Verdict v = prove(f, p);
    EXPECT_TRUE(v.equivalent) << v.counterexample << " filter 0x" << std::hex << v.filterAction << " policy 0x"
                              << v.policyAction;
    proven += v.equivalent;
    // Unconditional syscalls are constant-action; conditional ones are not.
    for (const SyscallRule &r : p.allowed) {
      bool constant = std::binary_search(v.constantActionSyscalls.begin(), v.constantActionSyscalls.end(), r.nr);
      EXPECT_EQ(constant, r.alternatives.empty()) << "nr " << r.nr;
      // libseccomp's filters are simple enough for the kernel's emulator: it caches exactly those.
      bool cached = std::binary_search(v.kernelCachedSyscalls.begin(), v.kernelCachedSyscalls.end(), r.nr);
      EXPECT_EQ(cached, constant) << "nr " << r.nr;
    }

    // One extra syscall.
    int extra;
    do
      extra = static_cast<int>(rng() % 440);
    while (std::any_of(p.allowed.begin(), p.allowed.end(), [&](const SyscallRule &r) { return r.nr == extra; }));
    BpfProgram fx = load(test::libseccompBytes(p, cc.optimize, extra));
    Verdict vx = prove(fx, p);
    expectConfirmedCounterexample(fx, p, vx);
    EXPECT_EQ(static_cast<uint32_t>(vx.witness.nr), static_cast<uint32_t>(extra));
    refused += !vx.equivalent;

    // One missing syscall.
    int missing = p.allowed[rng() % p.allowed.size()].nr;
    BpfProgram fm = load(test::libseccompBytes(p, cc.optimize, -1, missing));
    Verdict vm = prove(fm, p);
    expectConfirmedCounterexample(fm, p, vm);
    EXPECT_EQ(vm.witness.nr, missing);
    refused += !vm.equivalent;
  }
  std::printf("libseccomp cross-check: %d policies proven equivalent, %d wrong filters refused\n", proven, refused);
}

// The x32 and nr == -1 corners, and other architectures, with a kill-thread bad-arch action that differs
// from both the default and allow.
TEST(Equivalence, BadArchAndX32) {
  Policy p = simplePolicy({0, 1, 231});
  p.badArchAction = act(Action::KillThread);
  for (int opt = 0; opt <= 2; ++opt) {
    BpfProgram f = load(test::libseccompBytes(p, opt));
    Verdict v = prove(f, p);
    EXPECT_TRUE(v.equivalent) << v.counterexample;
  }
  // A filter that gives nr == -1 the bad-arch action (libseccomp's filter with its `jeq #-1` exception
  // removed) is refused at exactly that point.
  BpfProgram f = load(test::libseccompBytes(p, 0));
  bool patched = false;
  for (auto &in : f)
    if (in.code == (BPF_JMP | BPF_JEQ | BPF_K) && in.k == 0xffffffff) {
      in.jt = in.jf;
      patched = true;
    }
  ASSERT_TRUE(patched);
  Verdict v = prove(f, p);
  expectConfirmedCounterexample(f, p, v);
  EXPECT_EQ(static_cast<uint32_t>(v.witness.nr), 0xffffffffu);
  EXPECT_EQ(v.filterAction, SECCOMP_RET_KILL_THREAD);
  EXPECT_EQ(v.policyAction, SECCOMP_RET_ERRNO | 1);
}

TEST(Equivalence, TimeFor300Syscalls) {
  std::mt19937_64 rng(300);
  for (int opt : {0, 2}) {
    Policy p = test::randomPolicy(rng, 300, 450, false, true);
    BpfProgram f = load(test::libseccompBytes(p, opt));
    auto t0 = std::chrono::steady_clock::now();
    Verdict v = prove(f, p);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_TRUE(v.equivalent) << v.counterexample;
    EXPECT_EQ(v.constantActionSyscalls.size(), 300u);
    EXPECT_EQ(v.kernelCachedSyscalls.size(), 300u);
    std::printf("300-syscall policy, optimize %d, %zu instructions: verified in %.3f s (Verdict.seconds %.3f)\n",
                opt, f.size(), s, v.seconds);
    EXPECT_LT(s, 5.0); // goal < 1 s; generous bound for loaded CI machines
  }
}

// Mutation test: every mutant either fails Safety, is proven equivalent (and random testing finds no
// difference), or is refused with a counterexample that runBpf confirms.
TEST(Equivalence, Mutants) {
  std::mt19937_64 rng(4242);
  static const uint16_t opcodes[] = {
      BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM, BPF_LD | BPF_MEM,
      BPF_ST, BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_OR | BPF_X, BPF_ALU | BPF_NEG,
      BPF_ALU | BPF_DIV | BPF_X, BPF_ALU | BPF_RSH | BPF_K, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
      BPF_JMP | BPF_JA, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGE | BPF_K,
      BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JEQ | BPF_X, BPF_RET | BPF_K, BPF_RET | BPF_A,
      BPF_LD | BPF_B | BPF_ABS, BPF_ALU | BPF_MOD | BPF_K};
  std::vector<std::pair<Policy, BpfProgram>> bases;
  for (int i = 0; i < 12; ++i) {
    Policy p = test::randomPolicy(rng, 3 + static_cast<int>(rng() % 12), 100, i % 2 == 0, i % 3 != 0);
    bases.emplace_back(p, load(test::libseccompBytes(p, i % 3)));
  }
  int total = 0, unsafe = 0, equivalent = 0, refused = 0, missed = 0;
  double worst = 0, proofTime = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int m = 0; m < 1200; ++m) {
    const auto &[p, base] = bases[static_cast<size_t>(m) % bases.size()];
    BpfProgram f = base;
    int changes = 1 + static_cast<int>(rng() % 2);
    for (int c = 0; c < changes; ++c)
      test::mutateOnce(f, rng, opcodes);
    ++total;
    if (!checkSafety(f).empty()) {
      ++unsafe;
      continue;
    }
    auto r = proveEquivalent(f, p);
    ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
    worst = std::max(worst, r->seconds);
    proofTime += r->seconds;
    if (r->equivalent) {
      ++equivalent;
      // Claimed to preserve the meaning: random testing must not find a difference.
      bool differs = false;
      for (int s = 0; s < 300 && !differs; ++s) {
        seccomp_data d = test::randomData(rng, p);
        differs = runBpf(f, d).ret != p.decide(d).value();
        if (differs)
          ADD_FAILURE() << "mutant " << m << " proven equivalent but differs at " << describe(d);
      }
      missed += differs;
    } else {
      ++refused;
      expectConfirmedCounterexample(f, p, *r);
    }
  }
  int meaningChanging = refused + missed;
  std::printf("mutants: %d total, %d fail Safety, %d proven equivalent, %d refused with a confirmed "
              "counterexample; kill rate among meaning-changing safe mutants %d/%d = %.1f%%; slowest proof %.3f s, all proofs %.1f s of %.1f s\n",
              total, unsafe, equivalent, refused, refused, meaningChanging,
              meaningChanging ? 100.0 * refused / meaningChanging : 100.0, worst, proofTime,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_GE(total, 1000);
  EXPECT_EQ(missed, 0);
}

} // namespace
