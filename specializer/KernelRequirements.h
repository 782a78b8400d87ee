// KernelRequirements: the Linux 6.1 Kconfig options an application's footprint needs, and which system
// calls a kernel built with a given set of options implements. Backed by the syscall -> Kconfig table
// generated from Debian's linux-source-6.1 by scripts/gen-kconfig-map (see specializer/README.md).
#pragma once

#include "analyzer/Footprint.h"

#include "llvm/ADT/StringRef.h"

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bespoke {

// What building one system call takes: it is built when every option of at least one alternative is
// on (an OR of ANDs, as Makefile and #ifdef conditions combine). One empty alternative: always built.
struct SyscallBuild {
  std::string name;                                   // x86-64 kernel name, e.g. "epoll_create1"
  std::vector<std::vector<std::string>> alternatives; // CONFIG_ names without the prefix, e.g. "EPOLL"
  bool inDebianGeneric = false; // built by Debian 12's linux-image-amd64 (6.1) config
};

// The table entry for one x86-64 system call, or nullptr when the name is not in the table.
const SyscallBuild *syscallBuild(std::string_view name);

// The whole table, sorted by name.
const std::vector<SyscallBuild> &syscallBuildTable();

// The options a footprint needs, each with the manifest facts that require it (one line each, e.g.
// "syscall epoll_create1", "socket family AF_INET (socket arg domain)", "path /proc/self/maps").
struct KernelRequirements {
  std::map<std::string, std::vector<std::string>> options; // option (no CONFIG_ prefix) -> reasons
  std::vector<std::string> unknownSyscalls; // footprint syscalls the table does not know (sorted)
};

KernelRequirements kernelRequirements(const Footprint &fp);

// The manifest's kernel.features: every option kernelRequirements finds, as "CONFIG_NAME", each with its
// first reasons (written beside it as a comment). What `rewrite` builds from; the list is computed from
// the syscalls, facts and paths, so editing it by hand changes no kernel (edit those instead).
void recordKernelFeatures(Footprint &fp);

// The system calls (sorted names) a kernel with exactly the options in `enabled` on builds.
std::vector<std::string> syscallsBuiltWith(const std::set<std::string> &enabled);

// A .config's assignments: option (no CONFIG_ prefix) -> value ("n" for "# CONFIG_X is not set"). Here
// because both images/ (composing and checking a config) and the decision (what an image lacks) read them.
std::map<std::string, std::string> parseDotConfig(llvm::StringRef text);

} // namespace bespoke
