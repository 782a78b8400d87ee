// Live seccomp filters compiled by bespoke, installed in forked children, and the same policies compiled
// by libseccomp and run by the same interpreter (a differential).
#include "extension-gen/Compiler.h"
#include "extension-gen/Render.h"
#include "tests/extension-gen/PolicyFixtures.h"

#include "analyzer/SyscallTable.h"

#include <gtest/gtest.h>

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <sstream>

using namespace bespoke;
using namespace bespoke::policytest;

// ----------------------------------------------------------------------------------------------------
// Live: install compiled filters in forked children (needs seccomp; runs as root here but does not
// need it thanks to PR_SET_NO_NEW_PRIVS).

namespace {

Policy livePolicy(Action def) {
  return unconditionalPolicy({*syscallNumber("write"), *syscallNumber("getpid"),
                              *syscallNumber("exit_group")},
                             def);
}

} // namespace

TEST(Live, ErrnoDefault) {
  std::vector<sock_filter> prog = compileOk(livePolicy(kEperm));
  int status = installAndRun(prog, [] {
    errno = 0;
    long r = syscall(SYS_getppid);
    if (r != -1 || errno != EPERM)
      return 1;
    if (syscall(SYS_getpid) <= 0)
      return 2;
    return 42;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(Live, KillProcessDefault) {
  std::vector<sock_filter> prog = compileOk(livePolicy(kKill));
  int status = installAndRun(prog, [] {
    if (syscall(SYS_getpid) <= 0)
      return 2;
    syscall(SYS_getppid);
    return 42;
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(Live, X32NumberKills) {
  std::vector<sock_filter> prog = compileOk(livePolicy(kEperm));
  int status = installAndRun(prog, [] {
    syscall(0x40000000L | 39); // x32 getpid
    return 42;
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(Live, ArgumentConditionAcross32Bits) {
  Policy p = livePolicy(kEperm);
  SyscallRule r;
  r.nr = *syscallNumber("getppid");
  r.name = "getppid";
  r.alternatives = {{eq(0, 0x100000001ULL)}, {range(1, 0xFFFFFFFFULL, 0x100000001ULL)}};
  p.allowed.insert(std::upper_bound(p.allowed.begin(), p.allowed.end(), r,
                                    [](const SyscallRule &a, const SyscallRule &b) { return a.nr < b.nr; }),
                   r);
  std::vector<sock_filter> prog = compileOk(p);
  int status = installAndRun(prog, [] {
    if (syscall(SYS_getppid, 0x100000001ULL, 0ULL) <= 0)
      return 1;
    errno = 0;
    if (syscall(SYS_getppid, 1ULL, 0ULL) != -1 || errno != EPERM)
      return 2;
    if (syscall(SYS_getppid, 0ULL, 0x100000000ULL) <= 0)
      return 3;
    if (syscall(SYS_getppid, 0ULL, 0xFFFFFFFFULL) <= 0)
      return 4;
    errno = 0;
    if (syscall(SYS_getppid, 0ULL, 0x100000002ULL) != -1 || errno != EPERM)
      return 5;
    errno = 0;
    if (syscall(SYS_getppid, 0ULL, 0xFFFFFFFEULL) != -1 || errno != EPERM)
      return 6;
    return 42;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(Live, AllSyscallsButGetppid) {
  std::vector<int> nrs;
  for (int nr : allNumbers())
    if (nr != SYS_getppid)
      nrs.push_back(nr);
  std::vector<sock_filter> prog = compileOk(unconditionalPolicy(nrs, kEperm));
  int status = installAndRun(prog, [] {
    errno = 0;
    if (syscall(SYS_getppid) != -1 || errno != EPERM)
      return 1;
    if (syscall(SYS_getpid) <= 0)
      return 2;
    return 42;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(Live, LargeProgramWithTrampolines) {
  // ~4000 instructions with long jumps: the kernel must accept it and it must decide like decide().
  Policy p = unconditionalPolicy(allNumbers());
  for (size_t i = 0; i < p.allowed.size(); ++i) {
    SyscallRule &r = p.allowed[i];
    if (r.name == "write" || r.name == "getpid" || r.name == "exit_group")
      continue;
    r.alternatives = {{eq(0, i), eq(1, 0x100000000ULL + i)}};
  }
  std::vector<sock_filter> prog = compileOk(p);
  ASSERT_GT(std::count_if(prog.begin(), prog.end(),
                          [](const sock_filter &f) { return f.code == (BPF_JMP | BPF_JA); }),
            0);
  static size_t ppidIndex;
  for (size_t i = 0; i < p.allowed.size(); ++i)
    if (p.allowed[i].name == "getppid")
      ppidIndex = i;
  int status = installAndRun(prog, [] {
    if (syscall(SYS_getppid, ppidIndex, 0x100000000ULL + ppidIndex) <= 0)
      return 1;
    errno = 0;
    if (syscall(SYS_getppid, ppidIndex, ppidIndex) != -1 || errno != EPERM)
      return 2;
    if (syscall(SYS_getpid) <= 0)
      return 3;
    return 42;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

// ----------------------------------------------------------------------------------------------------
// Differential: the same policy compiled by libseccomp, run by the same interpreter.

#ifdef BESPOKE_HAVE_LIBSECCOMP
#include <seccomp.h>

#include <cstdio>
#include <cstring>

namespace {

// libseccomp's program for `p`, exported through a temporary file. Empty on failure.
std::vector<sock_filter> libseccompProgram(const Policy &p, int optimize) {
  std::vector<sock_filter> out;
  scmp_filter_ctx ctx = seccomp_init(p.defaultAction.value());
  if (!ctx)
    return out;
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, p.badArchAction.value());
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, optimize);
  bool ok = true;
  for (const SyscallRule &r : p.allowed) {
    if (r.alternatives.empty()) {
      ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r.nr, 0) == 0;
      continue;
    }
    for (const auto &alt : r.alternatives) {
      std::vector<scmp_arg_cmp> cmps;
      for (const ArgCondition &c : alt) {
        switch (c.op) {
        case ArgCondition::Equal:
          cmps.push_back({c.arg, SCMP_CMP_EQ, c.a, 0});
          break;
        case ArgCondition::MaskedEqual:
          cmps.push_back({c.arg, SCMP_CMP_MASKED_EQ, c.mask, c.a});
          break;
        case ArgCondition::InRange:
          if (c.a != 0)
            cmps.push_back({c.arg, SCMP_CMP_GE, c.a, 0});
          if (c.b != ~0ULL)
            cmps.push_back({c.arg, SCMP_CMP_LE, c.b, 0});
          break;
        }
      }
      int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r.nr, cmps.size(), cmps.data());
      if (rc != 0)
        std::cout << "[ info ] libseccomp rejects a rule for " << r.name << ": " << strerror(-rc) << "\n";
      ok = ok && rc == 0;
    }
  }
  FILE *f = tmpfile();
  if (ok && f && seccomp_export_bpf(ctx, fileno(f)) == 0) {
    fflush(f);
    rewind(f);
    sock_filter insn;
    while (fread(&insn, sizeof insn, 1, f) == 1)
      out.push_back(insn);
  }
  if (f)
    fclose(f);
  seccomp_release(ctx);
  return out;
}

} // namespace

TEST(LibseccompDifferential, UnconditionalSameDecisionsAndShorterPaths) {
  for (size_t n : {size_t(1), size_t(10), size_t(100), x86_64Syscalls().size()}) {
    Policy p = unconditionalPolicy(spread(n));
    std::vector<sock_filter> ours = compileOk(p);
    for (int optimize : {1, 2}) {
      std::vector<sock_filter> theirs = libseccompProgram(p, optimize);
      ASSERT_FALSE(theirs.empty());
      // Same decisions on x86-64 numbers 0..500 and foreign arches (libseccomp's x32 handling is its own).
      const uint64_t zero[6] = {};
      for (uint32_t nr = 0; nr <= 500; ++nr) {
        BpfRun a = runBpf(ours, nr, Policy::AuditArchX86_64, 0, zero);
        BpfRun b = runBpf(theirs, nr, Policy::AuditArchX86_64, 0, zero);
        ASSERT_TRUE(a.ok && b.ok) << b.error;
        EXPECT_EQ(a.ret, b.ret) << "nr " << nr;
      }
      BpfRun fa = runBpf(theirs, 0, AUDIT_ARCH_I386, 0, zero);
      EXPECT_EQ(fa.ret, p.badArchAction.value());
      PathStats so = pathLengths(ours, p), st = pathLengths(theirs, p);
      std::cout << "[ info ] " << n << " syscalls: ours " << ours.size() << " insns worst " << so.worst
                << " mean " << so.mean << "; libseccomp (optimize=" << optimize << ") " << theirs.size()
                << " insns worst " << st.worst << " mean " << st.mean << "\n";
      EXPECT_LE(so.worst, st.worst);
    }
  }
}

TEST(LibseccompDifferential, GeAndLeOnOneArgument) {
  // A 64-bit range as two comparisons on one argument: libseccomp 2.5 cannot take that in one rule.
  Policy p = unconditionalPolicy({0, 1});
  p.allowed[1].alternatives = {{range(0, 0xFFFFFFFFULL, 0x100000001ULL)}};
  std::vector<sock_filter> theirs = libseccompProgram(p, 2);
  std::cout << "[ info ] libseccomp with GE+LE on one argument: "
            << (theirs.empty() ? "rejected" : "accepted") << "\n";
  if (theirs.empty())
    return;
  std::vector<sock_filter> ours = compileOk(p);
  for (uint64_t v : boundaryValues(p)) {
    const uint64_t args[6] = {v, 0, 0, 0, 0, 0};
    EXPECT_EQ(runBpf(ours, 1, Policy::AuditArchX86_64, 0, args).ret,
              runBpf(theirs, 1, Policy::AuditArchX86_64, 0, args).ret) << std::hex << v;
  }
}

// What a container runtime would build from our OCI profile: ociRules() fed to libseccomp.
TEST(LibseccompDifferential, OciRulesMeanThePolicy) {
  Policy p = conditionalPolicy(spread(40));
  p.allowed[2].action = Action{Action::Errno, 38}; // unconditional, another action (clone3's ENOSYS)
  p.allowed[9].action = Action{Action::Errno, 38}; // conditional, another action
  ASSERT_TRUE(p.allowed[2].unconditional());
  ASSERT_FALSE(p.allowed[9].unconditional());
  scmp_filter_ctx ctx = seccomp_init(p.defaultAction.value());
  ASSERT_NE(ctx, nullptr);
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, p.badArchAction.value());
  size_t entries = 0;
  for (const OciRule &r : ociRules(p)) {
    std::vector<scmp_arg_cmp> cmps;
    for (const OciComparison &c : r.args) {
      scmp_compare op = c.op == "SCMP_CMP_EQ"          ? SCMP_CMP_EQ
                        : c.op == "SCMP_CMP_MASKED_EQ" ? SCMP_CMP_MASKED_EQ
                        : c.op == "SCMP_CMP_GE"        ? SCMP_CMP_GE
                                                       : SCMP_CMP_LE;
      cmps.push_back({c.index, op, c.value, c.valueTwo});
    }
    for (const std::string &name : r.names) {
      ++entries;
      ASSERT_EQ(seccomp_rule_add_array(ctx, r.action.value(), *syscallNumber(name), cmps.size(), cmps.data()), 0)
          << name;
    }
  }
  FILE *f = tmpfile();
  ASSERT_EQ(seccomp_export_bpf(ctx, fileno(f)), 0);
  rewind(f);
  std::vector<sock_filter> theirs;
  sock_filter insn;
  while (fread(&insn, sizeof insn, 1, f) == 1)
    theirs.push_back(insn);
  fclose(f);
  seccomp_release(ctx);
  std::cout << "[ info ] OCI profile: " << entries << " libseccomp rules, " << theirs.size() << " insns\n";
  std::mt19937_64 rng(11);
  std::vector<uint64_t> bounds = boundaryValues(p);
  for (const SyscallRule &r : p.allowed)
    for (int t = 0; t < 2000; ++t) {
      uint64_t args[6];
      for (uint64_t &a : args)
        a = (rng() % 3) ? bounds[rng() % bounds.size()] : rng();
      BpfRun b = runBpf(theirs, r.nr, Policy::AuditArchX86_64, 0, args);
      ASSERT_TRUE(b.ok) << b.error;
      ASSERT_EQ(b.ret, p.decide(r.nr, Policy::AuditArchX86_64, args).value()) << r.name;
    }
}

TEST(LibseccompDifferential, ConditionalSameDecisions) {
  // Equal, MaskedEqual and one-sided 64-bit ranges (one comparison per argument and rule).
  Policy p = unconditionalPolicy(spread(40));
  for (size_t i = 0; i < p.allowed.size(); ++i) {
    SyscallRule &r = p.allowed[i];
    switch (i % 4) {
    case 1:
      r.alternatives = {{eq(0, 1)}, {eq(0, 0x100000002ULL), masked(2, 0xF0000000F0ULL, 0x3000000020ULL)}};
      break;
    case 2:
      r.alternatives = {{range(1, 0xFFFFFFFFULL, ~0ULL), range(3, 0, 0x100000001ULL)},
                        {masked(4, 0x7, 0x4), range(5, 0x100000000ULL, ~0ULL), eq(0, i)}};
      break;
    case 3:
      r.alternatives = {{masked(0, 0xFFFFFFFF00000000ULL, 0x500000000ULL)}, {range(2, 0, 0xFFFFFFFFULL)}};
      break;
    }
  }
  std::vector<sock_filter> ours = compileOk(p);
  std::vector<sock_filter> theirs = libseccompProgram(p, 2);
  if (theirs.empty())
    GTEST_SKIP() << "libseccomp rejected the conditional policy";
  std::mt19937_64 rng(9);
  std::vector<uint64_t> bounds = boundaryValues(p);
  for (const SyscallRule &r : p.allowed) {
    for (int t = 0; t < 2000; ++t) {
      uint64_t args[6];
      for (uint64_t &a : args)
        a = (rng() % 3) ? bounds[rng() % bounds.size()] : rng();
      BpfRun a = runBpf(ours, r.nr, Policy::AuditArchX86_64, 0, args);
      BpfRun b = runBpf(theirs, r.nr, Policy::AuditArchX86_64, 0, args);
      ASSERT_TRUE(a.ok && b.ok) << b.error;
      ASSERT_EQ(a.ret, p.decide(r.nr, Policy::AuditArchX86_64, args).value());
      ASSERT_EQ(a.ret, b.ret) << r.name << " args " << std::hex << args[0] << "," << args[1] << ","
                              << args[2] << "," << args[3] << "," << args[4] << "," << args[5];
    }
  }
}
#endif

