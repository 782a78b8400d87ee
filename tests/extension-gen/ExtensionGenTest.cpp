// Tests of the seccomp-BPF compiler: actions, the reference decision, compiled programs checked against
// Policy::decide with the interpreter over many seccomp_data values, program structure (lengths, jump
// ranges, no argument loads on unconditional paths, trampolines, the 4096 limit, determinism), the
// renderings. Live filters and the libseccomp differential: LiveFilterTest.cpp.

#include "extension-gen/Compiler.h"
#include "tests/extension-gen/PolicyFixtures.h"
#include "extension-gen/ManifestPolicy.h"
#include "seccomp/Interpreter.h"
#include "extension-gen/Render.h"

#include "analyzer/SyscallTable.h"

#include <gtest/gtest.h>

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <iostream>
#include <random>
#include <sstream>

using namespace bespoke;
using namespace bespoke::policytest;

// ----------------------------------------------------------------------------------------------------
// Actions and the reference decision

TEST(Action, Values) {
  EXPECT_EQ((Action{Action::KillProcess, 0}.value()), 0x80000000U);
  EXPECT_EQ((Action{Action::KillThread, 0}.value()), 0U);
  EXPECT_EQ((Action{Action::Trap, 0}.value()), 0x00030000U);
  EXPECT_EQ((Action{Action::Errno, 13}.value()), 0x0005000DU);
  EXPECT_EQ((Action{Action::Trace, 7}.value()), 0x7FF00007U);
  EXPECT_EQ((Action{Action::Log, 0}.value()), 0x7FFC0000U);
  EXPECT_EQ((Action{Action::Allow, 0}.value()), 0x7FFF0000U);
  for (Action a : {Action{Action::KillProcess, 0}, Action{Action::KillThread, 0}, Action{Action::Trap, 0},
                   Action{Action::Errno, 4095}, Action{Action::Trace, 9}, Action{Action::Log, 0},
                   Action{Action::Allow, 0}}) {
    auto back = Action::fromValue(a.value());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, a);
    auto parsed = parseAction(a.name());
    if (a.kind == Action::Trace)
      continue;
    ASSERT_TRUE(parsed) << a.name();
    EXPECT_EQ(*parsed, a);
  }
  EXPECT_FALSE(Action::fromValue(0x80000001U));
  EXPECT_FALSE(Action::fromValue(0x12340000U));
  EXPECT_EQ((Action{Action::Errno, 1}.name()), "errno:1");
}

TEST(Action, Parse) {
  EXPECT_EQ(*parseAction("errno:0"), (Action{Action::Errno, 0}));
  EXPECT_EQ(*parseAction("errno:4095"), (Action{Action::Errno, 4095}));
  for (const char *bad : {"", "errno", "errno:", "errno:4096", "errno:-1", "errno:1x", "errno:+1", "kill",
                          "Allow", "trace", "errno:99999"})
    EXPECT_FALSE(parseAction(bad)) << bad;
}

TEST(Policy, Decide) {
  Policy p = unconditionalPolicy({0, 1});
  SyscallRule r;
  r.nr = 2;
  r.name = "open";
  r.alternatives = {{eq(0, 5), range(1, 10, 20)}, {masked(2, 0xF, 3)}};
  p.allowed.push_back(r);
  uint64_t args[6] = {};
  EXPECT_EQ(p.decide(0, Policy::AuditArchX86_64, args), kAllow);
  EXPECT_EQ(p.decide(3, Policy::AuditArchX86_64, args), kEperm);
  EXPECT_EQ(p.decide(0, AUDIT_ARCH_I386, args), kKill);
  EXPECT_EQ(p.decide(0x40000000U, Policy::AuditArchX86_64, args), kKill);
  EXPECT_EQ(p.decide(2, Policy::AuditArchX86_64, args), kEperm);
  args[0] = 5;
  args[1] = 15;
  EXPECT_EQ(p.decide(2, Policy::AuditArchX86_64, args), kAllow);
  args[1] = 21;
  EXPECT_EQ(p.decide(2, Policy::AuditArchX86_64, args), kEperm);
  args[2] = 0x13;
  EXPECT_EQ(p.decide(2, Policy::AuditArchX86_64, args), kAllow);
}

