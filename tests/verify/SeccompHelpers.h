// Test helpers: build filters with libseccomp from a Policy (SCMP_ACT_* values are the SECCOMP_RET_* ones,
// so Action::value() serves libseccomp too), random policies, random seccomp_data.
#pragma once

#include <cerrno>
#include <random>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include <seccomp.h>

#include "seccomp/Bpf.h"
#include "seccomp/Interpreter.h"
#include "seccomp/Policy.h"

namespace bespoke::test {

inline Action act(Action::Kind k, uint16_t data = 0) {
  Action a;
  a.kind = k;
  a.data = data;
  return a;
}

// Exports a libseccomp context through a memfd, as the raw bytes seccomp_export_bpf writes.
inline std::string exportBpf(scmp_filter_ctx ctx) {
  int fd = memfd_create("bespoke-verify-test", 0);
  if (fd < 0)
    throw std::runtime_error("memfd_create failed");
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc != 0) {
    close(fd);
    throw std::runtime_error("seccomp_export_bpf failed: " + std::to_string(rc));
  }
  std::string out;
  lseek(fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<size_t>(got));
  close(fd);
  return out;
}

// Compiles a policy with libseccomp (native x86-64 only). extraNr / missingNr make it deliberately wrong.
// Only Equal and MaskedEqual conditions are supported.
inline std::string libseccompBytes(const Policy &p, int optimize, int extraNr = -1, int missingNr = -1) {
  scmp_filter_ctx ctx = seccomp_init(p.defaultAction.value());
  if (!ctx)
    throw std::runtime_error("seccomp_init failed");
  auto check = [&](int rc, const std::string &what) {
    if (rc != 0) {
      seccomp_release(ctx);
      throw std::runtime_error(what + " failed: " + std::to_string(rc));
    }
  };
  check(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, p.badArchAction.value()), "ACT_BADARCH");
  if (optimize)
    check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, optimize), "CTL_OPTIMIZE");
  for (const SyscallRule &r : p.allowed) {
    if (r.nr == missingNr)
      continue;
    if (r.alternatives.empty()) {
      check(seccomp_rule_add(ctx, r.action.value(), r.nr, 0), "rule_add " + std::to_string(r.nr));
      continue;
    }
    for (const auto &alt : r.alternatives) {
      std::vector<scmp_arg_cmp> cmps;
      for (const ArgCondition &c : alt) {
        if (c.op == ArgCondition::Equal)
          cmps.push_back(SCMP_CMP(c.arg, SCMP_CMP_EQ, c.a));
        else if (c.op == ArgCondition::MaskedEqual)
          cmps.push_back(SCMP_CMP(c.arg, SCMP_CMP_MASKED_EQ, c.mask, c.a));
        else
          throw std::runtime_error("InRange is not translated to libseccomp here");
      }
      check(seccomp_rule_add_array(ctx, r.action.value(), r.nr, static_cast<unsigned>(cmps.size()), cmps.data()),
            "rule_add_array " + std::to_string(r.nr));
    }
  }
  if (extraNr >= 0)
    check(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, extraNr, 0), "rule_add extra");
  std::string bytes = exportBpf(ctx);
  seccomp_release(ctx);
  return bytes;
}

// A random policy: `count` distinct syscalls out of 0..maxNr; some with argument conditions.
inline Policy randomPolicy(std::mt19937_64 &rng, int count, int maxNr, bool withConditions, bool errnoDefault) {
  Policy p;
  p.defaultAction = errnoDefault ? act(Action::Errno, 1) : act(Action::KillProcess);
  p.badArchAction = act(Action::KillProcess);
  std::vector<int> nrs;
  for (int i = 0; i <= maxNr; ++i)
    nrs.push_back(i);
  std::shuffle(nrs.begin(), nrs.end(), rng);
  nrs.resize(static_cast<size_t>(std::min<int>(count, static_cast<int>(nrs.size()))));
  std::sort(nrs.begin(), nrs.end());
  for (int nr : nrs) {
    SyscallRule r;
    r.nr = nr;
    if (withConditions && rng() % 4 == 0) {
      int nalts = 1 + static_cast<int>(rng() % 2);
      for (int a = 0; a < nalts; ++a) {
        std::vector<ArgCondition> alt;
        int nconds = 1 + static_cast<int>(rng() % 2);
        for (int c = 0; c < nconds; ++c) {
          ArgCondition cond;
          cond.arg = static_cast<uint8_t>(c == 0 ? rng() % 3 : 3 + rng() % 3); // distinct args in one rule
          if (rng() % 2) {
            cond.op = ArgCondition::Equal;
            cond.a = rng() % 3 == 0 ? rng() : rng() % 64;
          } else {
            cond.op = ArgCondition::MaskedEqual;
            cond.mask = rng() % 2 ? 0xffULL << (8 * (rng() % 8)) : rng();
            cond.a = rng() & cond.mask;
          }
          alt.push_back(cond);
        }
        r.alternatives.push_back(alt);
      }
    }
    p.allowed.push_back(r);
  }
  return p;
}

