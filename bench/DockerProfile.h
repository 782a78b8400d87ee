// DockerProfile: a Docker (moby) seccomp profile as it applies to one container on x86-64 — the blocks
// dockerd keeps for the container's arch, capabilities and kernel (moby 20.10's setupSeccomp), with the
// names that have an x86-64 number — and what the filter runc builds from it returns for a syscall. For
// setting bespoke's per-app filters beside the profile most containers run under.
#pragma once

#include "extension-gen/Render.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bespoke {

// What dockerd matches a block's includes/excludes against.
struct DockerContainer {
  std::string arch = "amd64";    // Go's name for the arch, as includes/excludes.arches spell it
  std::vector<std::string> caps; // the container's bounding set ("CAP_CHOWN", ...)
  unsigned kernel = 6, major = 1; // the host kernel, for minKernel ("4.8")
};

// Docker's default capability set (moby 20.10, oci/caps/defaults.go DefaultCapabilities).
std::vector<std::string> dockerDefaultCaps();

// One syscall name of one kept block: runc adds a libseccomp rule per name.
struct DockerRule {
  int nr = -1;
  std::string name;
  std::vector<OciComparison> args; // AND, except that comparisons sharing an index are OR-ed (runc)
  Action action{Action::Allow, 0};
};

struct DockerProfile {
  Action defaultAction;
  std::vector<DockerRule> rules;
  std::vector<std::string> unnumbered; // names of kept blocks without an x86-64 number (runc skips them)
  size_t blocks = 0, keptBlocks = 0;
};

// Reads the JSON profile (llvm::json) and keeps what applies to `c`: a block is dropped when its
// excludes name the arch, a cap the container has, or a minKernel the kernel reaches, or when its includes
// name other arches only, a cap the container lacks, or a minKernel above the kernel. Actions: SCMP_ACT_*
// (SCMP_ACT_KILL is kill-thread, errno and trace default to EPERM as in runc); comparisons: SCMP_CMP_NE,
// LT, LE, EQ, GE, GT, MASKED_EQ (value is the mask). Errors name the file and the block: unreadable,
// not JSON, an unknown action or comparison, a field of the wrong type, both `name` and `names`.
llvm::Expected<DockerProfile> readDockerProfile(const std::string &path, const DockerContainer &c);

// The profile's rules in the shape bench/LibseccompFilter.h compiles (one rule per name).
std::vector<OciRule> dockerOciRules(const DockerProfile &p);

// What the filter returns for x86-64 syscall `nr` with these arguments: the action of the rules for `nr`
// that hold, the default when none does. Comparisons are on all 64 bits, as libseccomp's. An error when
// rules with different actions hold at once (which libseccomp picks is not modelled).
llvm::Expected<Action> dockerDecide(const DockerProfile &p, int nr, const uint64_t args[6]);

// How the profile treats syscall `nr` whatever its arguments.
enum class DockerTreatment {
  Allowed,     // a rule without comparisons allows it
  Conditional, // only rules with comparisons allow it
  Refused,     // no rule allows it (the default, or a rule's other action)
};
DockerTreatment dockerTreatment(const DockerProfile &p, int nr);

} // namespace bespoke