TEST(Policy, FromManifest) {
  Manifest m;
  for (const char *n : {"write", "read", "exit_group"}) {
    SyscallUse u;
    u.name = n;
    u.nr = *syscallNumber(n);
    m.footprint.syscalls.push_back(u);
  }
  auto p = policyFromManifest(m, kEperm);
  ASSERT_TRUE(static_cast<bool>(p)) << llvm::toString(p.takeError());
  // The three, plus the syscalls the kernel makes a task issue (added when a manifest lacks them), by nr.
  std::vector<std::string> names;
  for (const SyscallRule &r : p->allowed) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"read", "write", "gettimeofday", "restart_syscall", "clock_gettime",
                                             "clock_getres", "exit_group"}));
  EXPECT_EQ(p->allowed[6].nr, 231);
  EXPECT_TRUE(p->allowed[0].alternatives.empty());
  EXPECT_EQ(p->defaultAction, kEperm);
  EXPECT_EQ(p->badArchAction, kKill);

  SyscallUse bad;
  bad.name = "no_such_syscall";
  m.footprint.syscalls.push_back(bad);
  auto e = policyFromManifest(m, kEperm);
  ASSERT_FALSE(static_cast<bool>(e));
  EXPECT_NE(llvm::toString(e.takeError()).find("no_such_syscall"), std::string::npos);
}

// ----------------------------------------------------------------------------------------------------
// Compiled programs

TEST(Compiler, UnconditionalPoliciesMatchDecide) {
  for (size_t n : {size_t(0), size_t(1), size_t(2), size_t(10), size_t(100), x86_64Syscalls().size()}) {
    for (Action def : {kEperm, kKill, Action{Action::Trap, 0}, Action{Action::Log, 0}, kAllow}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " default=" + def.name());
      Policy p = unconditionalPolicy(spread(n), def);
      std::vector<sock_filter> prog = compileOk(p);
      checkStructure(prog);
      checkAgainstDecide(prog, p, n * 31 + def.value());
    }
  }
}

TEST(Compiler, ConditionalPoliciesMatchDecide) {
  for (size_t n : {size_t(1), size_t(2), size_t(10), size_t(100)}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    Policy p = conditionalPolicy(spread(n));
    if (n == 1) { // make the single rule conditional
      p.allowed[0].alternatives = {{range(0, 0xFFFFFFFFULL, 0x100000001ULL)}};
    }
    std::vector<sock_filter> prog = compileOk(p);
    checkStructure(prog);
    checkAgainstDecide(prog, p, 1000 + n);
  }
}

TEST(Compiler, ConditionalEdgeCases) {
  Policy p = unconditionalPolicy({0, 1, 2, 3, 4, 5, 6, 7});
  p.allowed[0].alternatives = {{masked(0, 0xF, 0x10)}};                    // never holds
  p.allowed[1].alternatives = {{range(1, 20, 10)}};                          // empty range
  p.allowed[2].alternatives = {{range(2, 0, ~0ULL)}, {eq(0, 3)}};            // always holds
  p.allowed[3].alternatives = {{masked(3, 0, 0)}};                           // mask 0: always
  p.allowed[4].alternatives = {{}, {eq(0, 1)}};                              // an empty alternative
  p.allowed[5].alternatives = {{masked(5, 0xFFFFFFFF00000000ULL, 0x500000000ULL)}}; // high word only
  p.allowed[6].alternatives = {{range(4, 0x1FFFFFFFFULL, 0x1FFFFFFFFULL)}};  // a one-value range
  p.allowed[7].alternatives = {{eq(0, 7), eq(0, 8)}};                        // contradiction
  std::vector<sock_filter> prog = compileOk(p);
  checkStructure(prog);
  checkAgainstDecide(prog, p, 77);
}

// A rule's own action (clone3 -> errno:ENOSYS): unconditional and conditional, next to allowed neighbours
// and to each other (adjacent ranges with one action merge).
TEST(Compiler, RuleActions) {
  const Action enosys{Action::Errno, 38};
  Policy p = unconditionalPolicy({10, 11, 12, 13, 40, 41, 435});
  p.allowed[1].action = enosys;                              // 11: between allowed 10 and 12
  p.allowed[2].action = enosys;                              // 12: merges with 11
  p.allowed[4].action = enosys;                              // 40: conditional
  p.allowed[4].alternatives = {{masked(0, 0xffffffff, 2)}};
  p.allowed[6].action = Action{Action::Trap, 0};             // 435
  uint64_t args[6] = {2};
  EXPECT_EQ(p.decide(40, Policy::AuditArchX86_64, args), enosys);
  EXPECT_EQ(p.decide(11, Policy::AuditArchX86_64, args), enosys);
  args[0] = 3;
  EXPECT_EQ(p.decide(40, Policy::AuditArchX86_64, args), kEperm);
  for (Action def : {kEperm, kKill, enosys}) {
    p.defaultAction = def;
    std::vector<sock_filter> prog = compileOk(p);
    checkStructure(prog);
    checkAgainstDecide(prog, p, 78);
  }
}

