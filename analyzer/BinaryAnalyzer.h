// BinaryAnalyzer: the syscall footprint of an x86-64 executable and its shared-library closure.
// Stage entry point of analyzer/ for machine code.
#pragma once

#include "analyzer/Footprint.h"
#include "analyzer/Loader.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <string>

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

} // namespace bespoke
