// argument-paths: for each manifest, the seccomp filter `bespoke extend` builds (argument checks on, the
// default) beside libseccomp's program for the same policy and Docker's default profile, against the kernel
// paths container escapes and kernel exploits go through. Prints two Markdown tables:
//   cost:  syscalls allowed and argument-checked; BPF instructions executed per allowed syscall (worst,
//          mean) for bespoke, libseccomp (OPTIMIZE 2, the policy's OCI rules added as runc adds them) and
//          bespoke without argument checks; the fraction of allowed syscalls the kernel's constant-action
//          cache takes; wall time of the Z3 proof (verify's proveEquivalent) of each program.
//   paths: per probe, open (allowed) or refused, bespoke / Docker; how Docker's profile treats the app's
//          syscalls.
// A program, not a test: bench/argument-paths.sh runs it (results in bench/RESULTS.md).
//   argument-paths --docker PROFILE.json [--prove-runs K] MANIFEST...
// Exit status: 0; 1 when two things that must agree do not (a program not proven equal to its policy,
// bespoke's and libseccomp's programs on a probe, the Docker profile's reading and libseccomp's program
// built from it); 2 for bad arguments or input (one line on standard error).
#include "analyzer/SyscallTable.h"
#include "bench/AllowedPaths.h"
#include "bench/DockerProfile.h"
#include "bench/LibseccompFilter.h"
#include "extension-gen/Compiler.h"
#include "extension-gen/Gate.h"
#include "extension-gen/ManifestPolicy.h"
#include "manifests/Manifest.h"
#include "seccomp/Interpreter.h"
#include "verify/Equivalence.h"

#include "llvm/Support/Error.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace bespoke;

