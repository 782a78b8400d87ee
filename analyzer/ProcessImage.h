// ProcessImage: the analysis of one process image — an executable, the closure ld.so loads for it, and the
// code it loads at run time: libraries named by constant dlopen arguments (found as ld.so finds them), the
// NSS, gconv, PAM and OpenSSL modules the machine's configuration names when the program can reach those
// plugin systems, libraries given with --dlopen and those an observed run mapped. Every added library is
// analysed with its own closure, entered from where the program loads it (its constructors, init arrays,
// functions stored in data, and every exported function: dlsym can return any of them). The loop runs
// until no new code arrives, since loaded code can load more. The programs the image executes are
// reported, not followed: BinaryAnalyzer analyses each as a process image of its own.
#pragma once

#include "analyzer/BinaryAnalyzer.h"
#include "analyzer/Footprint.h"
#include "analyzer/ModuleModel.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bespoke {

// Which functions start the walk: a program's (its entry, as the kernel starts it) or a library's as
// seen from source code (the named functions the program calls, plus what every process start runs).
struct RootSpec {
  bool programEntry = true;
  std::vector<std::string> namedFunctions;     // exported functions, root reason "call to NAME"
  std::vector<std::string> *unbound = nullptr; // receives the named functions no module provides
  // Source analysis: syscall -> the named functions whose call sites give its argument facts. The facts
  // hold only if the syscall is reached through those calls alone (ImageResult::reachedOtherwise).
  std::map<std::string, std::vector<std::string>> soleRoutes;
};

// A program the image executes: resolved to a file, with the evidence that leads to the exec.
struct ExecTarget {
  std::string path;          // the file the kernel runs (a script's interpreter, for a script)
  std::string target;        // as the program names it ("/bin/sh", "xz"), or the flag's value
  std::string loaded;        // "exec", "flag" or "observed"
  std::string flag;          // for "flag": "--exec PROGRAM"
  std::optional<Frame> site; // the exec call
  Evidence evidence;         // root and chain to the exec call, ending in the exec function's frame
};

// What options and caller know of the image: is it the program the user named (flags and the observed
// run's objects apply to it), and which executable the observation must match.
struct ImageRequest {
  std::string path;
  RootSpec spec;
  bool isMain = true;
};

struct ImageResult {
  Footprint footprint;            // its syscalls, unresolved sites, paths, files, modules and counters
  std::vector<ExecTarget> execs;  // the programs it executes, resolved (unresolved ones are in footprint)
  BinaryAnalysisReport report;
  std::set<std::string> reachedOtherwise; // soleRoutes syscalls reachable without their named functions
};

// What the process images of one analysis share, so a program tree costs little more than its largest
// image: the files opened (read and hashed once), their models, and what the machine's configuration says.
struct AnalysisSession {
  ElfFiles files;
  std::map<std::string, std::shared_ptr<const ModuleModel>> models; // by the file's SHA-256
  std::map<std::string, std::vector<PluginModule>> plugins;         // by plugin system ("nss", ...)
  std::vector<std::string> pluginWarnings;
};

llvm::Expected<ImageResult> analyzeProcessImage(const ImageRequest &request, const BinaryAnalysisOptions &opts,
                                                AnalysisSession &session);

} // namespace bespoke
