// KernelSource: Debian's linux-source-6.1 tarball, unpacked once into the cache directory. The
// unpacked tree is shared with scripts/gen-kconfig-map: same place (CACHE/linux-source-6.1), same stamp
// file (.bespoke-unpacked: "tarball NAME SIZE MTIME", "package-version V"), renamed into place whole.
#pragma once

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace bespoke {

inline constexpr const char *DefaultKernelTarball = "/usr/src/linux-source-6.1.tar.xz";
inline constexpr const char *KernelSourcePackage = "linux-source-6.1";

struct KernelSource {
  std::string dir;     // the unpacked tree (the kernel's srctree; builds go out of tree with O=)
  std::string version; // what identifies the tree in cache keys: "6.1.192-2" or the tarball identity
};

// The tree unpacked from `tarball` in CACHEDIR/linux-source-6.1, unpacking it (a minute or so, with a
// note on `progress`) when missing or unpacked from a different tarball. A missing tarball is an error
// naming the Debian package, unless a tree unpacked earlier is there.
llvm::Expected<KernelSource> prepareKernelSource(const std::string &cacheDir, llvm::raw_ostream &progress,
                                                 const std::string &tarball = DefaultKernelTarball);

// An existing tree given by the user (--kernel-source); it must hold a kernel Makefile.
llvm::Expected<KernelSource> existingKernelSource(const std::string &dir);

} // namespace bespoke
