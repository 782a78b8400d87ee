// BinaryAnalyzer: the syscall footprint of an x86-64 executable and its shared-library closure.
// Stage entry point of analyzer/ for machine code.
#pragma once

#include "analyzer/Footprint.h"
#include "analyzer/Loader.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace bespoke {

struct BinaryAnalysisOptions {
  std::string cacheDir;   // empty: no model cache
  unsigned jobs = 0;      // 0: one per core
  LoaderOptions loader;
  std::function<void(const std::string &)> progress; // optional, one line per step
};

struct BinaryAnalysisReport {
  unsigned modules = 0, cacheHits = 0;
};

llvm::Expected<Footprint> analyzeBinary(const std::string &path, const BinaryAnalysisOptions &opts,
                                        BinaryAnalysisReport *report = nullptr);

// The library side of a program analysed from source: the syscalls reachable from `functions` (names
// exported by `library` or its closure, bound through the global scope like ld.so does) plus what every
// process start runs there (the dynamic loader's entry, init/fini arrays, IFUNC resolvers,
// __libc_early_init, functions whose address the libraries store in data). `library` is an ELF shared
// object (glibc's libc.so.6, musl's libc.so) or a linked executable. Evidence roots of the named
// functions read "call to NAME"; the library's own e_entry is not a root. Names no module provides (no
// export, nor a function of that name in a static executable) go to `unbound`, for the caller to report.
llvm::Expected<Footprint> analyzeLibraryCalls(const std::string &library, const std::vector<std::string> &functions,
                                              const BinaryAnalysisOptions &opts,
                                              BinaryAnalysisReport *report = nullptr,
                                              std::vector<std::string> *unbound = nullptr);

} // namespace bespoke
