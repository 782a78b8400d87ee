// PluginConfigFiles: the file reading the plugin configuration readers share (see PluginConfigFiles.h).
#include "analyzer/PluginConfigFiles.h"

#include "analyzer/ElfModule.h" // printable

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <unistd.h>

using namespace llvm;

namespace bespoke::plugins {

Error failure(const Twine &message) { return createStringError(inconvertibleErrorCode(), message); }

// A line for messages and ConfigSource::text: trimmed, whitespace runs collapsed, control bytes escaped.
std::string oneLine(StringRef text) {
  SmallVector<StringRef, 16> words;
  SplitString(text, words);
  return printable(join(words, " "));
}

std::string at(const std::string &file, unsigned line) { return file + ":" + std::to_string(line); }

// PATH (absolute, as the target sees it) as a path on this machine: under the root, each symbolic link
// resolved inside the root as the kernel resolves it in a chroot (an absolute target restarts at the root,
// ".." stops there). With the root "/" the path is left to the kernel as it is.
std::string hostPath(const PluginConfigOptions &opts, StringRef path) {
  StringRef root = StringRef(opts.root).rtrim('/');
  if (root.empty())
    return path.str();
  std::vector<std::string> todo, done;
  auto push = [&todo](StringRef p) {
    SmallVector<StringRef, 16> parts;
    p.split(parts, '/', -1, false);
    for (StringRef c : llvm::reverse(parts)) todo.push_back(c.str());
  };
  push(path);
  for (int links = 0; !todo.empty();) {
    std::string comp = todo.back();
    todo.pop_back();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    std::string cur = (root + "/" + join(done, "/") + (done.empty() ? "" : "/") + comp).str();
    char target[4096];
    ssize_t n = ++links > 40 ? -1 : ::readlink(cur.c_str(), target, sizeof target);
    if (n <= 0 || size_t(n) == sizeof target) {
      done.push_back(comp);
      continue;
    }
    StringRef t(target, size_t(n));
    if (t.starts_with("/")) done.clear();
    push(t);
  }
  return (root + "/" + join(done, "/")).str();
}

bool isRegularFile(const std::string &path) {
  sys::fs::file_status st;
  return !sys::fs::status(path, st) && st.type() == sys::fs::file_type::regular_file;
}

bool isDirectory(const std::string &path) {
  sys::fs::file_status st;
  return !sys::fs::status(path, st) && st.type() == sys::fs::file_type::directory_file;
}

// The names in a directory (on this machine), sorted; none when it does not exist.
std::vector<std::string> directoryNames(const std::string &dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(sys::path::filename(it->path()).str());
  llvm::sort(names);
  return names;
}

// A configuration file's text; std::nullopt when it does not exist or is not a regular file (the libraries
// treat both as absent); an error when it exists and cannot be read: its content decides what loads, and the
// program may well be able to read what the analysis cannot.
Expected<std::optional<std::string>> readConfig(const std::string &path) {
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(path, st)) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory ||
        ec == std::errc::too_many_symbolic_link_levels)
      return std::nullopt;
    return failure(path + ": cannot read it (" + ec.message() + ")");
  }
  if (st.type() != sys::fs::file_type::regular_file)
    return std::nullopt;
  // Read to the end rather than trust the size: a file on /proc or /sys says it has none.
  Expected<sys::fs::file_t> fd = sys::fs::openNativeFileForRead(path);
  if (!fd)
    return failure(path + ": cannot read it (" + toString(fd.takeError()) + ")");
  SmallString<4096> text;
  Error read = sys::fs::readNativeFileToEOF(*fd, text);
  sys::fs::closeFile(*fd);
  if (read)
    return failure(path + ": cannot read it (" + toString(std::move(read)) + ")");
  return std::string(text);
}

std::vector<Line> splitLines(StringRef text) {
  std::vector<Line> lines;
  for (unsigned n = 1; !text.empty(); ++n) {
    size_t nl = text.find('\n');
    lines.push_back({n, text.take_front(nl), nl != StringRef::npos});
    text = nl == StringRef::npos ? StringRef() : text.drop_front(nl + 1);
  }
  return lines;
}

std::string LibrarySearch::find(const std::string &name) {
  if (!Cache)
    Cache = readLdSoCache(hostPath(Opts, Opts.loader.ldSoCache));
  std::vector<std::string> candidates;
  for (auto &[n, p] : *Cache)
    if (n == name) candidates.push_back(p);
  for (const std::string &dir : Opts.loader.defaultDirs) candidates.push_back(dir + "/" + name);
  for (const std::string &c : candidates)
    if (std::string p = hostPath(Opts, c); isRegularFile(p)) return p;
  return "";
}

} // namespace bespoke::plugins
