// The gate's two halves together: every program extension-gen compiles must be proven by verify/, from
// one syscall to the whole x86-64 table, with and without argument conditions; and mutants of those
// programs that change their meaning must be refused with a counterexample that really differs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "analyzer/SyscallTable.h"
#include "extension-gen/Compiler.h"
#include "extension-gen/ManifestPolicy.h"
#include "tests/verify/SeccompHelpers.h"
#include "verify/Equivalence.h"
#include "verify/Safety.h"

using namespace bespoke;
using bespoke::test::act;

namespace {

std::vector<int> allNumbers() {
  std::vector<int> nrs;
  for (const SyscallEntry &e : x86_64Syscalls()) nrs.push_back(e.nr);
  std::sort(nrs.begin(), nrs.end());
  nrs.erase(std::unique(nrs.begin(), nrs.end()), nrs.end());
  return nrs;
}

// `count` syscalls of the x86-64 table, every k-th one (spread) or the first ones (contiguous).
Policy tablePolicy(size_t count, bool spread, Action def) {
  std::vector<int> all = allNumbers();
  Policy p;
  p.defaultAction = def;
  p.badArchAction = act(Action::KillProcess);
  size_t step = spread ? std::max<size_t>(1, all.size() / count) : 1;
  for (size_t i = 0; i < all.size() && p.allowed.size() < count; i += step) {
    SyscallRule r;
    r.nr = all[i];
    r.name = std::string(*syscallName(all[i]));
    p.allowed.push_back(r);
  }
  return p;
}

// Adds conditions to every `every`-th rule: Equal, MaskedEqual and InRange across the 32-bit halves.
void addConditions(Policy &p, size_t every, std::mt19937_64 &rng) {
  for (size_t i = 0; i < p.allowed.size(); i += every) {
    auto &alts = p.allowed[i].alternatives;
    ArgCondition eq{static_cast<uint8_t>(rng() % 6), ArgCondition::Equal, rng() % 2 ? rng() % 64 : rng(), 0, ~0ULL};
    ArgCondition masked{static_cast<uint8_t>(rng() % 6), ArgCondition::MaskedEqual, 0, 0, rng() % 2 ? 0xffULL : rng()};
    masked.a = rng() & masked.mask;
    uint64_t lo = rng() % 3 ? rng() % 0x200000000ULL : rng();
    uint64_t hi = lo + (rng() % 2 ? rng() % 0x100000000ULL : rng() % 100);
    if (hi < lo) hi = ~0ULL;
    ArgCondition range{static_cast<uint8_t>(rng() % 6), ArgCondition::InRange, lo, hi, ~0ULL};
    switch (i % 3) {
    case 0: alts = {{eq}}; break;
    case 1: alts = {{masked, range}}; break;
    default: alts = {{range}, {eq, masked}}; break;
    }
  }
}

std::vector<sock_filter> compiled(const Policy &p) {
  auto prog = compilePolicy(p);
  if (!prog) {
    ADD_FAILURE() << llvm::toString(prog.takeError());
    return {};
  }
  return *prog;
}

TEST(CompiledFilters, EveryCompiledProgramIsProven) {
  std::mt19937_64 rng(2026);
  const Action defaults[] = {act(Action::KillProcess), act(Action::Errno, 1), act(Action::KillThread),
                             act(Action::Trap), act(Action::Log), act(Action::Errno, 4095)};
  size_t proofs = 0, d = 0;
  double slowest = 0;
  for (size_t n : {1, 2, 3, 5, 10, 30, 64, 100, 200, 300, 1000}) {
    for (bool spread : {false, true}) {
      for (size_t every : {0, 4, 1}) { // no conditions, a quarter conditional, all conditional
        if (every == 1 && n > 100) continue; // larger all-conditional programs exceed 4096 instructions
        Policy p = tablePolicy(n, spread, defaults[d++ % std::size(defaults)]);
        if (every) addConditions(p, every, rng);
        SCOPED_TRACE("n=" + std::to_string(p.allowed.size()) + (spread ? " spread" : " contiguous") +
                     " every=" + std::to_string(every) + " default=" + p.defaultAction.name());
        std::vector<sock_filter> prog = compiled(p);
        ASSERT_FALSE(prog.empty());
        EXPECT_TRUE(checkSafety(prog).empty());
        auto v = proveEquivalent(prog, p);
        ASSERT_TRUE(static_cast<bool>(v)) << llvm::toString(v.takeError());
        EXPECT_TRUE(v->equivalent) << v->counterexample;
        ++proofs;
        if (v->seconds > 0.3)
          std::printf("[ info ] slow: n=%zu %s every=%zu: %zu insns, %.3f s\n", p.allowed.size(),
                      spread ? "spread" : "contiguous", every, prog.size(), v->seconds);
        slowest = std::max(slowest, v->seconds);
        // Unconditional syscalls are decided from nr and arch alone, and the kernel caches them.
        size_t unconditional = 0;
        for (const SyscallRule &r : p.allowed) {
          if (!r.alternatives.empty()) continue;
          ++unconditional;
          EXPECT_TRUE(std::binary_search(v->kernelCachedSyscalls.begin(), v->kernelCachedSyscalls.end(), r.nr))
              << r.name << " is not in the kernel's constant-action cache";
        }
        EXPECT_EQ(v->kernelCachedSyscalls.size(), unconditional);
      }
    }
  }
  std::printf("[ info ] %zu compiled programs proven; slowest proof %.3f s\n", proofs, slowest);
}

// What became of a program's mutants.
struct MutantCensus {
  int total = 0, unsafe = 0, equivalent = 0, refused = 0, missed = 0;
};

// Mutant m of a program for policy p is unsafe, proven equivalent (300 random inputs must agree, else it
// counts as missed), or refused with a counterexample that the interpreter runs to the filter's action and
// the policy's reference semantics to the other.
void classifyMutant(const std::vector<sock_filter> &f, const Policy &p, std::mt19937_64 &rng, int m,
                    MutantCensus &c) {
  ++c.total;
  if (!checkSafety(f).empty()) {
    ++c.unsafe;
    return;
  }
  auto r = proveEquivalent(f, p);
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  if (r->equivalent) {
    ++c.equivalent;
    bool differs = false;
    for (int s = 0; s < 300 && !differs; ++s) {
      seccomp_data d = test::randomData(rng, p);
      differs = runBpf(f, d).ret != p.decide(d).value();
      if (differs) ADD_FAILURE() << "mutant " << m << " proven equivalent but differs at " << describe(d);
    }
    c.missed += differs;
    return;
  }
  ++c.refused;
  const seccomp_data &w = r->witness;
  BpfRun run = runBpf(f, w);
  EXPECT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.ret, r->filterAction) << r->counterexample;
  EXPECT_EQ(p.decide(w).value(), r->policyAction) << r->counterexample;
  EXPECT_NE(r->filterAction, r->policyAction) << r->counterexample;
}

