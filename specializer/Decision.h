// Decision: extend the stock kernel with a verified filter, or rewrite the application into a trimmed
// unikernel — with the blockers and gains behind the choice, each tied to manifest facts.
// Deterministic: the same manifest (and image, when given) gives the same decision.
// The JSON form is versioned and described by specializer/decision.schema.json.
#pragma once

#include "manifests/Manifest.h"
#include "specializer/MeasuredImage.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bespoke {

inline constexpr int kDecisionVersion = 1;

// A manifest fact (or a measurement of the built image) that stands in the way of a rewrite (or, for
// caveats, of either option).
struct Finding {
  std::string kind;     // "executes-programs", "ptrace", "kernel-modules", "mounts", "host-device",
                        // "dynamic-loading", "unresolved-syscall", "unknown-syscall", "image-failed";
                        // caveats: "unresolved-sites"
  std::string detail;   // one line for a human
  std::string syscall;  // the manifest syscall it rests on, if any
  std::string path;     // the kernel path it rests on, if any (image-failed: the measurement file)
  std::vector<Evidence> evidence; // the manifest's chains (at most a few)
};

struct ExtendGains {
  size_t allowed = 0;             // syscalls the filter allows
  size_t denied = 0;              // x86-64 syscalls it denies
  size_t argumentConstrained = 0; // allowed only for some argument values
  size_t instructions = 0;        // BPF program length
  size_t worstPath = 0;           // most instructions run for one allowed syscall
  std::string defaultAction;      // what denied syscalls get
};

struct KernelOption {
  std::string name;                 // without CONFIG_
  std::vector<std::string> reasons; // manifest facts that need it
};

struct RewriteGains {
  std::vector<KernelOption> kernelOptions;   // sorted by name
  std::vector<std::string> unknownSyscalls;  // manifest syscalls the Kconfig table does not know
  size_t syscallsCompiledIn = 0; // syscalls a kernel with only these options (and the always-built
                                 // core) implements — an estimate until images/ composes the config
  size_t syscallsGeneric = 0;    // syscalls Debian's generic amd64 kernel implements
  RewriteImage image;
};

struct Decision {
  std::string recommendation; // "extend" or "rewrite"
  std::string summary;        // a short paragraph for a human
  std::vector<Finding> blockers; // for rewrite; empty when rewrite is recommended
  std::vector<Finding> caveats;  // for both options
  ExtendGains extend;
  RewriteGains rewrite;
  AppInfo app;
  size_t syscalls = 0;        // in the manifest
};

struct DecideOptions {
  std::optional<std::string> imageDir; // a `bespoke rewrite` output directory to measure (MeasuredImage.h)
};

// Errors: the manifest names a syscall with no x86-64 number, or the image directory lacks its files or
// holds a malformed one (measureImageDirectory).
llvm::Expected<Decision> decide(const Manifest &m, const DecideOptions &opts = {});

// The decision as text for a terminal, and as JSON (schema specializer/decision.schema.json).
std::string renderDecisionText(const Decision &d);
std::string renderDecisionJson(const Decision &d);

} // namespace bespoke
