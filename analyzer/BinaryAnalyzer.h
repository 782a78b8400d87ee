// BinaryAnalyzer: the syscall footprint of an x86-64 executable: its shared-library closure, the code it
// loads at run time, and the programs it executes (a seccomp filter is inherited across execve, so the
// footprint of a program that executes others is the union of theirs). Stage entry point of analyzer/ for
// machine code.
#pragma once

#include "analyzer/Footprint.h"
#include "analyzer/Loader.h"
#include "analyzer/Observe.h"
#include "analyzer/PluginConfig.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace bespoke {

// Code that arrives at run time (see ProcessImage.h and README "Code loaded at run time").
struct RunTimeOptions {
  std::vector<std::string> dlopen; // --dlopen: shared objects loaded by the program (expandDlopenPaths)
  std::vector<std::string> exec;   // --exec: programs it executes (paths, or names looked up in searchPath)
  const Observation *observation = nullptr; // --observe: what a run of the program mapped and executed
  bool configuration = true;       // read the machine's plugin configuration (NSS, gconv, PAM, OpenSSL)
  PluginConfigOptions plugins;
  std::vector<std::string> searchPath = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"};
  unsigned maxPrograms = 64;       // executed programs analysed in all; more are listed as unresolved
  unsigned maxDepth = 8;           // programs executed by executed programs ... at most this deep
  std::function<void(const std::string &)> warning; // one line each; analysis goes on
};

struct BinaryAnalysisOptions {
  std::string cacheDir;   // empty: no model cache
  unsigned jobs = 0;      // 0: one per core
  LoaderOptions loader;
  RunTimeOptions runTime;
  std::function<void(const std::string &)> progress; // optional, one line per step
};

struct BinaryAnalysisReport {
  unsigned modules = 0, cacheHits = 0, programs = 1;
};

// --dlopen PATH...: each a shared object, or a directory standing for every shared object in it (".so" or
// ".so." in the name, sorted). A missing path or a file that is not an x86-64 ELF shared object is an
// error naming it.
llvm::Expected<std::vector<std::string>> expandDlopenPaths(const std::vector<std::string> &paths);

llvm::Expected<Footprint> analyzeBinary(const std::string &path, const BinaryAnalysisOptions &opts,
                                        BinaryAnalysisReport *report = nullptr);

// The library side of a program analysed from source: the syscalls reachable from `functions` (names
// exported by `library` or its closure, bound through the global scope like ld.so does) plus what every
// process start runs there (the dynamic loader's entry, init/fini arrays, IFUNC resolvers,
// __libc_early_init, functions whose address the libraries store in data). `library` is an ELF shared
// object (glibc's libc.so.6, musl's libc.so) or a linked executable. Evidence roots of the named
// functions read "call to NAME"; the library's own e_entry is not a root. Names no module provides (no
// export, nor a function of that name in a static executable) go to `unbound`, for the caller to report.
// Argument facts the caller (source analysis) holds: syscall -> the named functions whose call sites give
// them. They describe the syscall only if it is reached through those calls alone; `reachedOtherwise`
// receives the syscalls that the library (its start-up, functions it stores in data, other calls, the
// programs it executes) also reaches, whose facts must then be widened to any value.
struct LibraryFacts {
  std::map<std::string, std::vector<std::string>> soleRoutes;
  std::set<std::string> reachedOtherwise;
};

llvm::Expected<Footprint> analyzeLibraryCalls(const std::string &library, const std::vector<std::string> &functions,
                                              const BinaryAnalysisOptions &opts,
                                              BinaryAnalysisReport *report = nullptr,
                                              std::vector<std::string> *unbound = nullptr,
                                              LibraryFacts *facts = nullptr);

} // namespace bespoke