// 1000+ mutants of compiled programs: each is unsafe, or proven equivalent (and random testing agrees),
// or refused with a counterexample that the interpreter confirms.
TEST(CompiledFilters, MutantsAreKilled) {
  std::mt19937_64 rng(77);
  static const uint16_t opcodes[] = {
      BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM, BPF_ALU | BPF_AND | BPF_K,
      BPF_ALU | BPF_ADD | BPF_K, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA, BPF_JMP | BPF_JA,
      BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JSET | BPF_K,
      BPF_JMP | BPF_JEQ | BPF_X, BPF_RET | BPF_K, BPF_RET | BPF_A, BPF_LD | BPF_H | BPF_ABS};
  std::vector<std::pair<Policy, std::vector<sock_filter>>> bases;
  for (int i = 0; i < 10; ++i) {
    Policy p = tablePolicy(3 + rng() % 25, i % 2, i % 3 ? act(Action::Errno, 1) : act(Action::KillProcess));
    if (i % 4 != 3) addConditions(p, 2 + rng() % 3, rng);
    bases.emplace_back(p, compiled(p));
  }
  MutantCensus c;
  auto t0 = std::chrono::steady_clock::now();
  for (int m = 0; m < 1050; ++m) {
    const auto &[p, base] = bases[static_cast<size_t>(m) % bases.size()];
    std::vector<sock_filter> f = base;
    test::mutateOnce(f, rng, opcodes);
    classifyMutant(f, p, rng, m, c);
  }
  const int total = c.total, unsafe = c.unsafe, equivalent = c.equivalent, refused = c.refused, missed = c.missed;
  int changing = refused + missed;
  std::printf("[ info ] mutants of compiled programs: %d total, %d fail Safety, %d proven equivalent, %d refused "
              "with a confirmed counterexample; kill rate %d/%d = %.1f%%; %.1f s\n",
              total, unsafe, equivalent, refused, refused, changing, changing ? 100.0 * refused / changing : 100.0,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  EXPECT_GE(total, 1000);
  EXPECT_GT(refused, 300);
  EXPECT_EQ(missed, 0);
}

// ---------------------------------------------------------------------------------------------------
// Policies from manifests with argument facts (enumerations, socket type, flags, clone3 -> ENOSYS).

SyscallUse use(const std::string &name, std::map<std::string, ArgFact> facts = {}) {
  SyscallUse u;
  u.name = name;
  u.nr = *syscallNumber(name);
  u.args = std::move(facts);
  return u;
}

ArgFact vals(std::vector<std::string> v) { return ArgFact::of(std::move(v)); }

// A manifest with facts on every recorded argument kind, plus `extra` unconditional syscalls.
Manifest factsManifest(size_t extra) {
  Manifest m;
  m.footprint.syscalls = {
      use("socket", {{"domain", vals({"1", "2", "10"})}, {"type", vals({"0x1", "0x2"})}, {"protocol", vals({"0"})}}),
      use("socketpair", {{"domain", vals({"1"})}, {"type", vals({"0x5"})}}),
      use("ioctl", {{"request", vals({"0x5401", "0x5413", "0x541b"})}}),
      use("fcntl", {{"cmd", vals({"1", "2", "3", "4"})}}),
      use("prctl", {{"option", vals({"15", "38"})}}),
      use("clone", {{"flags", vals({"0x1200011", "0x3d0f00"})}}),
      use("clone3"),
      use("mmap", {{"prot", vals({"0x1", "0x3"})}, {"flags", vals({"0x22", "0x2", "0x812"})}}),
      use("mprotect", {{"prot", vals({"0x0", "0x1"})}}),
      use("openat", {{"flags", vals({"0x0", "0x80000", "0x241"})}}),
      use("personality", {{"persona", vals({"-1"})}}),
      use("setsockopt", {{"level", vals({"1", "6"})}, {"optname", vals({"2", "9", "13"})}}),
      use("madvise", {{"advice", vals({"4"})}}),
      use("open", {{"flags", ArgFact::anyOf()}}),
  };
  std::vector<int> all = allNumbers();
  for (size_t i = 0; i < all.size() && extra; i += 3) {
    std::string name(*syscallName(all[i]));
    if (std::any_of(m.footprint.syscalls.begin(), m.footprint.syscalls.end(),
                    [&](const SyscallUse &u) { return u.name == name; }))
      continue;
    m.footprint.syscalls.push_back(use(name));
    --extra;
  }
  return m;
}

Policy factsPolicy(size_t extra, Action def) {
  auto p = policyFromManifest(factsManifest(extra), def, PolicyOptions{true, true}); // with --clone3-enosys
  if (!p) {
    ADD_FAILURE() << llvm::toString(p.takeError());
    return {};
  }
  return *p;
}

const SyscallRule *ruleNamed(const Policy &p, const std::string &name) {
  for (const SyscallRule &r : p.allowed)
    if (r.name == name) return &r;
  return nullptr;
}

TEST(CompiledFilters, ArgumentConditionedPoliciesAreProven) {
  for (size_t extra : {0, 10, 100}) {
    for (Action def : {act(Action::KillProcess), act(Action::Errno, 1), act(Action::Log)}) {
      Policy p = factsPolicy(extra, def);
      SCOPED_TRACE("extra=" + std::to_string(extra) + " default=" + def.name());
      ASSERT_EQ(ruleNamed(p, "clone3")->action, act(Action::Errno, 38));
      std::vector<sock_filter> prog = compiled(p);
      auto v = proveEquivalent(prog, p);
      ASSERT_TRUE(static_cast<bool>(v)) << llvm::toString(v.takeError());
      EXPECT_TRUE(v->equivalent) << v->counterexample;
      // Unconditional allows stay in the kernel's cache; clone3's ENOSYS is constant but not an allow.
      std::vector<int> cacheable, conditional;
      for (const SyscallRule &r : p.allowed) {
        if (r.unconditional() && r.action.kind == Action::Allow) cacheable.push_back(r.nr);
        if (!r.unconditional()) conditional.push_back(r.nr);
      }
      EXPECT_EQ(v->kernelCachedSyscalls, cacheable);
      EXPECT_EQ(conditional.size(), 12u); // every syscall with value facts except open (any)
      EXPECT_TRUE(std::binary_search(v->constantActionSyscalls.begin(), v->constantActionSyscalls.end(),
                                     ruleNamed(p, "clone3")->nr));
      for (int nr : conditional)
        EXPECT_FALSE(std::binary_search(v->constantActionSyscalls.begin(), v->constantActionSyscalls.end(), nr)) << nr;
    }
  }
}

// The proof sees through the argument checks: a policy that differs in one value or in clone3's action
// is refused, with a counterexample on exactly that syscall.
TEST(CompiledFilters, ArgumentPolicyDifferencesAreFound) {
  Policy p = factsPolicy(10, act(Action::Errno, 1));
  std::vector<sock_filter> prog = compiled(p);
  auto differs = [&](const Policy &other, const std::string &name) {
    auto v = proveEquivalent(prog, other);
    ASSERT_TRUE(static_cast<bool>(v)) << llvm::toString(v.takeError());
    ASSERT_FALSE(v->equivalent) << name;
    EXPECT_EQ(static_cast<uint32_t>(v->witness.nr), static_cast<uint32_t>(*syscallNumber(name))) << v->counterexample;
    EXPECT_EQ(runBpf(prog, v->witness).ret, v->filterAction);
    EXPECT_EQ(other.decide(v->witness).value(), v->policyAction);
    EXPECT_NE(v->filterAction, v->policyAction);
  };
  Policy allowClone3 = p;
  const_cast<SyscallRule *>(ruleNamed(allowClone3, "clone3"))->action = act(Action::Allow);
  differs(allowClone3, "clone3");
  Policy moreDomains = p;
  auto *socket = const_cast<SyscallRule *>(ruleNamed(moreDomains, "socket"));
  std::vector<ArgCondition> alt = socket->alternatives[0];
  alt[0].a = 16; // AF_NETLINK
  socket->alternatives.push_back(alt);
  differs(moreDomains, "socket");
  Policy fullWord = p; // a 64-bit comparison instead of the low word
  auto *ioctl = const_cast<SyscallRule *>(ruleNamed(fullWord, "ioctl"));
  for (auto &a : ioctl->alternatives) a[0].mask = ~0ULL;
  differs(fullWord, "ioctl");
  Policy looser = p; // CLONE_NEWUSER allowed
  auto *clone = const_cast<SyscallRule *>(ruleNamed(looser, "clone"));
  clone->alternatives[0][0].mask &= ~0x10000000ULL;
  differs(looser, "clone");
}

// Random mutants of argument-conditioned programs: each unsafe, proven equivalent (random testing agrees)
// or refused with a counterexample the interpreter and Policy::decide confirm.
TEST(CompiledFilters, ArgumentMutantsAreKilled) {
  std::mt19937_64 rng(4242);
  static const uint16_t opcodes[] = {BPF_LD | BPF_W | BPF_ABS, BPF_ALU | BPF_AND | BPF_K, BPF_JMP | BPF_JA,
                                     BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGE | BPF_K,
                                     BPF_JMP | BPF_JSET | BPF_K, BPF_RET | BPF_K};
  Policy p = factsPolicy(5, act(Action::Errno, 1));
  std::vector<sock_filter> base = compiled(p);
  MutantCensus c;
  for (int m = 0; m < 300; ++m) {
    std::vector<sock_filter> f = base;
    test::mutateOnce(f, rng, opcodes);
    classifyMutant(f, p, rng, m, c);
  }
  const int unsafe = c.unsafe, equivalent = c.equivalent, refused = c.refused;
  EXPECT_EQ(c.missed, 0);
  std::printf("[ info ] argument-conditioned mutants: %d unsafe, %d proven equivalent, %d refused\n", unsafe,
              equivalent, refused);
  EXPECT_GT(refused, 100);
}

} // namespace

