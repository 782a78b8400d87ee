// Loader: the shared-library closure of an executable, found the way ld.so finds it
// (DT_RPATH, DT_RUNPATH, /etc/ld.so.cache, then the default directories), in global-scope order.
#pragma once

#include "analyzer/ElfModule.h"

#include <memory>
#include <string>
#include <vector>

namespace bespoke {

struct LoaderOptions {
  std::string ldSoCache = "/etc/ld.so.cache";
  std::vector<std::string> defaultDirs = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
                                          "/usr/lib64", "/lib", "/usr/lib"};
};

struct LoadedModule {
  std::unique_ptr<ElfModule> elf;
  std::string neededBy; // empty for the executable
  bool interpreter = false;
};

// The executable first, then its DT_NEEDED libraries breadth-first, then the interpreter if not yet
// loaded. A library that cannot be found is an error naming it and who needs it.
llvm::Expected<std::vector<LoadedModule>> loadClosure(const std::string &executable, const LoaderOptions &opts);

// Library name -> path entries of an ld.so.cache file (new format), for x86-64.
std::vector<std::pair<std::string, std::string>> readLdSoCache(const std::string &path);

} // namespace bespoke
