// What the bespoke commands share: the command registry (each command is a name, a usage text, an option
// table and a function), exit statuses, one-line errors, atomic output, the rows several commands take,
// and the analysis wiring (binary or source, cross-check) that both `analyze` and `check` run.
#pragma once

#include "analyzer/BinaryAnalyzer.h"
#include "extension-gen/ManifestPolicy.h"
#include "cli/Options.h"
#include "manifests/Manifest.h"
#include "seccomp/Policy.h"
#include "verify/Equivalence.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bespoke::cli {

constexpr int ExitOk = 0, ExitNegative = 1, ExitUsage = 2;

// One bespoke command. Its option table drives parsing, --help and (through cli/Mcp.cpp) its MCP tool.
struct Command {
  const char *name, *summary;
  CommandText text;
  std::vector<Option> options;
  int (*run)(const ParsedArgs &args);
};

// Every command, in the order `bespoke --help` lists them.
const std::vector<Command> &commands();
const Command *findCommand(std::string_view name);

// `bespoke CMD ARGS...`: parses ARGS with CMD's table, prints its help or a usage error, or runs it.
int runCommand(const Command &c, const std::vector<std::string> &args);
// The text of `bespoke --help`.
std::string topHelp();

// The commands, each defined next to the code that runs it.
Command analyzeCommand();                                                   // cli/Analyze.cpp
Command extendCommand(), verifyCommand(), runUnderFilterCommand();         // cli/Filters.cpp
Command decideCommand(), diffCommand(), checkCommand();                     // cli/Review.cpp
Command rewriteCommand(), bootCommand();                                    // cli/Images.cpp
Command mcpCommand();                                                       // cli/Mcp.cpp
Command observeCommand();                                                   // cli/Observe.cpp

// "bespoke CMD: MSG" and a pointer to --help, on standard error; returns ExitUsage.
int usageError(const char *cmd, const std::string &msg);
// "bespoke: error: MSG" (the message names the input); returns ExitUsage.
int inputError(llvm::Error e);

// Writes OUT through a temporary file renamed into place; '-' is standard output; an existing
// non-regular file (/dev/null, a FIFO) is written in place, never replaced.
llvm::Error writeOutput(const std::string &path, const std::string &text);

// The exit-status contract for a filter without a proof, in one place: the policy or manifest is bad
// input (BadPolicy: 2); a filter the kernel would refuse, one that is not equivalent, and one the prover
// could not decide are not proven (1), and nothing is written or run.
int exitStatus(ProofError::Kind kind);
// Prints "bespoke CMD: MSG" for a compileProven error and returns its exit status.
int proofFailure(const char *cmd, llvm::Error e);

// Rows several tables share.
Option quietOption(const char *help);                        // -q, --quiet
Option defaultActionOption(const char *help, bool forTools); // -d, --default-action A (MCP default_action)
// The parsed --default-action (kill-process when absent).
Action defaultAction(const ParsedArgs &args);
// --no-args: the filter ignores the manifest's argument facts (every syscall unconditional).
Option noArgsOption(bool forTools);
// --clone3-enosys: PolicyOptions::clone3Enosys.
Option clone3EnosysOption(bool forTools);
PolicyOptions policyOptions(const ParsedArgs &args);

// The policy of a manifest; errors name the manifest. Notes (argument checks left out for size) go to
// standard error unless `quiet`. `out` (optional) receives the manifest.
llvm::Expected<Policy> loadPolicy(const char *cmd, const std::string &manifestPath, Action defaultAction,
                                  const PolicyOptions &opts, bool quiet, Manifest *out);
// CMD as execve needs it: a path to an executable file (PATH searched when CMD has no '/').
std::optional<std::string> resolveCommand(const std::string &cmd);

// What to analyse: an ELF, or a compile database (with the built binary or a C library to model).
struct AnalysisInputs {
  std::optional<std::string> binary, compileCommands, builtBinary, library;
  std::string cacheDir; // empty: no model cache
  unsigned jobs = 0;
  bool quiet = false;
  std::vector<std::string> dlopen, exec;           // --dlopen PATH, --exec PROGRAM (repeatable)
  std::optional<std::vector<std::string>> observe; // --observe -- ARGS: run BINARY with ARGS once
};

// The rows of the analysis inputs (--compile-commands, --binary, --library, --cache-dir, --no-cache,
// -j/--jobs); the BINARY operand and -q are each command's own. cli/Analyze.cpp.
std::vector<Option> analysisOptions();
// The inputs a command line gives (BINARY is the operand "binary"), or the usage error that the
// combination is (exactly one of binary / compile database, ...).
llvm::Expected<AnalysisInputs> analysisInputs(const ParsedArgs &args);

struct Analysis {
  Manifest manifest;
  std::string summary;  // one line: syscalls, unresolved sites, modules or translation units, time
  std::string problems; // non-empty: translation units not analysed (the manifest marks them)
};

// Runs the binary or source analysis (with the cross-check when both are given).
llvm::Expected<Analysis> analyzeProgram(const AnalysisInputs &in);

} // namespace bespoke::cli
