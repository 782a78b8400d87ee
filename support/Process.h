// Process: the one way bespoke runs another program — the image pipeline's tools (tar, make) with their
// output in a log file, and the MCP server's `bespoke COMMAND` children with both output streams captured
// and a deadline. posix_spawn, standard input from /dev/null, a callback every so often while it runs.
#pragma once

#include "llvm/Support/Error.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace bespoke {

struct ProcessOptions {
  std::string executable;  // what to run; empty: argv[0], looked up in $PATH when it has no '/'
  std::string logPath;     // standard output and error appended here (empty: discarded), unless capture
  bool capture = false;    // standard output and error into ProcessResult::out / err instead
  size_t maxCaptureBytes = 32u << 20; // per stream; the rest is read and dropped (ProcessResult::truncated)
  std::chrono::milliseconds timeout{0}; // 0: none; else the child's process group is killed then
  bool ownProcessGroup = false;         // the child leads a new process group (a timeout kills all of it)
  std::chrono::milliseconds tickInterval{1000};
  std::function<void(double elapsedSeconds)> tick; // called every tickInterval while the child runs
};

struct ProcessResult {
  int exitCode = -1; // -1: a signal ended it (or the timeout did)
  int signal = 0;    // the signal that ended it, if one did
  bool timedOut = false;
  double seconds = 0;
  std::string out, err; // with capture
  bool truncated = false;
};

// Runs argv with the child's signal mask empty and SIGPIPE at its default (the parent may ignore it).
// An error only when the program could not be started (or waited for); its failure is in the result.
llvm::Expected<ProcessResult> runProcess(const std::vector<std::string> &argv, const ProcessOptions &options);

// The image pipeline's form: output appended to `logPath`, `tick` every `interval`.
llvm::Expected<ProcessResult> runProcess(const std::vector<std::string> &argv, const std::string &logPath,
                                         std::chrono::milliseconds interval = std::chrono::seconds(1),
                                         const std::function<void(double elapsed)> &tick = {});

// The full path of PROGRAM found in $PATH, or an empty string.
std::string findProgram(const std::string &program);

} // namespace bespoke