namespace {

struct Probe {
  const char *name;
  int nr;
  uint64_t args[6];
};

// x86-64 numbers and Linux constants (include/uapi): socket 41, ioctl 16, clone 56, mprotect 10,
// personality 135.
const Probe Probes[] = {
    {"AF_ALG", 41, {38, 5, 0, 0, 0, 0}},             // socket(AF_ALG, SOCK_SEQPACKET, 0)
    {"AF_VSOCK", 41, {40, 1, 0, 0, 0, 0}},           // socket(AF_VSOCK, SOCK_STREAM, 0)
    {"AF_PACKET", 41, {17, 3, 0x300, 0, 0, 0}},      // socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))
    {"AF_NETLINK", 41, {16, 3, 0, 0, 0, 0}},         // socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
    {"CLONE_NEWUSER", 56, {0x10000000 | 17, 0, 0, 0, 0, 0}}, // clone(CLONE_NEWUSER | SIGCHLD)
    {"TIOCSTI", 16, {0, 0x5412, 0, 0, 0, 0}},        // ioctl(0, TIOCSTI, ...)
    {"PROT_EXEC", 10, {0, 4096, 0x4 | 0x1, 0, 0, 0}}, // mprotect(..., PROT_READ | PROT_EXEC)
    {"personality", 135, {0x0400000, 0, 0, 0, 0, 0}}, // personality(READ_IMPLIES_EXEC)
};

constexpr uint32_t Allow = SECCOMP_RET_ALLOW;

[[noreturn]] void fail(int status, const std::string &msg) {
  std::fprintf(stderr, "argument-paths: %s\n", msg.c_str());
  std::exit(status);
}

template <typename T> T take(llvm::Expected<T> e, int status, const std::string &what) {
  if (!e)
    fail(status, what + ": " + llvm::toString(e.takeError()));
  return std::move(*e);
}

BpfRun run(const BpfProgram &p, int nr, const uint64_t args[6]) {
  return runBpf(p, static_cast<uint32_t>(nr), Policy::AuditArchX86_64, 0, args);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string join(const std::vector<std::string> &v, const char *none = "none") {
  std::string s;
  for (const std::string &x : v)
    s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? none : s;
}

std::string nameOf(int nr) { return std::string(syscallName(nr).value_or("?")); }

// The first three, for a long list whose length is the point.
std::string examples(const std::vector<std::string> &v) {
  std::vector<std::string> some(v.begin(), v.begin() + std::min<size_t>(3, v.size()));
  return join(some) + (v.size() > 3 ? ", ..." : "");
}

// Docker's profile read two ways must agree before any of it is reported: dockerDecide (the reading, names
// numbered by bespoke's table) and libseccomp's program from the same rules, names numbered by libseccomp
// as runc numbers them, run on the interpreter. Checked on every x86-64 syscall with all-zero arguments,
// the probes, and for each rule with comparisons on values at and beside each one.
void checkDockerReading(const DockerProfile &docker) {
  LibseccompFilter lib = take(libseccompFilter(dockerOciRules(docker), docker.defaultAction, docker.defaultAction, 2,
                                               libseccompNumber),
                              2, "Docker's profile through libseccomp");
  for (const std::string &name : docker.unnumbered)
    if (libseccompNumber(name))
      fail(1, "Docker's profile: libseccomp numbers " + name + ", bespoke's syscall table does not");
  auto agree = [&](int nr, const uint64_t args[6]) {
    Action mine = take(dockerDecide(docker, nr, args), 2, "Docker's profile");
    BpfRun b = run(lib.program, nr, args);
    if (!b.ok || b.ret != mine.value()) {
      std::string text = std::string(syscallName(nr).value_or("?")) + "(";
      for (int i = 0; i < 6; ++i)
        text += (i ? ", " : "") + std::to_string(args[i]);
      fail(1, "Docker's profile: for " + text + ") the reading says " + mine.name() +
                  ", libseccomp's program returns " + actionText(b.ret));
    }
  };
  const uint64_t zero[6] = {};
  for (const SyscallEntry &e : x86_64Syscalls())
    agree(e.nr, zero);
  for (const Probe &p : Probes)
    agree(p.nr, p.args);
  for (const DockerRule &rule : docker.rules)
    for (const OciComparison &c : rule.args)
      for (uint64_t v : {c.value, c.value + 1, c.value - 1, c.valueTwo, c.value | c.valueTwo, ~c.value}) {
        uint64_t args[6] = {};
        args[c.index] = v;
        agree(rule.nr, args);
      }
}

struct Proved {
  double seconds = 0;   // median wall time of proveEquivalent
  size_t cached = 0;    // allowed syscalls the kernel's constant-action cache takes
};

// proveEquivalent `runs` times; a program not proven equal to the policy is a finding (exit 1).
Proved prove(const BpfProgram &prog, const Policy &p, int runs, const std::string &what) {
  std::vector<double> secs;
  Proved out;
  for (int i = 0; i < runs; ++i) {
    Verdict v = take(proveEquivalent(prog, p), 1, what);
    if (!v.equivalent)
      fail(1, what + ": NOT equivalent to the policy: " + v.counterexample);
    secs.push_back(v.seconds);
    out.cached = v.kernelCachedSyscalls.size();
  }
  out.seconds = median(secs);
  return out;
}

struct AppRow {
  std::string app;
  size_t allowed = 0, checked = 0, bespokeInsns = 0, libInsns = 0;
  Paths on, lib, off;
  Proved provedOn, provedLib;
  bool open[std::size(Probes)] = {};
  std::vector<std::string> dockerRefuses, dockerConditional;
  size_t dockerAllows = 0;
};

AppRow measure(const std::string &path, const DockerProfile &docker, int proveRuns) {
  Manifest m = take(loadManifest(path), 2, path);
  AppRow row;
  row.app = m.footprint.app.name;
  Action kill{Action::KillProcess, 0};
  Policy on = take(policyFromManifest(m, kill), 2, path);
  Policy off = take(policyFromManifest(m, kill, PolicyOptions{false}), 2, path);
  // The filter `bespoke extend` writes: compiled, then proven (extension-gen's gate).
  ProvenFilter proven = take(compileProven(on), 1, row.app + " (bespoke)");
  BpfProgram progOff = take(compilePolicy(off), 2, row.app + " (bespoke, --no-args)");
  LibseccompFilter lib = take(libseccompFilter(on, 2), 2, row.app + " (libseccomp)");

  row.allowed = on.allowed.size();
  row.checked = size_t(std::count_if(on.allowed.begin(), on.allowed.end(),
                                     [](const SyscallRule &r) { return !r.unconditional(); }));
  row.bespokeInsns = proven.program.size();
  row.libInsns = lib.program.size();
  row.on = take(measureAllowedPaths(proven.program, on, row.app + " (bespoke)"), 1, "paths").all();
  row.lib = take(measureAllowedPaths(lib.program, on, row.app + " (libseccomp)"), 1, "paths").all();
  row.off = take(measureAllowedPaths(progOff, off, row.app + " (bespoke, --no-args)"), 1, "paths").all();
  row.provedOn = prove(proven.program, on, proveRuns, row.app + " (bespoke)");
  row.provedLib = prove(lib.program, on, proveRuns, row.app + " (libseccomp)");

  for (size_t i = 0; i < std::size(Probes); ++i) {
    const Probe &p = Probes[i];
    BpfRun b = run(proven.program, p.nr, p.args), l = run(lib.program, p.nr, p.args);
    bool policyAllows = on.decide(uint32_t(p.nr), Policy::AuditArchX86_64, p.args).value() == Allow;
    row.open[i] = b.ok && b.ret == Allow;
    if (row.open[i] != (l.ok && l.ret == Allow) || row.open[i] != policyAllows)
      fail(1, row.app + ": " + p.name + ": bespoke's program returns " + actionText(b.ret) + ", libseccomp's " +
                  actionText(l.ret) + ", the policy " + (policyAllows ? "allows" : "refuses"));
  }
  for (const SyscallRule &r : on.allowed) {
    switch (dockerTreatment(docker, r.nr)) {
    case DockerTreatment::Allowed: ++row.dockerAllows; break;
    case DockerTreatment::Conditional: row.dockerConditional.push_back(r.name); break;
    case DockerTreatment::Refused: {
      // Named with what Docker answers: clone3's ENOSYS is a fallback to clone for glibc, EPERM a failure.
      const uint64_t zero[6] = {};
      Action a = take(dockerDecide(docker, r.nr, zero), 2, "Docker's profile");
      row.dockerRefuses.push_back(r.name + " (" + a.name() + ")");
      break;
    }
    }
  }
  return row;
}

} // namespace

int main(int argc, char **argv) {
  std::string dockerPath;
  int proveRuns = 3;
  std::vector<std::string> manifests;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--docker" || a == "--prove-runs") && i + 1 >= argc)
      fail(2, "missing value after " + a);
    if (a == "--docker")
      dockerPath = argv[++i];
    else if (a == "--prove-runs") {
      proveRuns = std::atoi(argv[++i]);
      if (proveRuns < 1)
        fail(2, "--prove-runs takes a count >= 1");
    } else if (a.size() > 1 && a[0] == '-')
      fail(2, "unknown option " + a);
    else
      manifests.push_back(a);
  }
  if (dockerPath.empty() || manifests.empty())
    fail(2, "usage: argument-paths --docker PROFILE.json [--prove-runs K] MANIFEST...");