TEST(Compiler, AllSyscallsAllConditional) {
  // Every syscall conditional: a big program, exercising long-jump trampolines.
  Policy p = unconditionalPolicy(allNumbers());
  for (size_t i = 0; i < p.allowed.size(); ++i)
    p.allowed[i].alternatives = {{eq(0, i), eq(1, 0x100000000ULL + i)}};
  std::vector<sock_filter> prog = compileOk(p);
  checkStructure(prog);
  size_t ja = std::count_if(prog.begin(), prog.end(),
                            [](const sock_filter &f) { return f.code == (BPF_JMP | BPF_JA); });
  EXPECT_GT(ja, 0u) << "expected long-jump trampolines in a " << prog.size() << "-instruction program";
  std::cout << "[ info ] all-conditional policy: " << prog.size() << " instructions, " << ja
            << " trampolines\n";
  checkAgainstDecide(prog, p, 4242);
  // Satisfying arguments for every rule.
  for (size_t i = 0; i < p.allowed.size(); ++i) {
    uint64_t args[6] = {i, 0x100000000ULL + i, 0, 0, 0, 0};
    BpfRun run = runBpf(prog, static_cast<uint32_t>(p.allowed[i].nr), Policy::AuditArchX86_64, 0, args);
    ASSERT_TRUE(run.ok) << run.error;
    EXPECT_EQ(run.ret, kAllow.value()) << p.allowed[i].name;
  }
}

TEST(Compiler, RandomPolicies) {
  std::mt19937_64 rng(2026);
  auto value = [&]() -> uint64_t {
    switch (rng() % 5) {
    case 0: return rng();
    case 1: return rng() % 16;
    case 2: return 0xFFFFFFFFULL + rng() % 3 - 1;
    case 3: return (rng() % 4) << 32 | (rng() % 4);
    default: return ~0ULL - rng() % 3;
    }
  };
  size_t compiled = 0, tooLarge = 0, withTrampolines = 0;
  for (int round = 0; round < 150; ++round) {
    std::vector<int> nrs;
    for (int nr = 0; nr < 460; ++nr)
      if (rng() % 100 < (round % 3 == 0 ? 80u : 8u))
        nrs.push_back(nr);
    const Action defaults[] = {kEperm, kKill, Action{Action::Trap, 0}, Action{Action::Errno, 4095},
                               Action{Action::Trace, 3}, kAllow};
    Policy p = unconditionalPolicy(nrs, defaults[rng() % 6]);
    if (rng() % 4 == 0)
      p.badArchAction = Action{Action::KillThread, 0};
    for (SyscallRule &r : p.allowed) {
      if (rng() % 4 != 0)
        continue;
      size_t alts = 1 + rng() % 3;
      for (size_t a = 0; a < alts; ++a) {
        std::vector<ArgCondition> alt;
        size_t conds = rng() % 3;
        for (size_t c = 0; c < conds; ++c) {
          uint8_t arg = static_cast<uint8_t>(rng() % 6);
          switch (rng() % 3) {
          case 0: alt.push_back(eq(arg, value())); break;
          case 1: {
            uint64_t mask = value();
            alt.push_back(masked(arg, mask, rng() % 4 ? value() & mask : value()));
            break;
          }
          default: {
            uint64_t x = value(), y = value();
            alt.push_back(range(arg, std::min(x, y), rng() % 8 ? std::max(x, y) : std::min(x, y) - 1));
          }
          }
        }
        r.alternatives.push_back(alt);
      }
    }
    auto prog = compilePolicy(p);
    if (!prog) {
      std::string msg = llvm::toString(prog.takeError());
      ASSERT_NE(msg.find("more than the kernel's 4096"), std::string::npos) << msg;
      ++tooLarge;
      continue;
    }
    ++compiled;
    if (std::any_of(prog->begin(), prog->end(), [](const sock_filter &f) { return f.code == (BPF_JMP | BPF_JA); }))
      ++withTrampolines;
    SCOPED_TRACE("round " + std::to_string(round));
    checkStructure(*prog);
    std::vector<uint64_t> bounds = boundaryValues(p);
    const uint64_t zero[6] = {};
    for (uint32_t nr = 0; nr < 470; ++nr) {
      for (int t = 0; t < 40; ++t) {
        uint64_t args[6];
        for (uint64_t &a : args)
          a = t == 0 ? 0 : (rng() % 4 ? bounds[rng() % bounds.size()] : rng());
        BpfRun run = runBpf(*prog, nr, Policy::AuditArchX86_64, 0, t == 0 ? zero : args);
        ASSERT_TRUE(run.ok) << run.error;
        ASSERT_EQ(run.ret, p.decide(nr, Policy::AuditArchX86_64, t == 0 ? zero : args).value()) << "nr " << nr;
      }
    }
    for (uint32_t nr : {0x40000000U, 0x40000001U, 0xFFFFFFFEU})
      ASSERT_EQ(runBpf(*prog, nr, Policy::AuditArchX86_64, 0, zero).ret, p.badArchAction.value());
    // nr == -1 (a tracer's skip) is not x32: the default action, as libseccomp does.
    ASSERT_EQ(runBpf(*prog, 0xFFFFFFFFU, Policy::AuditArchX86_64, 0, zero).ret, p.defaultAction.value());
    ASSERT_EQ(p.decide(0xFFFFFFFFU, Policy::AuditArchX86_64, zero), p.defaultAction);
    ASSERT_EQ(runBpf(*prog, 1, AUDIT_ARCH_I386, 0, zero).ret, p.badArchAction.value());
  }
  std::cout << "[ info ] random policies: " << compiled << " compiled (" << withTrampolines
            << " with trampolines), " << tooLarge << " too large\n";
  EXPECT_GT(compiled, 100u);
}

