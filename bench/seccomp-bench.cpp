// seccomp-bench: bespoke's seccomp-BPF programs against libseccomp's (SCMP_FLTATR_CTL_OPTIMIZE 2) for the
// same policies. Prints Markdown tables (bench/RESULTS.md has the command and a reading).
//
//   (a) BPF instructions executed per allowed syscall (worst / mean), both programs walked by ONE
//       interpreter (seccomp/Interpreter.h's runBpf, which counts steps); every program proven equal to the policy.
//   (b) ns per syscall in a tight loop under each live filter vs no filter: one forked child per variant,
//       variants interleaved round-robin (rotated start) for several rounds, medians reported.
//   (c) wall time of verify's proveEquivalent on large policies (median of several interleaved runs).
//
// Usage: seccomp-bench [--manifests DIR] [--sections abc] [--rounds R] [--iters N] [--prove-runs K]
//                      [--live NAME,NAME,...]
// DIR holds APP.yaml manifests (bespoke analyze output); each becomes a kill-process policy.
#include "analyzer/SyscallTable.h"
#include "bench/AllowedPaths.h"
#include "bench/LibseccompFilter.h"
#include "extension-gen/Compiler.h"
#include "extension-gen/ManifestPolicy.h"
#include "extension-gen/Render.h"
#include "manifests/Manifest.h"
#include "seccomp/Bpf.h"
#include "seccomp/Interpreter.h"
#include "seccomp/Policy.h"
#include "verify/Equivalence.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace bespoke;

[[noreturn]] void die(const std::string &msg) {
  std::fprintf(stderr, "seccomp-bench: %s\n", msg.c_str());
  std::exit(2);
}

template <typename T> T take(llvm::Expected<T> e, const std::string &what) {
  if (!e)
    die(what + ": " + llvm::toString(e.takeError()));
  return std::move(*e);
}

Action killProcess() {
  Action a;
  a.kind = Action::KillProcess;
  return a;
}

size_t ceilLog2(size_t n) {
  size_t k = 0;
  while ((size_t(1) << k) < n)
    ++k;
  return k;
}

