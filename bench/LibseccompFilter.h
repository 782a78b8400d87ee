// LibseccompFilter: OCI seccomp rules compiled by libseccomp the way a container runtime (runc) compiles a
// profile, so that the bench compares bespoke's programs with what a runtime would install for the same
// policy, and runs Docker's profile through the same path. x86-64 only.
#pragma once

#include "extension-gen/Render.h"
#include "seccomp/Bpf.h"
#include "seccomp/Policy.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace bespoke {

struct LibseccompFilter {
  BpfProgram program;
  size_t rules = 0; // seccomp_rule_add calls
};

// Compiles `rules` with libseccomp for the native arch alone (checked to be x86-64 only), with
// SCMP_FLTATR_CTL_OPTIMIZE `optimize`, adding them as runc's matchCall does: one rule per name; a rule
// whose action is the default is left out (libseccomp refuses it); comparisons AND together, except when
// two name the same argument, then each becomes a rule of its own (OR). `numberOf` gives each name's
// x86-64 number; a name without one, an unknown comparison or a libseccomp failure is an error.
llvm::Expected<LibseccompFilter>
libseccompFilter(const std::vector<OciRule> &rules, Action defaultAction, Action badArchAction, int optimize,
                 llvm::function_ref<std::optional<int>(const std::string &)> numberOf);

// The policy as a runtime gets it from bespoke's OCI rendering (ociRules), names numbered by the policy's
// own rules.
llvm::Expected<LibseccompFilter> libseccompFilter(const Policy &p, int optimize);

// A syscall name's x86-64 number in libseccomp's own table, as runc resolves a profile's names; nothing for
// a name libseccomp does not know or gives only a pseudo-number (another arch's, like socketcall).
std::optional<int> libseccompNumber(const std::string &name);

// libseccomp's version, "2.5.4".
std::string libseccompVersion();

} // namespace bespoke