TEST(Compiler, UnconditionalPathsLoadOnlyNrAndArch) {
  Policy p = conditionalPolicy(allNumbers());
  std::vector<sock_filter> prog = compileOk(p);
  const uint64_t args[6] = {1, 2, 3, 4, 5, 6};
  for (uint32_t nr = 0; nr <= 500; ++nr) {
    bool conditional = false;
    for (const SyscallRule &r : p.allowed)
      if (static_cast<uint32_t>(r.nr) == nr && !r.alternatives.empty())
        conditional = true;
    BpfRun run = runBpf(prog, nr, Policy::AuditArchX86_64, 0, args);
    ASSERT_TRUE(run.ok);
    if (!conditional) {
      EXPECT_EQ(run.loadedWords & ~0x3u, 0u) << "nr " << nr << " loads beyond nr/arch";
    }
    EXPECT_EQ(run.loadedWords & 0x3u, 0x3u);
  }
}

TEST(Compiler, PathLengths) {
  for (size_t n : {size_t(1), size_t(2), size_t(10), size_t(100), x86_64Syscalls().size()}) {
    Policy p = unconditionalPolicy(spread(n));
    std::vector<sock_filter> prog = compileOk(p);
    PathStats s = pathLengths(prog, p);
    size_t ranges = rangeCount(p);
    EXPECT_EQ(s.syscalls, n);
    EXPECT_LE(s.worst, ceilLog2(ranges) + 4) << n << " syscalls, " << ranges << " ranges";
    std::cout << "[ info ] " << n << " syscalls: " << prog.size() << " instructions, " << ranges
              << " ranges, worst path " << s.worst << ", mean path " << s.mean << "\n";
    RecordProperty("insns_" + std::to_string(n), static_cast<int>(prog.size()));
    RecordProperty("worst_" + std::to_string(n), static_cast<int>(s.worst));
  }
}

