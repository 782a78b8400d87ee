// Loader: the shared-library closure of an executable, found the way ld.so finds it
// (DT_RPATH, DT_RUNPATH, /etc/ld.so.cache, then the default directories), in global-scope order.
#pragma once

#include "analyzer/ElfModule.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace bespoke {

struct LoaderOptions {
  std::string ldSoCache = "/etc/ld.so.cache";
  std::vector<std::string> defaultDirs = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
                                          "/usr/lib64", "/lib", "/usr/lib"};
};

struct LoadedModule {
  std::shared_ptr<ElfModule> elf; // shared: the images of one analysis open each file once (ElfFiles)
  std::string neededBy; // empty for the executable
  bool interpreter = false;
};

// The executable first, then its DT_NEEDED libraries breadth-first, then the interpreter if not yet
// loaded. A library that cannot be found is an error naming it and who needs it.
llvm::Expected<std::vector<LoadedModule>> loadClosure(const std::string &executable, const LoaderOptions &opts);

// Files opened by an analysis, by real path: every process image of a program tree shares them, so a
// library is read and hashed once however many programs load it.
using ElfFiles = std::map<std::string, std::shared_ptr<ElfModule>>;

// A process image's modules as ld.so loads them, growing: the executable's closure first, then libraries
// the program loads at run time (dlopen, NSS, ...) with their own DT_NEEDED closures. Each file is loaded
// once (by real path, as ld.so compares them), so a later add of a loaded file only returns its index.
class ClosureLoader {
public:
  // `files`: where opened files are kept and found (shared by the images of one analysis); may be null.
  explicit ClosureLoader(LoaderOptions opts, ElfFiles *files = nullptr) : Opts(std::move(opts)), Files(files) {}

  // Loads `path` and, breadth-first, the libraries its DT_NEEDED names that are not loaded yet; returns
  // the index of `path`'s module. `neededBy` names who loads it (empty for the executable). A library that
  // cannot be found is an error naming it and who needs it; nothing is added then.
  llvm::Expected<size_t> add(const std::string &path, const std::string &neededBy);
  // The executable's interpreter (PT_INTERP), when not loaded yet as a library. No-op for static programs.
  llvm::Error addInterpreter();

  std::vector<LoadedModule> &modules() { return Mods; }
  const std::vector<LoadedModule> &modules() const { return Mods; }
  std::vector<LoadedModule> take() { return std::move(Mods); }

  // The file ld.so loads for `name` when `from` asks for it (DT_NEEDED or dlopen): a name holding '/' as
  // it is (relative to the process' working directory); else `from`'s DT_RPATH (when it has no DT_RUNPATH)
  // and the executable's, `from`'s DT_RUNPATH ($ORIGIN expanded), /etc/ld.so.cache, the default
  // directories. Empty when none has it. LD_LIBRARY_PATH, the process' environment, is not known here.
  std::string find(const std::string &name, const ElfModule &from) const;
  // The index of the module loaded from this file (by real path), or -1.
  int indexOf(const std::string &path) const;

private:
  llvm::Expected<std::shared_ptr<ElfModule>> open(const std::string &path);

  LoaderOptions Opts;
  ElfFiles *Files;
  std::vector<LoadedModule> Mods;
  std::set<std::string> LoadedNames;
  std::map<std::string, size_t> LoadedReal; // real path -> module index
  mutable std::vector<std::pair<std::string, std::string>> Cache;
  mutable bool CacheRead = false;
};

// The real path of a file (symbolic links resolved), or the path itself when it does not resolve.
std::string realPathOf(const std::string &path);

// Library name -> path entries of an ld.so.cache file (new format), for x86-64.
std::vector<std::pair<std::string, std::string>> readLdSoCache(const std::string &path);

} // namespace bespoke
