// ObserveNotify: observe mode by seccomp user notification, the default mechanism of `bespoke observe`.
// The manifest's filter with every refusing answer turned into SECCOMP_RET_USER_NOTIF (notifyPolicy) is
// compiled and proven like any filter (Gate's compileProven) and installed in the command right before
// its exec, with a listener. bespoke, the supervisor, takes the listener from the child (pidfd_getfd),
// receives each call the filter would refuse, records it (number, the arguments the policy checks, the
// calling convention, and for the first call of each kind a stack) and lets it run
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE): the command is never restricted. Calls the policy allows never leave
// the kernel: they cost the filter (for an unconditional syscall, the kernel's constant-action cache) and
// nothing else, and no other process on the machine pays anything, unlike a raw_syscalls:sys_enter
// program (ObserveRun), which puts every task's syscalls on the tracing path.
//
// The command runs in a fresh cgroup v2 as under the eBPF program (NetRun.h's runInCgroup), so that what it
// leaves running when it ends is killed the same way; needs what that needs (root, a mounted cgroup v2).
#pragma once

#include "extension-gen/ObserveRun.h"
#include "seccomp/Bpf.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace bespoke {

// The policy with each action that is not allow (rules' actions, the default and the bad-arch action)
// replaced by user-notif, and without its execve rule: it allows exactly what `policy` allows but execve,
// and hands over everything else (every execve too: the command's own exec must wait for the supervisor
// to take the listener, see ObserveNotify.cpp; the report decides each handed-over call by `policy`).
Policy notifyPolicy(const Policy &policy);

// Runs `path` with `argv` with `filter` (a proven filter of notifyPolicy(policy)) installed before the exec
// and this process as its supervisor; `policy` says which arguments of a call to record. The result's
// calls are the handed-over ones (mechanism "seccomp"), each with the stack of its first call: the instruction
// after the syscall, then return addresses found by scanning the stack (words just after a call
// instruction in an executable file mapping; no frame pointers needed, but a stale one can appear).
// Errors: no cgroup v2, not root, fork fails, the filter cannot be installed or its listener not taken;
// nothing is left running then, nor after a run.
llvm::Expected<ObserveRunResult> runNotified(const BpfProgram &filter, const Policy &policy, const std::string &path,
                                             const std::vector<std::string> &argv);

} // namespace bespoke
