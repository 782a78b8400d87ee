// ModelCache: module models on disk, keyed by the file's SHA-256 and the analyzer build (the executable's
// GNU build ID), so each library is analysed once per build.
#pragma once

#include "analyzer/ModuleModel.h"

#include <string>

namespace bespoke {

class ModelCache {
public:
  // An empty directory disables the cache.
  explicit ModelCache(std::string directory);

  // Default location: $BESPOKE_CACHE_DIR, else $XDG_CACHE_HOME/bespoke, else ~/.cache/bespoke.
  static std::string defaultDirectory();

  // The cached model for this file, or a freshly built one (then stored). `hit` tells which.
  llvm::Expected<ModuleModel> get(const ElfModule &elf, bool &hit) const;

  const std::string &directory() const { return Dir; }

private:
  std::string pathFor(const std::string &sha256) const;
  std::string Dir;
  std::string Build; // identifies the analyzer build, so a rebuilt bespoke never reads stale models
};

} // namespace bespoke
