// PluginConfigFiles: what the plugin configuration readers (PluginConfig.cpp: NSS, gconv, PAM;
// OpensslConfig.cpp: OpenSSL) share: reading a configuration file the way the libraries treat missing and
// unreadable ones, paths inside a target root, dlopen's search for a bare name, and the module list each
// reader returns. Internal to analyzer/; the interface is PluginConfig.h.
#pragma once

#include "analyzer/PluginConfig.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace bespoke::plugins {

llvm::Error failure(const llvm::Twine &message);

// A line for messages and ConfigSource::text: trimmed, whitespace runs collapsed, control bytes escaped.
std::string oneLine(llvm::StringRef text);

std::string at(const std::string &file, unsigned line);

// PATH (absolute, as the target sees it) as a path on this machine: under the root, each symbolic link
// resolved inside the root as the kernel resolves it in a chroot (an absolute target restarts at the root,
// ".." stops there). With the root "/" the path is left to the kernel as it is.
std::string hostPath(const PluginConfigOptions &opts, llvm::StringRef path);

bool isRegularFile(const std::string &path);
bool isDirectory(const std::string &path);

// The names in a directory (on this machine), sorted; none when it does not exist.
std::vector<std::string> directoryNames(const std::string &dir);

// A configuration file's text; std::nullopt when it does not exist or is not a regular file (the libraries
// treat both as absent); an error when it exists and cannot be read: its content decides what loads, and the
// program may well be able to read what the analysis cannot.
llvm::Expected<std::optional<std::string>> readConfig(const std::string &path);

struct Line {
  unsigned number;
  llvm::StringRef text; // without the newline
  bool terminated;      // ended by a newline (glibc's NSS parser drops a last line without one)
};
std::vector<Line> splitLines(llvm::StringRef text);

// dlopen's search for a bare name from a library without DT_RPATH or DT_RUNPATH (libc, libcrypto):
// ld.so.cache, then the default directories, inside the root. LD_LIBRARY_PATH is the program's environment.
class LibrarySearch {
public:
  explicit LibrarySearch(const PluginConfigOptions &opts) : Opts(opts) {}
  std::string find(const std::string &name);

private:
  const PluginConfigOptions &Opts;
  std::optional<std::vector<std::pair<std::string, std::string>>> Cache;
};

// The result of one plugin system: one module per file, in the order first named.
class ModuleList {
public:
  void add(PluginModule m) {
    if (Paths.insert(m.path).second) Modules.push_back(std::move(m));
  }
  bool has(const std::string &path) const { return Paths.count(path) != 0; }
  std::vector<PluginModule> take() { return std::move(Modules); }

private:
  std::set<std::string> Paths;
  std::vector<PluginModule> Modules;
};

} // namespace bespoke::plugins