TEST(Compiler, MixedPolicyPaths) {
  // Conditional syscalls' checks must not lengthen the unconditional syscalls' paths much.
  for (size_t n : {size_t(10), size_t(100), x86_64Syscalls().size()}) {
    Policy p = conditionalPolicy(spread(n));
    std::vector<sock_filter> prog = compileOk(p);
    Policy uncond = p, cond = p;
    uncond.allowed.clear();
    cond.allowed.clear();
    for (const SyscallRule &r : p.allowed)
      (r.alternatives.empty() ? uncond : cond).allowed.push_back(r);
    PathStats su = pathLengths(prog, uncond), sc = pathLengths(prog, cond);
    std::cout << "[ info ] mixed " << n << " syscalls (" << cond.allowed.size() << " conditional): "
              << prog.size() << " instructions, " << rangeCount(p) << " ranges; unconditional worst "
              << su.worst << " mean " << su.mean << "; conditional (zero args) worst " << sc.worst
              << " mean " << sc.mean << "\n";
    EXPECT_LE(su.worst, ceilLog2(rangeCount(p)) + 4);
  }
}

TEST(Compiler, TooLarge) {
  Policy p;
  p.defaultAction = kEperm;
  p.badArchAction = kKill;
  for (int nr = 0; nr < 400; ++nr) {
    SyscallRule r;
    r.nr = nr;
    r.name = "nr" + std::to_string(nr);
    for (int a = 0; a < 20; ++a)
      r.alternatives.push_back({eq(0, static_cast<uint64_t>(a))});
    p.allowed.push_back(r);
  }
  auto prog = compilePolicy(p);
  ASSERT_FALSE(static_cast<bool>(prog));
  std::string msg = llvm::toString(prog.takeError());
  EXPECT_NE(msg.find("instructions, more than the kernel's 4096"), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("policy needs ", 0), 0u) << msg;
}

TEST(Compiler, MalformedPolicies) {
  Policy p = unconditionalPolicy({5, 3});
  EXPECT_FALSE(static_cast<bool>(compilePolicy(p)));
  consumeError(compilePolicy(p).takeError());
  p = unconditionalPolicy({0x40000000});
  auto e = compilePolicy(p);
  EXPECT_FALSE(static_cast<bool>(e));
  consumeError(e.takeError());
  p = unconditionalPolicy({1});
  p.allowed[0].alternatives = {{eq(6, 0)}};
  auto e2 = compilePolicy(p);
  EXPECT_FALSE(static_cast<bool>(e2));
  consumeError(e2.takeError());
  consumeError(compilePolicy(unconditionalPolicy({5, 3})).takeError());
}

TEST(Compiler, Deterministic) {
  Policy p = conditionalPolicy(allNumbers());
  std::string a = writeBpf(compileOk(p)), b = writeBpf(compileOk(p));
  EXPECT_EQ(a, b);
  Policy q = unconditionalPolicy(spread(100));
  EXPECT_EQ(writeBpf(compileOk(q)), writeBpf(compileOk(q)));
}

// ----------------------------------------------------------------------------------------------------
// Renderings

TEST(Render, Bpf) {
  Policy p = unconditionalPolicy({0, 1, 60, 231});
  std::vector<sock_filter> prog = compileOk(p);
  std::string bytes = writeBpf(prog);
  ASSERT_EQ(bytes.size(), 8 * prog.size());
  // First instruction: ld [4] = code 0x0020, jt 0, jf 0, k 4, little-endian.
  const std::string first("\x20\x00\x00\x00\x04\x00\x00\x00", 8);
  EXPECT_EQ(bytes.substr(0, 8), first);
  EXPECT_EQ(std::memcmp(bytes.data(), prog.data(), bytes.size()), 0); // this host is little-endian
}

TEST(Render, CHeader) {
  Policy p = conditionalPolicy(spread(10));
  std::vector<sock_filter> prog = compileOk(p);
  std::string h = renderCHeader(prog, p, "my-app");
  EXPECT_NE(h.find("static const struct sock_filter my_app[] = {"), std::string::npos) << h;
  EXPECT_NE(h.find("static const struct sock_fprog my_app_prog"), std::string::npos);
  EXPECT_NE(h.find("#include <linux/filter.h>"), std::string::npos);
  EXPECT_NE(h.find(std::to_string(prog.size()) + " instructions"), std::string::npos);
  EXPECT_EQ(static_cast<size_t>(std::count(h.begin(), h.end(), '{')), prog.size() + 2);
  EXPECT_EQ(h, renderCHeader(prog, p, "my-app"));
}

