// ManifestPolicy: the step from a manifest to the Policy its filter must implement, kept apart from the
// compiler so that the compiler takes a Policy and knows nothing of manifests (or YAML). Also the one
// change a policy needs when its filter is installed before an exec (`bespoke run`, `rewrite --seccomp`).
#pragma once

#include "manifests/Manifest.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

namespace bespoke {

// Every manifest syscall becomes an unconditional allow (argument facts are not used yet), and so does
// every kernel-issued syscall (analyzer/KernelEntries.h) a manifest written before bespoke listed them
// lacks; other x86-64 syscalls get `defaultAction`; other architectures and x32 numbers kill the process.
// A syscall name without an x86-64 number, or with a number that contradicts it, is an error.
llvm::Expected<Policy> policyFromManifest(const Manifest &m, Action defaultAction);

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
