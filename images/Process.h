// Process: runs the external tools an image needs (tar, make, qemu) as child processes, with their
// output going to a log file, and a callback every so often while they run (progress lines).
#pragma once

#include "llvm/Support/Error.h"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace bespoke {

struct ProcessResult {
  int exitCode = -1; // -1: killed by a signal
  double seconds = 0;
};

// Runs argv[0] (looked up in PATH) with standard output and error appended to `logPath` (or discarded
// when empty) and standard input from /dev/null. `tick` (may be empty) is called every `interval`
// while the child runs. An error only when the program could not be started.
llvm::Expected<ProcessResult> runProcess(const std::vector<std::string> &argv, const std::string &logPath,
                                         std::chrono::milliseconds interval = std::chrono::seconds(1),
                                         const std::function<void(double elapsed)> &tick = {});

// The full path of PROGRAM found in $PATH, or an empty string.
std::string findProgram(const std::string &program);

} // namespace bespoke
