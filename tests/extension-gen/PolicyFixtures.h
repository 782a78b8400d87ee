// PolicyFixtures: policies, compilation and the check against Policy::decide that the seccomp compiler's
// tests share (ExtensionGenTest.cpp: compiler, renderings; LiveFilterTest.cpp: installed filters and the
// libseccomp differential).
#pragma once

#include "extension-gen/Compiler.h"
#include "seccomp/Interpreter.h"

#include "analyzer/SyscallTable.h"

#include <gtest/gtest.h>

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <random>
#include <vector>

namespace bespoke::policytest {


inline const Action kAllow{Action::Allow, 0};
inline const Action kKill{Action::KillProcess, 0};
inline const Action kEperm{Action::Errno, 1};

inline std::vector<int> allNumbers() {
  std::vector<int> v;
  for (const SyscallEntry &e : x86_64Syscalls())
    v.push_back(e.nr);
  return v;
}

// The first n numbers of the x86-64 table, spread over it (every k-th entry).
inline std::vector<int> spread(size_t n) {
  std::vector<int> all = allNumbers(), out;
  if (n >= all.size())
    return all;
  for (size_t i = 0; i < n; ++i)
    out.push_back(all[i * all.size() / n]);
  return out;
}

inline Policy unconditionalPolicy(const std::vector<int> &nrs, Action def = kEperm) {
  Policy p;
  p.defaultAction = def;
  p.badArchAction = kKill;
  for (int nr : nrs) {
    SyscallRule r;
    r.nr = nr;
    auto name = syscallName(nr);
    r.name = name ? std::string(*name) : "nr" + std::to_string(nr);
    p.allowed.push_back(r);
  }
  return p;
}

inline ArgCondition eq(uint8_t arg, uint64_t a) { return ArgCondition{arg, ArgCondition::Equal, a, 0, ~0ULL}; }
inline ArgCondition masked(uint8_t arg, uint64_t mask, uint64_t a) {
  return ArgCondition{arg, ArgCondition::MaskedEqual, a, 0, mask};
}
inline ArgCondition range(uint8_t arg, uint64_t a, uint64_t b) {
  return ArgCondition{arg, ArgCondition::InRange, a, b, ~0ULL};
}

// Gives every fourth rule (by position) argument conditions of all three kinds.
inline Policy conditionalPolicy(const std::vector<int> &nrs, Action def = kEperm) {
  Policy p = unconditionalPolicy(nrs, def);
  for (size_t i = 0; i < p.allowed.size(); ++i) {
    SyscallRule &r = p.allowed[i];
    switch (i % 8) {
    default:
      break;
    case 1:
      r.alternatives = {{eq(0, 1)}, {eq(0, 0x100000002ULL), masked(2, 0xF0000000F0ULL, 0x3000000020ULL)}};
      break;
    case 5:
      r.alternatives = {{range(1, 0xFFFFFFFFULL, 0x100000001ULL)},
                        {range(3, 10, 20), masked(4, 0x7, 0x4)},
                        {range(5, 0x100000000ULL, ~0ULL), eq(0, i)}};
      break;
    }
  }
  return p;
}

inline std::vector<sock_filter> compileOk(const Policy &p) {
  auto prog = compilePolicy(p);
  if (!prog) {
    ADD_FAILURE() << llvm::toString(prog.takeError());
    return {};
  }
  return *prog;
}

// Every instruction's jumps land inside the program; length within the kernel's limit.
inline void checkStructure(const std::vector<sock_filter> &prog) {
  ASSERT_FALSE(prog.empty());
  ASSERT_LE(prog.size(), BpfMaxInstructions);
  for (size_t i = 0; i < prog.size(); ++i) {
    const sock_filter &f = prog[i];
    if (BPF_CLASS(f.code) != BPF_JMP)
      continue;
    if (BPF_OP(f.code) == BPF_JA) {
      EXPECT_LT(i + 1 + static_cast<uint64_t>(f.k), prog.size()) << "ja at " << i;
    } else {
      EXPECT_LT(i + 1 + f.jt, prog.size()) << "jt at " << i;
      EXPECT_LT(i + 1 + f.jf, prog.size()) << "jf at " << i;
    }
  }
  EXPECT_EQ(BPF_CLASS(prog.back().code), BPF_RET);
}

// Interesting argument values for the policy's conditions: the bounds and their neighbours.
inline std::vector<uint64_t> boundaryValues(const Policy &p) {
  std::vector<uint64_t> v = {0, 1, 2, 0xFFFFFFFFULL, 0x100000000ULL, 0x100000001ULL, 0x100000002ULL,
                             ~0ULL, ~0ULL - 1, 0x7FFFFFFFFFFFFFFFULL, 0x8000000000000000ULL};
  for (const SyscallRule &r : p.allowed)
    for (const auto &alt : r.alternatives)
      for (const ArgCondition &c : alt)
        for (uint64_t x : {c.a, c.b, c.a & c.mask})
          for (uint64_t d : {0ULL, 1ULL, ~0ULL})
            v.push_back(x + d);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Checks the program against Policy::decide for many seccomp_data values. Returns how many were checked.
inline size_t checkAgainstDecide(const std::vector<sock_filter> &prog, const Policy &p, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> bounds = boundaryValues(p);
  size_t checked = 0;
  auto check = [&](uint32_t nr, uint32_t arch, const uint64_t args[6]) {
    BpfRun run = runBpf(prog, nr, arch, rng(), args);
    ASSERT_TRUE(run.ok) << run.error;
    Action want = p.decide(nr, arch, args);
    ASSERT_EQ(run.ret, want.value())
        << "nr " << nr << " arch " << std::hex << arch << " args " << args[0] << "," << args[1] << ","
        << args[2] << "," << args[3] << "," << args[4] << "," << args[5] << " want " << want.name();
    ++checked;
  };
  const uint64_t zero[6] = {};
  std::vector<uint32_t> nrs;
  for (uint32_t nr = 0; nr <= 500; ++nr)
    nrs.push_back(nr);
  for (uint32_t nr : {0x3FFFFFFFU, 0x40000000U, 0x40000000U | 1U, 0x40000000U | 39U, 0x40000000U | 500U,
                      0x7FFFFFFFU, 0x80000000U, 0xFFFFFFFFU, 1000U, 100000U})
    nrs.push_back(nr);
  for (uint32_t nr : nrs) {
    check(nr, Policy::AuditArchX86_64, zero);
    bool conditional = false;
    for (const SyscallRule &r : p.allowed)
      if (static_cast<uint32_t>(r.nr) == nr && !r.alternatives.empty())
        conditional = true;
    int tries = conditional ? 400 : 3;
    for (int t = 0; t < tries; ++t) {
      uint64_t args[6];
      for (uint64_t &a : args) {
        switch (rng() % 4) {
        case 0: a = rng(); break;
        case 1: a = rng() & 0xFFFFFFFFULL; break;
        default: a = bounds[rng() % bounds.size()]; break;
        }
      }
      check(nr, Policy::AuditArchX86_64, args);
    }
  }
  // Foreign architectures: i386, aarch64, x32's own audit arch is x86-64 (covered above), and junk.
  for (uint32_t arch : std::initializer_list<uint32_t>{AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0U, 0xC000003FU, 0x4000003EU})
    for (uint32_t nr : {0U, 1U, 39U, 60U, 231U, 0x40000000U})
      check(nr, arch, zero);
  return checked;
}

inline size_t ceilLog2(size_t n) {
  size_t d = 0;
  while ((size_t(1) << d) < n)
    ++d;
  return d;
}

// Forks a child that installs `prog` (no_new_privs, every thread) and exits with body()'s value; returns
// the child's wait status (-1 when fork or wait fails).
inline int installAndRun(const std::vector<sock_filter> &prog, int (*body)()) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      _exit(100);
    sock_fprog fp{static_cast<unsigned short>(prog.size()), const_cast<sock_filter *>(prog.data())};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp) != 0)
      _exit(101);
    syscall(SYS_exit_group, body());
    _exit(102);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
    return -1;
  return status;
}

} // namespace bespoke::policytest
