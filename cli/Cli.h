// What the bespoke commands share: exit statuses, one-line errors, atomic output, and the analysis
// wiring (binary or source, cross-check) that both `analyze` and `check` run.
#pragma once

#include "analyzer/BinaryAnalyzer.h"
#include "seccomp/Policy.h"
#include "manifests/Manifest.h"
#include "verify/Equivalence.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace bespoke::cli {

constexpr int ExitOk = 0, ExitNegative = 1, ExitUsage = 2;

// "bespoke CMD: MSG" and a pointer to --help, on standard error; returns ExitUsage.
int usageError(const char *cmd, const std::string &msg);
// "bespoke: error: MSG" (the message names the input); returns ExitUsage.
int inputError(llvm::Error e);

// Takes the value of the flag at args[i] into `slot` (advancing i); false when it is missing or empty.
bool takeValue(const std::vector<std::string> &args, size_t &i, std::optional<std::string> &slot);

// Writes OUT through a temporary file renamed into place; '-' is standard output; an existing
// non-regular file (/dev/null, a FIFO) is written in place, never replaced.
llvm::Error writeOutput(const std::string &path, const std::string &text);

// The exit-status contract for a filter without a proof, in one place: the policy or manifest is bad
// input (BadPolicy: 2); a filter the kernel would refuse, one that is not equivalent, and one the prover
// could not decide are not proven (1), and nothing is written or run.
int exitStatus(ProofError::Kind kind);
// Prints "bespoke CMD: MSG" for a compileProven error and returns its exit status.
int proofFailure(const char *cmd, llvm::Error e);

// What to analyse: an ELF, or a compile database (with the built binary or a C library to model).
struct AnalysisInputs {
  std::optional<std::string> binary, compileCommands, builtBinary, library;
  std::string cacheDir; // empty: no model cache
  unsigned jobs = 0;
  bool quiet = false;
};

AnalysisInputs defaultAnalysisInputs();

// If args[i] is an analysis flag (--compile-commands, --binary, --library, --cache-dir, --no-cache,
// -j/--jobs), consumes it and its value (advancing i) and sets `consumed`. Returns ExitOk, or the exit
// status of a usage error it printed.
int parseAnalysisFlag(const char *cmd, const std::vector<std::string> &args, size_t &i, AnalysisInputs &in,
                      bool &consumed);
// Checks the combination once all flags are read (exactly one of binary / compile database, ...).
int checkAnalysisInputs(const char *cmd, const AnalysisInputs &in);

struct Analysis {
  Manifest manifest;
  std::string summary;  // one line: syscalls, unresolved sites, modules or translation units, time
  std::string problems; // non-empty: translation units not analysed (the manifest marks them)
};

// Runs the binary or source analysis (with the cross-check when both are given).
llvm::Expected<Analysis> analyzeProgram(const AnalysisInputs &in);

// The commands of cli/Review.cpp.
extern const char *const DecideUsage, *const DiffUsage, *const CheckUsage;
int runDecide(const std::vector<std::string> &args);
int runDiff(const std::vector<std::string> &args);
int runCheck(const std::vector<std::string> &args);

} // namespace bespoke::cli
