// Render: one compiled seccomp program and its Policy in the formats people deploy (the raw format is
// seccomp/Bpf.h's writeBpf). All deterministic.
#pragma once

#include "seccomp/Bpf.h"
#include "seccomp/Policy.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bespoke {

// A C header: `static const struct sock_filter NAME[]` and `static const struct sock_fprog NAME_prog`.
// `name` is made a C identifier.
std::string renderCHeader(const BpfProgram &prog, const Policy &p, const std::string &name);

// One `syscalls` entry of an OCI / SPO profile: all `args` comparisons must hold (AND); entries are OR-ed.
struct OciComparison {
  unsigned index = 0;
  uint64_t value = 0, valueTwo = 0; // SCMP_CMP_MASKED_EQ: value is the mask, valueTwo the datum
  std::string op;                   // "SCMP_CMP_EQ", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_GE", "SCMP_CMP_LE"
};
struct OciRule {
  std::vector<std::string> names;
  std::vector<OciComparison> args;
  Action action{Action::Allow, 0}; // SCMP_ACT_ERRNO (with errnoRet) for clone3 -> ENOSYS
};

// The profile's rules: one entry with every unconditionally allowed syscall (sorted names), one per
// syscall with another action (by name), then per conditional syscall (by name) one entry per alternative. libseccomp (which runtimes use to compile a
// profile) takes at most one comparison per argument in a rule, so a two-sided 64-bit range becomes
// several entries of aligned blocks (SCMP_CMP_MASKED_EQ with a prefix mask) instead of GE + LE;
// one-sided ranges stay one GE or LE; alternatives that can never hold are left out.
std::vector<OciRule> ociRules(const Policy &p);

// Docker / OCI runtime-spec seccomp profile (JSON).
std::string renderOciJson(const Policy &p);

// A systemd drop-in ([Service] SystemCallFilter=...). Argument conditions are not expressible in
// systemd: such syscalls are allowed unconditionally, and the output says so.
std::string renderSystemd(const Policy &p, const std::string &appName);

// Kubernetes security-profiles-operator SeccompProfile (YAML); metadata.name from `appName`.
std::string renderSpo(const Policy &p, const std::string &appName);

} // namespace bespoke