TEST(Render, CHeaderCompiles) {
  Policy p = unconditionalPolicy(spread(10));
  std::string h = renderCHeader(compileOk(p), p, "demo");
  std::string dir = ::testing::TempDir();
  std::string src = dir + "/eg_header_test.c";
  {
    FILE *f = fopen(src.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string c = h + "\nint main(void) { return demo_prog.len == sizeof(demo) / sizeof(demo[0]) ? 0 : 1; }\n";
    fwrite(c.data(), 1, c.size(), f);
    fclose(f);
  }
  if (system("command -v cc >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no C compiler";
  std::string cmd = "cc -Wall -Werror -o " + dir + "/eg_header_test " + src + " && " + dir + "/eg_header_test";
  EXPECT_EQ(system(cmd.c_str()), 0);
}

TEST(Render, OciJson) {
  Policy p = unconditionalPolicy({0, 1, 60, 231});
  p.allowed[1].alternatives = {{eq(0, 1)}, {masked(2, 0xF0, 0x20), range(1, 0xFFFFFFFFULL, 0x100000001ULL)}};
  std::string j = renderOciJson(p);
  EXPECT_NE(j.find("\"defaultAction\": \"SCMP_ACT_ERRNO\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"defaultErrnoRet\": 1"), std::string::npos);
  EXPECT_NE(j.find("\"architectures\": [\"SCMP_ARCH_X86_64\"]"), std::string::npos);
  EXPECT_NE(j.find("\"names\": [\"exit\", \"exit_group\", \"read\"]"), std::string::npos) << j;
  EXPECT_NE(j.find("\"names\": [\"write\"]"), std::string::npos);
  EXPECT_NE(j.find("{\"index\": 0, \"value\": 1, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"}"), std::string::npos);
  EXPECT_NE(j.find("{\"index\": 2, \"value\": 240, \"valueTwo\": 32, \"op\": \"SCMP_CMP_MASKED_EQ\"}"),
            std::string::npos);
  // The range 0xFFFFFFFF..0x100000001 on one argument: two entries (libseccomp takes one comparison per
  // argument): == 0xFFFFFFFF, and (v & ~1) == 0x100000000.
  EXPECT_NE(j.find("{\"index\": 1, \"value\": 4294967295, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"}"),
            std::string::npos) << j;
  EXPECT_NE(j.find("{\"index\": 1, \"value\": 18446744073709551614, \"valueTwo\": 4294967296, "
                   "\"op\": \"SCMP_CMP_MASKED_EQ\"}"),
            std::string::npos) << j;
  size_t writes = 0;
  for (size_t at = j.find("\"write\""); at != std::string::npos; at = j.find("\"write\"", at + 1))
    ++writes;
  EXPECT_EQ(writes, 3u) << j; // one entry for eq, two for the range's blocks
  EXPECT_EQ(std::count(j.begin(), j.end(), '{'), std::count(j.begin(), j.end(), '}'));
  EXPECT_EQ(std::count(j.begin(), j.end(), '['), std::count(j.begin(), j.end(), ']'));
  EXPECT_EQ(j, renderOciJson(p));
  // Parse with python3 when it is there.
  if (system("command -v python3 >/dev/null 2>&1") == 0) {
    std::string path = ::testing::TempDir() + "/eg_oci.json";
    FILE *f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fwrite(j.data(), 1, j.size(), f);
    fclose(f);
    std::string cmd = "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                      "assert d[\"syscalls\"][0][\"names\"][0]==\"exit\"' " + path;
    EXPECT_EQ(system(cmd.c_str()), 0);
  }
  Policy k = unconditionalPolicy({0}, kKill);
  std::string jk = renderOciJson(k);
  EXPECT_NE(jk.find("SCMP_ACT_KILL_PROCESS"), std::string::npos);
  EXPECT_EQ(jk.find("defaultErrnoRet"), std::string::npos);
  EXPECT_NE(renderOciJson(unconditionalPolicy({0}, Action{Action::Trap, 0})).find("SCMP_ACT_TRAP"),
            std::string::npos);
  EXPECT_NE(renderOciJson(unconditionalPolicy({0}, Action{Action::Log, 0})).find("SCMP_ACT_LOG"),
            std::string::npos);
  EXPECT_NE(renderOciJson(unconditionalPolicy({0}, Action{Action::KillThread, 0})).find("SCMP_ACT_KILL_THREAD"),
            std::string::npos);
}

TEST(Render, OciRulesRanges) {
  Policy p = unconditionalPolicy({0, 1, 2, 3, 4});
  p.allowed[0].alternatives = {{range(0, 5, 4)}};                       // never: left out
  p.allowed[1].alternatives = {{range(0, 0, ~0ULL)}};                    // always: unconditional
  p.allowed[2].alternatives = {{range(0, 0, 0x100000001ULL)}};           // one LE
  p.allowed[3].alternatives = {{range(0, 1, ~0ULL - 1), eq(1, 7)}};      // 2*63 blocks, each with eq
  p.allowed[4].alternatives = {{masked(0, 0xF, 0x10)}, {eq(2, 9)}};      // first alternative never
  std::vector<OciRule> rules = ociRules(p);
  ASSERT_FALSE(rules.empty());
  EXPECT_EQ(rules[0].names, (std::vector<std::string>{"write"}));
  size_t open = 0, close = 0, stat = 0;
  for (const OciRule &r : rules) {
    ASSERT_EQ(r.names.size(), r.args.empty() ? r.names.size() : 1u);
    EXPECT_NE(r.names[0], "read");
    if (r.names[0] == "open") {
      ++open;
      ASSERT_EQ(r.args.size(), 1u);
      EXPECT_EQ(r.args[0].op, "SCMP_CMP_LE");
    }
    if (r.names[0] == "close") {
      ++close;
      ASSERT_EQ(r.args.size(), 2u);
      EXPECT_EQ(r.args[1].op, "SCMP_CMP_EQ");
    }
    if (r.names[0] == "stat") {
      ++stat;
      ASSERT_EQ(r.args.size(), 1u);
      EXPECT_EQ(r.args[0].index, 2u);
    }
  }
  EXPECT_EQ(open, 1u);
  EXPECT_EQ(close, 126u);
  EXPECT_EQ(stat, 1u);
}

TEST(Render, Systemd) {
  Policy p = unconditionalPolicy(allNumbers());
  p.allowed[1].alternatives = {{eq(0, 1)}};
  std::string s = renderSystemd(p, "demo");
  EXPECT_NE(s.find("[Service]\n"), std::string::npos);
  EXPECT_NE(s.find("SystemCallArchitectures=native\n"), std::string::npos);
  EXPECT_NE(s.find("SystemCallErrorNumber=EPERM\n"), std::string::npos) << s;
  EXPECT_NE(s.find("WARNING: argument conditions are not expressible in systemd"), std::string::npos);
  EXPECT_NE(s.find("UNCONDITIONALLY"), std::string::npos);
  size_t lines = 0;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("SystemCallFilter=", 0) == 0) {
      ++lines;
      EXPECT_LE(line.size(), 100u + 30u);
    }
  }
  EXPECT_GT(lines, 5u);
  EXPECT_EQ(s, renderSystemd(p, "demo"));
  std::string k = renderSystemd(unconditionalPolicy({0, 1}, kKill), "demo");
  EXPECT_EQ(k.find("SystemCallErrorNumber"), std::string::npos);
  EXPECT_EQ(k.find("WARNING"), std::string::npos);
  EXPECT_NE(k.find("SystemCallFilter=read write\n"), std::string::npos) << k;
}

TEST(Render, Spo) {
  Policy p = unconditionalPolicy({0, 1, 231});
  p.allowed[1].alternatives = {{range(0, 1, 2)}};
  std::string y = renderSpo(p, "My_App.v2");
  EXPECT_NE(y.find("apiVersion: security-profiles-operator.x-k8s.io/v1beta1\n"), std::string::npos) << y;
  EXPECT_NE(y.find("kind: SeccompProfile\n"), std::string::npos);
  EXPECT_NE(y.find("metadata:\n  name: my-app.v2\n"), std::string::npos) << y;
  EXPECT_NE(y.find("  defaultAction: SCMP_ACT_ERRNO\n"), std::string::npos);
  EXPECT_NE(y.find("  architectures:\n  - SCMP_ARCH_X86_64\n"), std::string::npos);
  EXPECT_NE(y.find("  - action: SCMP_ACT_ALLOW\n    names:\n    - exit_group\n    - read\n"), std::string::npos)
      << y;
  EXPECT_NE(y.find("    - index: 0\n      value: 1\n      valueTwo: 0\n      op: SCMP_CMP_EQ\n"),
            std::string::npos) << y;
  EXPECT_NE(y.find("    - index: 0\n      value: 2\n      valueTwo: 0\n      op: SCMP_CMP_EQ\n"),
            std::string::npos) << y;
  EXPECT_EQ(y, renderSpo(p, "My_App.v2"));
}
