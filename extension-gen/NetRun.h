// NetRun: a command run under the network policy programs (`bespoke run --net`): a fresh cgroup v2 with the
// programs attached (NetAttach.h), the command forked into it before it executes, its end awaited, and the
// cgroup removed again. What the command leaves running in the cgroup when it ends is killed (cgroup.kill):
// the programs cannot be detached from processes that keep running, and nothing may stay attached.
#pragma once

#include "ebpf/Program.h"
#include "extension-gen/NetAttach.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace bespoke {

struct NetRunResult {
  int status = 0;            // the command's exit status, 128+N when signal N ended it
  int leftBehindKilled = 0;  // processes of the command still in the cgroup when it ended, killed
};

// Runs `path` with `argv` (argv[0] included) in a cgroup with `programs` attached. `inChild` runs in the
// child after it is in the cgroup and right before the exec (e.g. installing the seccomp filter); if it
// fails the child prints its error and exits 2. SIGTERM, SIGHUP, SIGINT and SIGQUIT sent to this process
// with kill() are passed on to the command (a terminal's signals reach it directly). Errors: the cgroup or
// programs cannot be set up (no cgroup v2, not root, the kernel refuses a program), fork fails; nothing is
// left attached or running then.
// The same for a cgroup the caller made (and closes): `path` runs in `cg`. Before the child joins the
// cgroup it is blocked in read() (the parent waits for /proc/PID/syscall to show it), so that a program
// watching the cgroup's system calls sees, of the child's own code, only the exec and what follows.
// Whatever of the command is left in the cgroup when it ends is killed; the cgroup is not closed.
llvm::Expected<NetRunResult> runInCgroup(NetCgroup &cg, const std::string &path, const std::vector<std::string> &argv,
                                         const std::function<llvm::Error()> &inChild);

llvm::Expected<NetRunResult> runUnderNetPrograms(const std::vector<EbpfProgram> &programs, const std::string &path,
                                                 const std::vector<std::string> &argv,
                                                 const std::function<llvm::Error()> &inChild);

} // namespace bespoke