  // Docker's default container: x86-64, the default capabilities, kernel 6.1 (Debian 12's).
  DockerContainer container;
  container.caps = dockerDefaultCaps();
  DockerProfile docker = take(readDockerProfile(dockerPath, container), 2, "--docker");
  checkDockerReading(docker);

  std::string load0 = loadavg();
  std::vector<AppRow> rows;
  for (const std::string &path : manifests)
    rows.push_back(measure(path, docker, proveRuns));

  std::printf("Instructions: BPF instructions executed per allowed syscall on the interpreter (the `ret` "
              "included; in brackets the first syscall on the worst path): each unconditional syscall once with all-zero arguments, each argument-checked one "
              "once per alternative with arguments that satisfy it. Cached: allowed syscalls the kernel's "
              "constant-action cache takes (verify's kernelCachesAllow) / allowed. Proof: wall time of "
              "verify's proveEquivalent, median of %d. libseccomp %s: the policy's OCI rules (ociRules), "
              "SCMP_FLTATR_CTL_OPTIMIZE 2, x86-64 only. Load average %s at start, %s at end.\n\n",
              proveRuns, libseccompVersion().c_str(), load0.c_str(), loadavg().c_str());
  std::printf("| app | allowed | argument-checked | insns bespoke / libseccomp | worst / mean bespoke | worst / mean "
              "libseccomp | worst / mean bespoke --no-args | cached bespoke | cached libseccomp | proof s bespoke "
              "| proof s libseccomp |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const AppRow &r : rows)
    std::printf("| %s | %zu | %zu | %zu / %zu | %zu (%s) / %.1f | %zu (%s) / %.1f | %zu / %.1f | %zu/%zu (%.0f%%) | "
                "%zu/%zu (%.0f%%) | %.2f | %.2f |\n",
                r.app.c_str(), r.allowed, r.checked, r.bespokeInsns, r.libInsns, r.on.worst, nameOf(r.on.worstNr).c_str(),
                r.on.mean(), r.lib.worst, nameOf(r.lib.worstNr).c_str(), r.lib.mean(), r.off.worst, r.off.mean(), r.provedOn.cached, r.allowed,
                100.0 * double(r.provedOn.cached) / double(r.allowed), r.provedLib.cached, r.allowed,
                100.0 * double(r.provedLib.cached) / double(r.allowed), r.provedOn.seconds, r.provedLib.seconds);

  size_t dockerAllowed = 0;
  std::vector<std::string> dockerConditional;
  for (const SyscallEntry &e : x86_64Syscalls())
    switch (dockerTreatment(docker, e.nr)) {
    case DockerTreatment::Allowed: ++dockerAllowed; break;
    case DockerTreatment::Conditional: dockerConditional.push_back(std::string(e.name)); break;
    case DockerTreatment::Refused: break;
    }
  std::printf("\nDocker's profile (%s): %zu of %zu blocks kept for amd64, the default capabilities and "
              "kernel 6.1; default action %s; of the %zu x86-64 syscalls it allows %zu for any arguments and %zu "
              "for some (%s); %zu names in kept blocks have no x86-64 number (%s), as in libseccomp. Its reading agrees with "
              "libseccomp's program from the same rules. Each probe cell: bespoke / Docker; libseccomp's "
              "program for bespoke's policy answers every probe as bespoke's does (checked).\n\n",
              dockerPath.c_str(), docker.keptBlocks, docker.blocks, docker.defaultAction.name().c_str(),
              x86_64Syscalls().size(), dockerAllowed, dockerConditional.size(), join(dockerConditional).c_str(),
              docker.unnumbered.size(), examples(docker.unnumbered).c_str());
  std::printf("| app | allowed (bespoke) | of them Docker allows | Docker allows for some arguments | Docker refuses |");
  for (const Probe &p : Probes)
    std::printf(" %s |", p.name);
  std::printf("\n|---|---|---|---|---|");
  for (size_t i = 0; i < std::size(Probes); ++i)
    std::printf("---|");
  std::printf("\n");
  for (const AppRow &r : rows) {
    std::printf("| %s | %zu | %zu | %s | %s |", r.app.c_str(), r.allowed, r.dockerAllows, join(r.dockerConditional).c_str(),
                join(r.dockerRefuses).c_str());
    for (size_t i = 0; i < std::size(Probes); ++i) {
      Action d = take(dockerDecide(docker, Probes[i].nr, Probes[i].args), 2, "Docker's profile");
      std::printf(" %s / %s |", r.open[i] ? "open" : "refused", d.kind == Action::Allow ? "open" : "refused");
    }
    std::printf("\n");
  }
  return 0;
}
