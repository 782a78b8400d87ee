// NetAttach: loads network policy programs (NetPrograms.h) into the kernel with libbpf and attaches them to
// a fresh cgroup v2 directory whose processes they then govern. Needs root (CAP_BPF and CAP_NET_ADMIN) and
// a mounted cgroup v2. See extension-gen/README.md, "Network policy programs (eBPF)".
#pragma once

#include "ebpf/Program.h"

#include "llvm/Support/Error.h"

#include <sys/types.h>

#include <string>
#include <vector>

namespace bespoke {

// One bpf_prog_load (license "GPL"): the fd, or -1 with the first refusal's errno and, unless that was
// EPERM, the last `tailLines` lines of the verifier's log from a second, logged attempt (joined with " | ").
// A program refused once and accepted with the log is taken.
struct BpfLoad {
  int fd = -1;
  int err = 0;
  std::string logTail;
};
BpfLoad loadBpfProgram(bpf_prog_type type, bpf_attach_type expected, const char *name,
                       const std::vector<bpf_insn> &insns, size_t tailLines);

// Loads one program (bpf_prog_load: programType(p.hook), expected_attach_type attachType(p.hook), license
// "GPL") and returns its fd, which the caller owns. On refusal the error carries errno's text and the last
// lines of the kernel verifier's log.
llvm::Expected<int> loadNetProgram(const EbpfProgram &p);

// A cgroup v2 directory `bespoke-net-<pid>-<n>` under the cgroup v2 root with one program per hook
// attached (flags 0: no program below may override them). Processes added to it (and their children) get
// the programs' verdicts. Movable, not copyable.
//
// Lifecycle: create() -> addProcess(child)... -> the processes exit -> close(). close() detaches every
// program, closes the fds and removes the directory; it reports what failed, e.g. EBUSY when a process is
// still in the cgroup: nothing moves processes out, so callers put only processes in it whose end they
// wait for. The destructor does the same, best effort and silently, when close() was not called.
class NetCgroup {
public:
  // Loads and attaches `programs` (none: just the cgroup). `prefix` names the directory
  // (`<prefix><pid>-<n>`). On error nothing is left attached, loaded or created.
  static llvm::Expected<NetCgroup> create(const std::vector<EbpfProgram> &programs,
                                          const std::string &prefix = "bespoke-net-");

  // The directory's open file descriptor (O_RDONLY | O_DIRECTORY), owned by this object; -1 after close().
  int fd() const { return cgroupFd; }

  NetCgroup(NetCgroup &&other) noexcept;
  NetCgroup &operator=(NetCgroup &&other) noexcept;
  NetCgroup(const NetCgroup &) = delete;
  NetCgroup &operator=(const NetCgroup &) = delete;
  ~NetCgroup();

  // The cgroup's directory ("/sys/fs/cgroup/unified/bespoke-net-1234-0"); empty after close().
  const std::string &path() const { return dir; }

  // Moves `pid` into the cgroup (writes it to cgroup.procs).
  llvm::Error addProcess(pid_t pid);

  // Detaches, closes and removes everything; the first failure is returned, the rest is still done.
  // Idempotent.
  llvm::Error close();

private:
  NetCgroup() = default;

  struct Attached {
    int progFd = -1;
    bpf_attach_type type{};
    bool attached = false;
  };
  std::string dir;
  int cgroupFd = -1;
  std::vector<Attached> programs;
};

// The mount point of the first cgroup v2 file system in /proc/self/mountinfo.
llvm::Expected<std::string> cgroup2Root();

} // namespace bespoke
