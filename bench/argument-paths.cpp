// argument-paths: for each manifest, the seccomp filter `bespoke extend` builds (argument checks on, the
// default) run on the interpreter against the kernel paths container escapes and kernel exploits go
// through: is each one open (the filter allows it) or refused? Also the syscalls allowed, the
// argument-checked count, and the instructions executed per allowed syscall (worst and mean, all-zero
// arguments), with and without argument checks.
// A program, not a test: bench/argument-paths.sh runs it (results in bench/RESULTS.md).
//   argument-paths MANIFEST...
#include "extension-gen/Compiler.h"
#include "extension-gen/ManifestPolicy.h"
#include "manifests/Manifest.h"
#include "seccomp/Interpreter.h"

#include "llvm/Support/Error.h"

#include <cstdio>
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

bool allows(const BpfProgram &p, const Probe &probe) {
  BpfRun r = runBpf(p, uint32_t(probe.nr), Policy::AuditArchX86_64, 0, probe.args);
  return r.ok && r.ret == SECCOMP_RET_ALLOW;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: argument-paths MANIFEST...\n");
    return 2;
  }
  printf("| app | allowed | argument-checked | instructions worst / mean (checks on) | (checks off) |");
  for (const Probe &p : Probes) printf(" %s |", p.name);
  printf("\n|---|---|---|---|---|");
  for (size_t i = 0; i < sizeof Probes / sizeof Probes[0]; ++i) printf("---|");
  printf("\n");
  for (int i = 1; i < argc; ++i) {
    auto m = loadManifest(argv[i]);
    if (!m) {
      fprintf(stderr, "argument-paths: %s\n", llvm::toString(m.takeError()).c_str());
      return 2;
    }
    Action kill{Action::KillProcess, 0};
    auto on = policyFromManifest(*m, kill);
    auto off = policyFromManifest(*m, kill, PolicyOptions{false});
    if (!on || !off) {
      fprintf(stderr, "argument-paths: %s: %s\n", argv[i],
              on ? llvm::toString(off.takeError()).c_str() : llvm::toString(on.takeError()).c_str());
      return 2;
    }
    auto progOn = compilePolicy(*on), progOff = compilePolicy(*off);
    if (!progOn || !progOff) {
      fprintf(stderr, "argument-paths: %s: cannot compile\n", argv[i]);
      return 2;
    }
    size_t checked = 0;
    for (const SyscallRule &r : on->allowed) checked += r.unconditional() ? 0 : 1;
    PathStats son = pathLengths(*progOn, *on), soff = pathLengths(*progOff, *off);
    printf("| %s | %zu | %zu | %zu / %.1f | %zu / %.1f |", m->footprint.app.name.c_str(), on->allowed.size(), checked,
           son.worst, son.mean, soff.worst, soff.mean);
    for (const Probe &p : Probes) printf(" %s |", allows(*progOn, p) ? "open" : "refused");
    printf("\n");
  }
  return 0;
}
