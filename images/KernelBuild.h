// KernelBuild: a bzImage built from a resolved .config, cached by the SHA-256 of the config and the
// source version in CACHEDIR/kernels/<key>/ (obj/ is the O= build tree, build.log the full log, bzImage
// the result). A warm hit only stats a file; a cold build prints a progress line every few seconds.
#pragma once

#include "images/KernelSource.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace bespoke {

struct KernelBuild {
  std::string key;     // the cache key (hex SHA-256)
  std::string bzImage; // path of the built kernel in the cache
  std::string log;     // the build log (kept after the build)
  bool cacheHit = false;
  double seconds = 0; // build time (0 on a hit)
};

// The cache key of a kernel built from `config` out of `src`.
std::string kernelBuildKey(const KernelSource &src, llvm::StringRef config);

// Builds (or finds) the bzImage. `jobs` 0: one per core. A failed build is an error naming the log.
llvm::Expected<KernelBuild> buildKernel(const KernelSource &src, llvm::StringRef config, const std::string &cacheDir,
                                        unsigned jobs, llvm::raw_ostream &progress);

} // namespace bespoke
