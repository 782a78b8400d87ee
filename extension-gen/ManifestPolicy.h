// ManifestPolicy: the step from a manifest to the Policy its filter must implement, kept apart from the
// compiler so that the compiler takes a Policy and knows nothing of manifests (or YAML). Also the one
// change a policy needs when its filter is installed before an exec (`bespoke run`, `rewrite --seccomp`).
#pragma once

#include "manifests/Manifest.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace bespoke {

struct PolicyOptions {
  // Argument facts become conditions (the default); false (--no-args): every syscall unconditional and
  // the facts are not read at all.
  bool argumentConditions = true;
  // clone3 answered errno:ENOSYS when clone's flags are checked (--clone3-enosys). Off by default: seccomp
  // cannot read clone3's flags, and glibc falls back to clone on ENOSYS, but a program calling clone3
  // itself may not (the kernel's own clone3 and pidfd selftests skip or fail), and the manifest cannot
  // yet show that every clone3 site is glibc's. Without it, clone3 stays allowed as the manifest lists it.
  bool clone3Enosys = false;
};

// Every manifest syscall is allowed, and so is every kernel-issued syscall (analyzer/KernelEntries.h) a
// manifest written before bespoke listed them lacks; other x86-64 syscalls get `defaultAction`; other
// architectures and x32 numbers kill the process. With argument conditions, a syscall whose facts list
// values is allowed only for them (extension-gen/ArgumentConditions.h); kernel-issued syscalls stay
// unconditional; and when clone's flags are checked, clone3 (whose flags seccomp cannot read) is answered
// errno:ENOSYS so that libc falls back to clone. The checks are kept under the kernel's instruction limit
// by leaving the largest unchecked. `notes` (optional) gets one line per argument or syscall left
// unchecked for size. Errors: a syscall name without an x86-64 number, or with a number that contradicts
// it; a fact naming an argument the spec table does not record, or a value that is not a 32-bit number.
llvm::Expected<Policy> policyFromManifest(const Manifest &m, Action defaultAction, const PolicyOptions &opts = {},
                                          std::vector<std::string> *notes = nullptr);

// The most instructions argument checks may take in one filter (the search tree over at most ~450 ranges
// and its trampolines fit in the rest of the kernel's 4096).
constexpr size_t ArgumentCheckBudget = 2400;

// What clone3 gets when clone's flags are checked: errno:ENOSYS (38), as container runtimes do.
constexpr uint16_t Clone3Errno = 38;

// What grantExecve changed.
enum class ExecveGrant {
  AlreadyAllowed, // execve was allowed for any arguments
  Added,          // the policy lacked execve
  Widened,        // execve was allowed only for some arguments; now for any
};

// Allows execve for any arguments: a filter installed before an exec must let that exec through (the
// exec of `bespoke run`'s command, bespoke-init's exec of the app).
ExecveGrant grantExecve(Policy &p);

} // namespace bespoke