// Random seccomp_data biased towards the interesting values of a policy.
inline seccomp_data randomData(std::mt19937_64 &rng, const Policy &p) {
  seccomp_data d{};
  uint64_t pick = rng() % 10;
  uint32_t nr;
  if (pick < 6 && !p.allowed.empty())
    nr = static_cast<uint32_t>(p.allowed[rng() % p.allowed.size()].nr) + static_cast<uint32_t>(rng() % 3) - 1;
  else if (pick < 8)
    nr = static_cast<uint32_t>(rng() % 512);
  else if (pick < 9)
    nr = rng() % 2 ? 0xffffffffu : 0x40000000u + static_cast<uint32_t>(rng() % 512);
  else
    nr = static_cast<uint32_t>(rng());
  d.nr = static_cast<int>(nr);
  uint64_t a = rng() % 10;
  d.arch = a < 8 ? Policy::AuditArchX86_64 : a < 9 ? 0x40000003u /* i386 */ : static_cast<uint32_t>(rng());
  d.instruction_pointer = rng();
  const SyscallRule *rule = nullptr;
  for (const auto &r : p.allowed)
    if (static_cast<uint32_t>(r.nr) == nr)
      rule = &r;
  for (int i = 0; i < 6; ++i)
    d.args[i] = rng() % 2 ? rng() % 64 : rng();
  if (rule && !rule->alternatives.empty() && rng() % 4 != 0) {
    const auto &alt = rule->alternatives[rng() % rule->alternatives.size()];
    for (const ArgCondition &c : alt) {
      if (c.op == ArgCondition::Equal)
        d.args[c.arg] = c.a;
      else if (c.op == ArgCondition::MaskedEqual)
        d.args[c.arg] = c.a | (rng() & ~c.mask);
      else
        d.args[c.arg] = c.a + (c.b > c.a ? rng() % (c.b - c.a + 1) : 0);
      if (rng() % 8 == 0)
        d.args[c.arg] ^= 1ULL << (rng() % 64);
    }
  }
  return d;
}

// One random mutation of a program, as the mutation tests use: a new opcode (from `opcodes`), a changed
// or bit-flipped k, a changed jt or jf, a dropped instruction, or two instructions swapped.
template <size_t N>
inline void mutateOnce(BpfProgram &f, std::mt19937_64 &rng, const uint16_t (&opcodes)[N]) {
  if (f.empty())
    return;
  size_t i = rng() % f.size();
  switch (rng() % 7) {
  case 0: f[i].code = opcodes[rng() % N]; break;
  case 1: f[i].k = rng() % 2 ? static_cast<uint32_t>(rng()) : f[i].k + static_cast<uint32_t>(rng() % 5) - 2; break;
  case 2: f[i].k ^= 1u << (rng() % 32); break;
  case 3: f[i].jt = static_cast<uint8_t>(rng() % 2 ? rng() % 8 : f[i].jt + 1); break;
  case 4: f[i].jf = static_cast<uint8_t>(rng() % 2 ? rng() % 8 : f[i].jf - 1); break;
  case 5: f.erase(f.begin() + static_cast<long>(i)); break;
  case 6: std::swap(f[i], f[i + 1 < f.size() ? i + 1 : 0]); break;
  }
}

} // namespace bespoke::test
