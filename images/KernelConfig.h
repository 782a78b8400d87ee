// KernelConfig: the options an image's kernel must have (each with why), composed from the documented
// base fragments (images/base.config, images/net.config) and the app's kernel requirements, and resolved
// into a full .config by the kernel's own Kconfig tool (allnoconfig with tinyconfig's fragments and ours).
#pragma once

#include "images/KernelSource.h"
#include "specializer/KernelRequirements.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace bespoke {

// A Kconfig fragment: option (no CONFIG_ prefix) -> value ("y", "n" for "is not set", a number, a
// quoted string) and the comment paragraph above it (its reason).
struct ConfigFragment {
  struct Entry {
    std::string value, reason;
  };
  std::map<std::string, Entry> options;
};

// Parses "CONFIG_X=V" and "# CONFIG_X is not set" lines; other comment lines become the reason of the
// options that follow, until a blank line.
llvm::Expected<ConfigFragment> parseFragment(llvm::StringRef text, llvm::StringRef name);

// The embedded images/base.config, images/net.config and images/entropy.config (images/root-KIND.config:
// RootImage.h; images/machine-KIND.config: Machine.h).
llvm::StringRef baseFragmentText();
llvm::StringRef netFragmentText();
llvm::StringRef entropyFragmentText();

struct KernelConfig {
  struct Requirement {
    std::string value = "y";
    std::vector<std::string> reasons; // "base: ...", "net: ...", "app: syscall socket"
  };
  std::map<std::string, Requirement> required; // option (no CONFIG_ prefix) -> value and why
  bool network = false;                         // the image configures lo and eth0
  std::string entropy;                          // why the image has a virtio-rng device ("": it has none)
  bool procfs = false, sysfs = false;           // bespoke-init mounts /proc, /sys
  std::string resolved;                         // the full .config, once resolved

  // The lines appended to tinyconfig's .config ("CONFIG_X=y"), sorted by option.
  std::string fragment() const;
};

// Base + (net when the app needs NET) + every app requirement. Mounts follow the options: PROC_FS ->
// /proc, SYSFS -> /sys.
KernelConfig composeConfig(const ConfigFragment &base, const ConfigFragment &net, const KernelRequirements &app);

// Adds the fragment's options as requirements with the reason "LABEL: <its comment paragraph>".
void addFragment(KernelConfig &c, const ConfigFragment &f, llvm::StringRef label);

// parseDotConfig (a .config's assignments): specializer/KernelRequirements.h.

// One line per required option the resolved .config does not give its value:
// "option X required by <reasons> is not set after Kconfig (unmet dependency?)".
std::vector<std::string> unmetRequirements(const KernelConfig &config, llvm::StringRef resolved);

// Runs the kernel's Kconfig out of tree (make allnoconfig with KCONFIG_ALLCONFIG = tinyconfig's fragments
// + fragment(), so every option nobody asked for is off) and stores the .config in `config.resolved`. Cached in CACHEDIR/kconfig/<sha256>.config, keyed
// by the fragment and the source version; the work tree is CACHEDIR/kconfig/work (kconfig.log there).
llvm::Error resolveConfig(const KernelSource &src, KernelConfig &config, const std::string &cacheDir);

// resolveConfig, then, while required options are unmet, the options they need by the tree's Kconfig
// files (the syscall -> Kconfig table names the option that builds a syscall, not its dependencies:
// NUMA needs SMP; MEMFD_CREATE is `def_bool TMPFS || HUGETLBFS`, TMPFS needs SHMEM) become requirements
// ("Kconfig dependency: X (FILE:LINE) needs Y") and Kconfig runs again (up to 8 rounds). What is still
// unmet afterwards is for the caller to report (unmetRequirements).
llvm::Error resolveWithDependencies(const KernelSource &src, KernelConfig &config, const std::string &cacheDir);

// The Z3 proof (verify/ConfigProof.h) of a resolved .config against the source tree's own Kconfig files
// (ARCH=x86_64): every constraint holds and every required option has its value; then the minimality
// search over the enabled options nobody required. Cached in CACHEDIR/kconfig/<sha256>.proof, keyed by
// the source version, the fragment and the resolved .config (only holding proofs are cached).
struct ConfigProofSummary {
  size_t files = 0, symbols = 0, constraints = 0; // Kconfig files parsed, bool/tristate symbols, constraints
  std::vector<std::string> removable;             // "X" or "X (with Y=n, Z=y)": could be turned off
  double seconds = 0;                             // parse + proof + minimality (when computed)
  bool cacheHit = false;
};

// Errors are one line: a Kconfig syntax error (file:line), or "the resolved kernel config breaks
// Kconfig: FILE:LINE: SYMBOL: CONSTRAINT [values] (and N more)" / "required option X: ...".
llvm::Expected<ConfigProofSummary> proveResolvedConfig(const KernelSource &src, const KernelConfig &config,
                                                       const std::string &cacheDir);

// The minimality loop: takes the proof's removable options (turn them off, re-run Kconfig, re-prove)
// while that makes the config smaller. Candidates that need the same other changes ("with
// PROCESSOR_SELECT=y") are taken together; a group is applied only when the resolved .config then has
// fewer enabled (=y/=m) options than before, and every requirement still holds after Kconfig. Applied
// changes become requirements (value "n", or the companion's value) with a "minimality: ..." reason,
// so image.json shows them; `config.resolved` is the last resolution and `proof` its proof (the first
// round's proof is the gate for the config as composed: its error is returned as is). Every step is
// cached (resolutions and proofs), so a warm run replays it from the cache.
struct MinimalConfig {
  std::vector<std::string> applied; // one line per applied group
  ConfigProofSummary proof;         // of the final config
};
llvm::Expected<MinimalConfig> minimizeConfig(const KernelSource &src, KernelConfig &config, const std::string &cacheDir,
                                             llvm::raw_ostream &progress);

// Enabled (=y or =m) options of a .config.
size_t enabledOptions(llvm::StringRef dotConfig);

// Hex SHA-256 of a string (cache keys).
std::string sha256Hex(llvm::StringRef text);

} // namespace bespoke