double median(std::vector<double> v) {
  if (v.empty())
    return NAN;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// ---------------------------------------------------------------------------------------------------
// Policies

std::vector<int> allNumbers() {
  std::vector<int> out;
  for (const SyscallEntry &e : x86_64Syscalls())
    out.push_back(e.nr);
  return out;
}

// n entries of the x86-64 table, spread over it (entry i * size / n): almost no two adjacent numbers.
std::vector<int> spread(size_t n) {
  std::vector<int> all = allNumbers(), out;
  if (n >= all.size())
    return all;
  for (size_t i = 0; i < n; ++i)
    out.push_back(all[i * all.size() / n]);
  return out;
}

Policy unconditionalPolicy(const std::vector<int> &nrs) {
  Policy p;
  p.defaultAction = killProcess();
  p.badArchAction = killProcess();
  for (int nr : nrs) {
    SyscallRule r;
    r.nr = nr;
    r.name = std::string(*syscallName(nr));
    p.allowed.push_back(r);
  }
  return p;
}

ArgCondition eq(uint8_t arg, uint64_t a) { return ArgCondition{arg, ArgCondition::Equal, a, 0, ~0ULL}; }
ArgCondition masked(uint8_t arg, uint64_t mask, uint64_t a) {
  return ArgCondition{arg, ArgCondition::MaskedEqual, a, 0, mask};
}
ArgCondition range(uint8_t arg, uint64_t a, uint64_t b) {
  return ArgCondition{arg, ArgCondition::InRange, a, b, ~0ULL};
}

// A quarter of the rules (positions i % 8 == 1 or 5) get argument conditions of all three kinds, 64-bit
// values across the 32-bit boundary included (the shape of tests/extension-gen's conditionalPolicy).
Policy conditionalPolicy(const std::vector<int> &nrs) {
  Policy p = unconditionalPolicy(nrs);
  for (size_t i = 0; i < p.allowed.size(); ++i) {
    SyscallRule &r = p.allowed[i];
    if (i % 8 == 1)
      r.alternatives = {{eq(0, 1)}, {eq(0, 0x100000002ULL), masked(2, 0xF0000000F0ULL, 0x3000000020ULL)}};
    else if (i % 8 == 5)
      r.alternatives = {{range(1, 0xFFFFFFFFULL, 0x100000001ULL)},
                        {range(3, 10, 20), masked(4, 0x7, 0x4)},
                        {range(5, 0x100000000ULL, ~0ULL), eq(0, i)}};
  }
  return p;
}

struct NamedPolicy {
  std::string name;
  bool corpus = false;
  Policy policy;
};

// ---------------------------------------------------------------------------------------------------
// libseccomp (bench/LibseccompFilter.h: the policy's OCI rules, added as runc adds them)

BpfProgram libseccompProgram(const Policy &p, int optimize, size_t *rules = nullptr) {
  auto f = libseccompFilter(p, optimize);
  if (!f)
    die(llvm::toString(f.takeError()));
  if (rules)
    *rules = f->rules;
  return std::move(f->program);
}

BpfProgram bespokeProgram(const Policy &p) { return take(compilePolicy(p), "compilePolicy"); }

// ---------------------------------------------------------------------------------------------------
// (a) instructions executed

// bench/AllowedPaths.h: unconditional syscalls with all arguments 0, conditional ones once per alternative
// with arguments satisfying it; the program must allow each, as the policy does.
PathReport measurePaths(const BpfProgram &prog, const Policy &p, const std::string &what) {
  auto r = measureAllowedPaths(prog, p, what);
  if (!r)
    die(llvm::toString(r.takeError()));
  return *r;
}

struct Proof {
  bool equivalent = false;
  double seconds = 0;
  size_t cached = 0; // allowed syscalls the kernel's constant-action emulation caches
  std::string counterexample;
};

Proof prove(const BpfProgram &prog, const Policy &p, const std::string &what) {
  auto t0 = std::chrono::steady_clock::now();
  Verdict v = take(proveEquivalent(prog, p), what + ": proveEquivalent");
  auto t1 = std::chrono::steady_clock::now();
  Proof r;
  r.equivalent = v.equivalent;
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.cached = v.kernelCachedSyscalls.size();
  r.counterexample = v.counterexample;
  return r;
}

void sectionA(const std::vector<NamedPolicy> &policies) {
  std::printf("## (a) BPF instructions executed per allowed syscall\n\n");
  std::printf("Both programs walked by one interpreter (seccomp runBpf, steps incl. the `ret`), arch "
              "x86-64; unconditional syscalls with all arguments 0. libseccomp: SCMP_FLTATR_CTL_OPTIMIZE 2, "
              "ACT_BADARCH kill-process, native x86-64 only. n = allowed syscalls, ranges = bespoke's "
              "merged number ranges (x32 block included). Both programs proven equal to the policy "
              "(verify proveEquivalent); cached = allowed syscalls the kernel's constant-action cache takes.\n\n");
  std::printf("| policy | n | ranges | bespoke insns | worst | mean | libseccomp insns | worst | mean | "
              "⌈log2 n⌉+4 | ⌈log2 ranges⌉+4 | worst ≤ libseccomp | mean ≤ libseccomp | worst ≤ ⌈log2 n⌉+4 | "
              "worst ≤ ⌈log2 ranges⌉+4 | proven (b / l) | cached (b / l) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  struct CondRow {
    std::string name;
    size_t conditional, pairs, bInsns, lInsns, lRules;
    PathReport b, l;
  };
  std::vector<CondRow> condRows;
  for (const NamedPolicy &np : policies) {
    const Policy &p = np.policy;
    BpfProgram ours = bespokeProgram(p);
    size_t rules = 0;
    BpfProgram theirs = libseccompProgram(p, 2, &rules);
    PathReport b = measurePaths(ours, p, np.name + " (bespoke)");
    PathReport l = measurePaths(theirs, p, np.name + " (libseccomp)");
    Proof pb = prove(ours, p, np.name + " (bespoke)"), pl = prove(theirs, p, np.name + " (libseccomp)");
    if (!pb.equivalent)
      std::fprintf(stderr, "FINDING: bespoke program for %s NOT equivalent: %s\n", np.name.c_str(),
                   pb.counterexample.c_str());
    if (!pl.equivalent)
      std::fprintf(stderr, "FINDING: libseccomp program for %s NOT equivalent: %s\n", np.name.c_str(),
                   pl.counterexample.c_str());
    size_t n = p.allowed.size(), ranges = rangeCount(p);
    size_t boundN = ceilLog2(n) + 4, boundR = ceilLog2(ranges) + 4;
    const Paths &bu = b.uncond, &lu = l.uncond;
    auto yn = [](bool v) { return v ? "yes" : "**no**"; };
    std::printf("| %s | %zu | %zu | %zu | %zu | %.2f | %zu | %zu | %.2f | %zu | %zu | %s | %s | %s | %s | %s / %s | "
                "%zu / %zu |\n",
                np.name.c_str(), n, ranges, ours.size(), bu.worst, bu.mean(), theirs.size(), lu.worst, lu.mean(),
                boundN, boundR, yn(bu.worst <= lu.worst), yn(bu.mean() <= lu.mean() + 1e-9), yn(bu.worst <= boundN),
                yn(bu.worst <= boundR), pb.equivalent ? "yes" : "NO", pl.equivalent ? "yes" : "NO", pb.cached,
                pl.cached);
    std::fflush(stdout);
    if (b.cond.count) {
      size_t conditional = 0;
      for (const SyscallRule &r : p.allowed)
        conditional += !r.alternatives.empty();
      condRows.push_back({np.name, conditional, b.cond.count, ours.size(), theirs.size(), rules, b, l});
    }
  }
  if (!condRows.empty()) {
    std::printf("\nPolicies with argument conditions: the unconditional syscalls are in the table above; the "
                "conditional ones here, one run per (syscall, alternative) with arguments that satisfy that "
                "alternative (the others 0), so the filter allows. libseccomp rules = seccomp_rule_add calls "
                "(from ociRules: a two-sided 64-bit range is several aligned-block rules).\n\n");
    std::printf("| policy | conditional syscalls | (syscall, alternative) runs | libseccomp rules | bespoke worst | "
                "mean | libseccomp worst | mean | all allowed runs: bespoke mean | libseccomp mean |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (const CondRow &c : condRows) {
      auto allMean = [](const PathReport &r) {
        return double(r.uncond.total + r.cond.total) / double(r.uncond.count + r.cond.count);
      };
      std::printf("| %s | %zu | %zu | %zu | %zu | %.2f | %zu | %.2f | %.2f | %.2f |\n", c.name.c_str(), c.conditional,
                  c.pairs, c.lRules, c.b.cond.worst, c.b.cond.mean(), c.l.cond.worst, c.l.cond.mean(), allMean(c.b),
                  allMean(c.l));
    }
  }
  std::printf("\n");
}

// ---------------------------------------------------------------------------------------------------
// (b) live filters

// The policy made runnable by the timing child: getppid, write (the result pipe), exit_group and
// clock_gettime (vDSO, but its syscall fallback must not kill) allowed unconditionally; getpgid allowed
// only when arg0 == 0, so that getpgid(0) is not in the kernel's constant-action cache and the filter runs.
Policy livePolicy(Policy p, std::string &note) {
  std::vector<std::string> added, madeUnconditional;
  auto find = [&](int nr) -> SyscallRule * {
    for (SyscallRule &r : p.allowed)
      if (r.nr == nr)
        return &r;
    return nullptr;
  };
  auto insert = [&](int nr, std::vector<std::vector<ArgCondition>> alts) {
    SyscallRule r;
    r.nr = nr;
    r.name = std::string(*syscallName(nr));
    r.alternatives = std::move(alts);
    p.allowed.insert(std::lower_bound(p.allowed.begin(), p.allowed.end(), nr,
                                      [](const SyscallRule &a, int v) { return a.nr < v; }),
                     r);
  };
  for (int nr : {SYS_getppid, SYS_write, SYS_exit_group, SYS_clock_gettime}) {
    if (SyscallRule *r = find(nr)) {
      if (!r->alternatives.empty()) {
        r->alternatives.clear();
        madeUnconditional.push_back(r->name);
      }
    } else {
      insert(nr, {});
      added.push_back(std::string(*syscallName(nr)));
    }
  }
  std::string pgid;
  if (SyscallRule *r = find(SYS_getpgid)) {
    pgid = r->alternatives.empty() ? "getpgid (was unconditional) restricted to arg0 == 0"
                                   : "getpgid's conditions replaced by arg0 == 0";
    r->alternatives = {{eq(0, 0)}};
  } else {
    insert(SYS_getpgid, {{eq(0, 0)}});
    pgid = "getpgid added with arg0 == 0";
  }
  auto join = [](const std::vector<std::string> &v) {
    std::string s;
    for (const std::string &x : v)
      s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  note = pgid;
  if (!added.empty())
    note += "; added: " + join(added);
  if (!madeUnconditional.empty())
    note += "; made unconditional: " + join(madeUnconditional);
  return p;
}

struct Sample {
  double ppid = 0, pgid = 0;         // ns per call over all chunks
  double bestPpid = 0, bestPgid = 0; // ns per call in the fastest chunk
};

double nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// One child: installs `prog` (none: only no_new_privs), warms up, then times `iters` getppid() and
// `iters` getpgid(0) calls, in 10 interleaved chunks each.
Sample runChild(const BpfProgram *prog, long iters) {
  int fds[2];
  if (pipe(fds) != 0)
    die("pipe failed");
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    die("fork failed");
  if (pid == 0) {
    close(fds[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      _exit(3);
    if (prog) {
      sock_fprog fp{static_cast<unsigned short>(prog->size()), const_cast<sock_filter *>(prog->data())};
      if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0)
        _exit(4);
    }
    for (int i = 0; i < 20000; ++i) {
      syscall(SYS_getppid);
      syscall(SYS_getpgid, 0);
    }
    // Many short chunks, the two calls alternating: a chunk hit by preemption or a noisy neighbour
    // shows up as an outlier, and the best chunk estimates the undisturbed cost.
    const int chunks = 50;
    long per = std::max(1L, iters / chunks);
    double tp = 0, tg = 0, bp = 1e300, bg = 1e300;
    for (int c = 0; c < chunks; ++c) {
      double t0 = nowNs();
      for (long i = 0; i < per; ++i)
        syscall(SYS_getppid);
      double t1 = nowNs();
      for (long i = 0; i < per; ++i)
        syscall(SYS_getpgid, 0);
      double t2 = nowNs();
      tp += t1 - t0;
      tg += t2 - t1;
      bp = std::min(bp, t1 - t0);
      bg = std::min(bg, t2 - t1);
    }
    double total = double(per) * chunks;
    Sample s{tp / total, tg / total, bp / double(per), bg / double(per)};
    if (write(fds[1], &s, sizeof s) != sizeof s)
      _exit(5);
    _exit(0);
  }
  close(fds[1]);
  Sample s;
  ssize_t got = read(fds[0], &s, sizeof s);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != sizeof s || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("timing child failed (status " + std::to_string(status) + ")");
  return s;
}

void sectionB(const std::vector<NamedPolicy> &policies, const std::vector<std::string> &live, int rounds,
              long iters) {
  std::printf("## (b) ns per syscall under live filters\n\n");
  std::printf("One forked child per variant and round; each sets no_new_privs, installs its filter "
              "(seccomp(SECCOMP_SET_MODE_FILTER)), warms up, then times %ld getppid() and %ld getpgid(0) "
              "(50 chunks, the two loops alternating). %d rounds; the variants run round-robin, the first variant rotating "
              "each round. Medians over rounds; Δ = median of the per-round differences to the "
              "no-filter child of the same round; the last column subtracts, within each child, the cached "
              "getppid from the uncached getpgid(0) (both pay seccomp's syscall-entry work) and then the same "
              "difference without a filter: an estimate of the cost of running the BPF program itself.\n\n",
              iters, iters, rounds);
  for (const std::string &name : live) {
    const NamedPolicy *np = nullptr;
    for (const NamedPolicy &x : policies)
      if (x.name == name)
        np = &x;
    if (!np) {
      std::printf("(live policy %s not available: skipped)\n\n", name.c_str());
      continue;
    }
    std::string note;
    Policy p = livePolicy(np->policy, note);
    BpfProgram ours = bespokeProgram(p), theirs = libseccompProgram(p, 2);
    Proof pb = prove(ours, p, name + " live (bespoke)"), pl = prove(theirs, p, name + " live (libseccomp)");
    if (!pb.equivalent || !pl.equivalent)
      die(name + ": live program not proven equivalent");
    const uint64_t zero[6] = {};
    size_t stepsB = runBpf(ours, SYS_getpgid, Policy::AuditArchX86_64, 0, zero).steps;
    size_t stepsL = runBpf(theirs, SYS_getpgid, Policy::AuditArchX86_64, 0, zero).steps;
    size_t ppidB = runBpf(ours, SYS_getppid, Policy::AuditArchX86_64, 0, zero).steps;
    size_t ppidL = runBpf(theirs, SYS_getppid, Policy::AuditArchX86_64, 0, zero).steps;
    bool cachedB = kernelCachesAllow(ours, SYS_getppid), cachedL = kernelCachesAllow(theirs, SYS_getppid);
    bool pgidCachedB = kernelCachesAllow(ours, SYS_getpgid), pgidCachedL = kernelCachesAllow(theirs, SYS_getpgid);

    const char *variants[3] = {"no filter", "bespoke", "libseccomp"};
    const BpfProgram *progs[3] = {nullptr, &ours, &theirs};
    std::vector<Sample> samples[3];
    for (int r = 0; r < rounds; ++r)
      for (int k = 0; k < 3; ++k) {
        int v = (r + k) % 3;
        samples[v].push_back(runChild(progs[v], iters));
      }
    std::printf("### %s: %zu allowed syscalls\n\n", name.c_str(), p.allowed.size());
    std::printf("Policy changes for the timing child: %s. Programs: bespoke %zu insns, libseccomp %zu insns "
                "(both proven). getppid: in the kernel's constant-action cache for bespoke %s / libseccomp %s "
                "(interpreter path %zu / %zu insns, not executed when cached). getpgid(0): cached %s / %s; BPF "
                "instructions executed %zu / %zu.\n\n",
                note.c_str(), ours.size(), theirs.size(), cachedB ? "yes" : "no", cachedL ? "yes" : "no", ppidB,
                ppidL, pgidCachedB ? "yes" : "no", pgidCachedL ? "yes" : "no", stepsB, stepsL);
    for (int best = 0; best < 2; ++best) {
      auto ppidOf = [&](const Sample &x) { return best ? x.bestPpid : x.ppid; };
      auto pgidOf = [&](const Sample &x) { return best ? x.bestPgid : x.pgid; };
      std::printf("%s\n\n| variant | getppid ns/call (cached) | Δ vs no filter | getpgid(0) ns/call (filter runs) | "
                  "Δ vs no filter | Δ %% | BPF run: (getpgid − getppid) − no filter's |\n|---|---|---|---|---|---|---|\n",
                  best ? "Per child the fastest of its 50 chunks (less disturbed by neighbours), median over rounds:"
                       : "Per child all chunks (mean ns/call), median over rounds:");
      std::vector<double> base;
      for (const Sample &x : samples[0])
        base.push_back(pgidOf(x));
      for (int v = 0; v < 3; ++v) {
        std::vector<double> pp, pg, dpp, dpg, drun;
        for (int r = 0; r < rounds; ++r) {
          const Sample &x = samples[v][size_t(r)], &n = samples[0][size_t(r)];
          pp.push_back(ppidOf(x));
          pg.push_back(pgidOf(x));
          dpp.push_back(ppidOf(x) - ppidOf(n));
          dpg.push_back(pgidOf(x) - pgidOf(n));
          drun.push_back((pgidOf(x) - ppidOf(x)) - (pgidOf(n) - ppidOf(n)));
        }
        std::printf("| %s | %.1f | %s | %.1f | %s | %s | %s |\n", variants[v], median(pp),
                    v ? fmt("%+.1f", median(dpp)).c_str() : "-", median(pg), v ? fmt("%+.1f", median(dpg)).c_str() : "-",
                    v ? fmt("%+.1f%%", 100.0 * median(dpg) / median(base)).c_str() : "-",
                    v ? fmt("%+.1f", median(drun)).c_str() : "-");
      }
      std::printf("\n");
    }
    std::printf("Per-round getppid / getpgid(0) ns/call, all chunks (no filter | bespoke | libseccomp):");
    for (int r = 0; r < rounds; ++r)
      std::printf(" %.0f/%.0f|%.0f/%.0f|%.0f/%.0f", samples[0][size_t(r)].ppid, samples[0][size_t(r)].pgid,
                  samples[1][size_t(r)].ppid, samples[1][size_t(r)].pgid, samples[2][size_t(r)].ppid,
                  samples[2][size_t(r)].pgid);
    std::printf("\n\n");
    std::fflush(stdout);
  }
}

// ---------------------------------------------------------------------------------------------------
// (c) proof time

void sectionC(const std::vector<NamedPolicy> &policies, int runs) {
  std::printf("## (c) verification time (verify proveEquivalent, wall time incl. the constant-action proof)\n\n");
  std::printf("%d runs each, bespoke and libseccomp interleaved; median (min–max).\n\n", runs);
  std::vector<const NamedPolicy *> chosen;
  const NamedPolicy *largestCorpus = nullptr;
  for (const NamedPolicy &np : policies)
    if (np.corpus && (!largestCorpus || np.policy.allowed.size() > largestCorpus->policy.allowed.size()))
      largestCorpus = &np;
  for (const NamedPolicy &np : policies)
    if (np.name == "spread-300" || np.name == "all-362" || np.name == "cond-all")
      chosen.push_back(&np);
  if (largestCorpus)
    chosen.insert(chosen.begin() + 1, largestCorpus);
  std::printf("| policy | n | bespoke insns | bespoke s | libseccomp insns | libseccomp s | goal < 1 s |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const NamedPolicy *np : chosen) {
    BpfProgram ours = bespokeProgram(np->policy), theirs = libseccompProgram(np->policy, 2);
    std::vector<double> tb, tl;
    for (int i = 0; i < runs; ++i) {
      Proof a = prove(ours, np->policy, np->name), b = prove(theirs, np->policy, np->name);
      if (!a.equivalent || !b.equivalent)
        die(np->name + ": not proven");
      tb.push_back(a.seconds);
      tl.push_back(b.seconds);
    }
    auto cell = [](const std::vector<double> &v) {
      return fmt("%.3f", median(v)) + " (" + fmt("%.3f", *std::min_element(v.begin(), v.end())) + "–" +
             fmt("%.3f", *std::max_element(v.begin(), v.end())) + ")";
    };
    std::printf("| %s%s | %zu | %zu | %s | %zu | %s | %s |\n", np->name.c_str(), np->corpus ? " (largest manifest)" : "",
                np->policy.allowed.size(), ours.size(), cell(tb).c_str(), theirs.size(), cell(tl).c_str(),
                median(tb) < 1.0 ? "yes" : "**no**");
    std::fflush(stdout);
  }
  std::printf("\n");
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

} // namespace

int main(int argc, char **argv) {
  std::string manifestDir, sections = "abc", liveList = "redis-server,cond-all";
  int rounds = 21, proveRuns = 5;
  long iters = 300000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--manifests")
      manifestDir = next();
    else if (a == "--sections")
      sections = next();
    else if (a == "--rounds")
      rounds = std::stoi(next());
    else if (a == "--iters")
      iters = std::stol(next());
    else if (a == "--prove-runs")
      proveRuns = std::stoi(next());
    else if (a == "--live")
      liveList = next();
    else if (a == "--help" || a == "-h") {
      std::printf("usage: seccomp-bench [--manifests DIR] [--sections abc] [--rounds R] [--iters N] "
                  "[--prove-runs K] [--live NAME,...]\n");
      return 0;
    } else
      die("unknown argument " + a);
  }
  if (rounds < 1 || iters < 10 || proveRuns < 1)
    die("bad --rounds / --iters / --prove-runs");

  std::vector<NamedPolicy> policies;
  if (!manifestDir.empty()) {
    std::vector<std::filesystem::path> files;
    for (const auto &e : std::filesystem::directory_iterator(manifestDir))
      if (e.path().extension() == ".yaml")
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto &f : files) {
      Manifest m = take(loadManifest(f.string()), f.string());
      policies.push_back({f.stem().string(), true, take(policyFromManifest(m, killProcess(), PolicyOptions{false}), f.string())});
    }
  }
  size_t all = x86_64Syscalls().size();
  policies.push_back({"synthetic-1", false, unconditionalPolicy(spread(1))});
  policies.push_back({"spread-10", false, unconditionalPolicy(spread(10))});
  policies.push_back({"spread-100", false, unconditionalPolicy(spread(100))});
  policies.push_back({"spread-300", false, unconditionalPolicy(spread(300))});
  policies.push_back({"all-" + std::to_string(all), false, unconditionalPolicy(spread(all))});
  policies.push_back({"cond-100", false, conditionalPolicy(spread(100))});
  policies.push_back({"cond-all", false, conditionalPolicy(spread(all))});
  if (all != 362)
    std::fprintf(stderr, "note: the x86-64 table has %zu entries, policy named all-%zu\n", all, all);

  utsname u{};
  uname(&u);
  std::string ver = libseccompVersion();
  std::printf("# seccomp-bench: kernel %s, %ld CPUs, libseccomp %s, load average at start %s\n\n", u.release,
              sysconf(_SC_NPROCESSORS_ONLN), ver.c_str(), loadavg().c_str());
  std::printf("Default action kill-process, bad arch kill-process for every policy; corpus policies from "
              "`policyFromManifest` (every manifest syscall unconditional).\n\n");
  if (sections.find('a') != std::string::npos)
    sectionA(policies);
  if (sections.find('b') != std::string::npos) {
    std::vector<std::string> live;
    std::stringstream ss(liveList);
    for (std::string s; std::getline(ss, s, ',');)
      if (!s.empty())
        live.push_back(s);
    sectionB(policies, live, rounds, iters);
  }
  if (sections.find('c') != std::string::npos)
    sectionC(policies, proveRuns);
  std::printf("load average at end %s\n", loadavg().c_str());
  return 0;
}
