// PluginConfig: reads the configuration of glibc NSS and gconv, Linux-PAM and OpenSSL the way those
// libraries read it and resolves each module to the file their loader would open (see PluginConfig.h and
// PLUGINS.md). Each reader follows its library's parser closely, quirks included, because a module the real
// parser loads and ours skips is a system call the filter misses.
#include "analyzer/PluginConfig.h"

#include "analyzer/ElfModule.h" // printable

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <climits>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <unistd.h>

using namespace llvm;

namespace bespoke {
namespace {

// The paths Debian 12 (x86-64) builds into the libraries: glibc's _PATH_NSSWITCH_CONF and GCONV_PATH,
// Linux-PAM's configuration directories, DEFAULT_MODULE_PATH and Debian's /lib/security fallback,
// OpenSSL's OPENSSLDIR, MODULESDIR and ENGINESDIR (`openssl version -a`).
constexpr const char *NsswitchConf = "/etc/nsswitch.conf";
constexpr const char *GconvDir = "/usr/lib/x86_64-linux-gnu/gconv";
constexpr const char *PamDirs[] = {"/etc/pam.d", "/usr/lib/pam.d"};
constexpr const char *PamConf = "/etc/pam.conf";
constexpr const char *PamModuleDirs[] = {"/lib/x86_64-linux-gnu/security/", "/lib/security/"};
constexpr const char *OpensslConf = "/usr/lib/ssl/openssl.cnf";
constexpr const char *OpensslModulesDir = "/usr/lib/x86_64-linux-gnu/ossl-modules";
constexpr const char *OpensslEnginesDir = "/usr/lib/x86_64-linux-gnu/engines-3";

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

struct Line {
  unsigned number;
  StringRef text;  // without the newline
  bool terminated; // ended by a newline (glibc's NSS parser drops a last line without one)
};

std::vector<Line> splitLines(StringRef text) {
  std::vector<Line> lines;
  for (unsigned n = 1; !text.empty(); ++n) {
    size_t nl = text.find('\n');
    lines.push_back({n, text.take_front(nl), nl != StringRef::npos});
    text = nl == StringRef::npos ? StringRef() : text.drop_front(nl + 1);
  }
  return lines;
}

// dlopen's search for a bare name from a library without DT_RPATH or DT_RUNPATH (libc, libcrypto):
// ld.so.cache, then the default directories, inside the root. LD_LIBRARY_PATH is the program's environment.
class LibrarySearch {
public:
  explicit LibrarySearch(const PluginConfigOptions &opts) : Opts(opts) {}
  std::string find(const std::string &name) {
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

// ---- glibc NSS (nss/nss_database.c, nss_action_parse.c, nss_module.c of glibc 2.36) ----

// nss/databases.def, in its order.
constexpr const char *NssDatabases[] = {"aliases",    "ethers",        "group",     "group_compat", "gshadow",
                                        "hosts",      "initgroups",    "netgroup",  "networks",     "passwd",
                                        "passwd_compat", "protocols",  "publickey", "rpc",          "services",
                                        "shadow",     "shadow_compat"};

bool isCSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// glibc's list for a database nsswitch.conf leaves out (nss_database_select_default, built without
// --enable-obsolete-nsl as Debian builds it, so the compat defaults are "files").
StringRef nssDefault(StringRef db) {
  return StringSwitch<StringRef>(db)
      .Cases("hosts", "networks", "files dns")
      .Cases("group_compat", "passwd_compat", "shadow_compat", "nis")
      .Case("publickey", "nis nisplus")
      .Default("files");
}

struct NssList {
  std::vector<std::string> services;
  ConfigSource source;
};

// nss_action_parse: the services of a line. std::nullopt at a malformed "[STATUS=ACTION ...]", which makes
// glibc reject the whole file. `droppedRest` is set where a '[' stands in place of a service: glibc then
// ignores the rest of the line.
std::optional<std::vector<std::string>> parseNssServices(StringRef line, bool &droppedRest) {
  std::vector<std::string> services;
  size_t i = 0;
  auto skipSpace = [&] {
    while (i < line.size() && isCSpace(line[i])) ++i;
  };
  auto word = [&] {
    size_t start = i;
    while (i < line.size() && !isCSpace(line[i]) && line[i] != '=' && line[i] != ']') ++i;
    return line.slice(start, i);
  };
  for (;;) {
    skipSpace();
    if (i == line.size())
      return services;
    size_t start = i;
    while (i < line.size() && !isCSpace(line[i]) && line[i] != '[') ++i;
    if (i == start) {
      droppedRest = true;
      return services;
    }
    services.push_back(line.slice(start, i).str());
    skipSpace();
    if (i == line.size() || line[i] != '[')
      continue;
    ++i;
    skipSpace();
    do {
      if (i < line.size() && line[i] == '!') ++i;
      StringRef status = word();
      if (!is_contained({"success", "unavail", "notfound", "tryagain"}, status.lower()))
        return std::nullopt;
      skipSpace();
      if (i == line.size() || line[i] != '=')
        return std::nullopt;
      ++i;
      skipSpace();
      if (!is_contained({"return", "continue", "merge"}, word().lower()))
        return std::nullopt;
      skipSpace();
    } while (i < line.size() && line[i] != ']');
    if (i == line.size())
      return std::nullopt; // glibc reads an empty status past the end and fails
    ++i;
  }
}

} // namespace

Expected<std::vector<PluginModule>> nssModules(const PluginConfigOptions &opts, std::vector<std::string> &warnings,
                                               const std::vector<std::string> &databases) {
  for (const std::string &db : databases)
    if (!is_contained(NssDatabases, db))
      return failure("unknown NSS database '" + printable(db) + "' (nss/databases.def of glibc 2.36)");

  std::string conf = hostPath(opts, NsswitchConf);
  auto text = readConfig(conf);
  if (!text)
    return text.takeError();
  std::map<std::string, NssList> configured; // nss_database_data: the last line for a database wins
  if (!*text)
    warnings.push_back(conf + ": not found; glibc uses its built-in defaults");
  else
    for (const Line &line : splitLines(**text)) {
      std::string where = at(conf, line.number);
      if (!line.terminated) {
        if (!StringRef(oneLine(line.text)).empty())
          warnings.push_back(where + ": the last line has no newline, and glibc ignores it");
        continue;
      }
      // process_line: "<database> ':'" (the colon is optional), then the services.
      StringRef rest = line.text.drop_while(isCSpace);
      StringRef name = rest.take_until([](char c) { return isCSpace(c) || c == ':'; });
      if (name.empty()) {
        if (!rest.empty())
          warnings.push_back(where + ": no database name before ':'; glibc skips the line");
        continue;
      }
      if (!is_contained(NssDatabases, name))
        continue; // another program's database (sudoers, automount): glibc ignores it
      rest = rest.drop_front(name.size()).drop_while([](char c) { return isCSpace(c) || c == ':'; });
      bool droppedRest = false;
      std::optional<std::vector<std::string>> services = parseNssServices(rest, droppedRest);
      if (!services)
        return failure(where + ": malformed [STATUS=ACTION] list in '" + oneLine(line.text) +
                       "': glibc 2.36 rejects the whole file, so every NSS lookup fails");
      if (droppedRest)
        warnings.push_back(where + ": '[' where a service should be: glibc ignores the rest of the line");
      configured[name.str()] = {std::move(*services), {conf, line.number, oneLine(line.text)}};
    }

  // nss_database_reload: shadow falls back to passwd, gshadow to group, shadow_compat to passwd_compat,
  // anything else unset to glibc's default; initgroups() uses group's list when initgroups has none.
  auto listOf = [&](StringRef db) -> NssList {
    StringRef inherited = StringSwitch<StringRef>(db)
                              .Case("shadow", "passwd")
                              .Case("gshadow", "group")
                              .Case("shadow_compat", "passwd_compat")
                              .Case("initgroups", "group")
                              .Default("");
    for (StringRef from : {db, inherited})
      if (auto it = configured.find(from.str()); !from.empty() && it != configured.end())
        return it->second;
    NssList list;
    for (StringRef s : split(nssDefault(db), ' ')) list.services.push_back(s.str());
    list.source = {conf, 0, ("glibc default: " + db + ": " + nssDefault(db)).str()};
    return list;
  };

  // The *_compat databases are read only by the compat service (libnss_compat), for the database it serves
  // (its initgroups walks group_compat).
  std::vector<std::string> selected;
  for (StringRef db : NssDatabases)
    if (databases.empty() ? !db.ends_with("_compat") : is_contained(databases, db)) selected.push_back(db.str());
  for (auto [db, compat] : {std::pair{"passwd", "passwd_compat"}, std::pair{"group", "group_compat"},
                            std::pair{"shadow", "shadow_compat"}, std::pair{"initgroups", "group_compat"}})
    if (is_contained(selected, db) && is_contained(listOf(db).services, "compat") && !is_contained(selected, compat))
      selected.push_back(compat);

  struct Use {
    NssList list;
    std::string db;
  };
  std::vector<Use> uses;
  for (const std::string &db : selected) uses.push_back({listOf(db), db});
  // Configuration order: lines as they stand in the file, then glibc's defaults (line 0).
  auto order = [](const Use &u) { return u.list.source.line ? u.list.source.line : UINT_MAX; };
  llvm::stable_sort(uses, [&](const Use &a, const Use &b) { return order(a) < order(b); });

  LibrarySearch search(opts);
  ModuleList modules;
  std::set<std::string> seen{"files", "dns"}; // built into libc since glibc 2.34: no module to load
  for (const Use &use : uses)
    for (const std::string &service : use.list.services) {
      if (!seen.insert(service).second) continue;
      std::string where = use.list.source.line ? at(conf, use.list.source.line) + ": " + use.db
                                               : conf + ": glibc's default for " + use.db;
      std::string soname = "libnss_" + service + ".so.2";
      std::string path = service.find('/') == std::string::npos ? search.find(soname) : "";
      if (path.empty()) {
        std::string why = service.find('/') != std::string::npos
                              ? " (a path relative to the program's working directory)"
                          : service[0] == '#' ? " (glibc does not read '#' after a database as a comment)"
                                              : "";
        warnings.push_back(where + " names service '" + printable(service) + "', but " +
                           printable(soname) + " is not installed" + why + "; glibc skips it");
        continue;
      }
      modules.add({"nss", service, path, use.list.source});
    }
  return modules.take();
}

// ---- glibc gconv (iconv/gconv_conf.c, gconv_parseconfdir.h, gconv_cache.c of glibc 2.36) ----

namespace {

// The module files gconv-modules.cache names (iconvconfig's format, iconv/iconvconfig.h), as target paths;
// std::nullopt when glibc would find it invalid and fall back to the text files.
std::optional<std::vector<std::string>> gconvCacheModules(StringRef data) {
  auto u16 = [&](size_t off) -> std::optional<uint16_t> {
    if (off + 2 > data.size()) return std::nullopt;
    uint16_t v;
    memcpy(&v, data.data() + off, 2);
    return v;
  };
  uint32_t magic = 0;
  if (data.size() < 16) return std::nullopt;
  memcpy(&magic, data.data(), 4);
  uint16_t strings = *u16(4), hash = *u16(6), hashSize = *u16(8), moduleOff = *u16(10), other = *u16(12);
  if (magic != 0x20010324 || strings >= data.size() || hash >= data.size() || hashSize == 0 ||
      hash + size_t(hashSize) * 4 > data.size() || moduleOff >= data.size() || other > data.size())
    return std::nullopt;
  auto str = [&](uint16_t off) -> StringRef {
    size_t p = size_t(strings) + off;
    if (p >= data.size()) return "";
    return StringRef(data.data() + p, data.size() - p).take_until([](char c) { return c == '\0'; });
  };
  std::vector<std::string> files;
  auto addFile = [&](uint16_t dir, uint16_t name) {
    if (!str(dir).empty()) files.push_back((str(dir) + str(name)).str()); // an empty directory: built into libc
  };
  for (size_t m = moduleOff; m + 12 <= other; m += 12) {
    addFile(*u16(m + 2), *u16(m + 4)); // to INTERNAL
    addFile(*u16(m + 6), *u16(m + 8)); // from INTERNAL
    if (uint16_t extra = *u16(m + 10))   // direct conversions: lists of steps, ended by a zero count
      for (size_t e = size_t(other) + extra - 1; u16(e) && *u16(e) != 0; e += 2 + 6 * size_t(*u16(e)))
        for (size_t k = 0; k < *u16(e) && u16(e + 2 + 6 * k + 4); ++k)
          addFile(*u16(e + 2 + 6 * k + 2), *u16(e + 2 + 6 * k + 4));
  }
  return files;
}

} // namespace

Expected<std::vector<PluginModule>> gconvModules(const PluginConfigOptions &opts,
                                                 std::vector<std::string> &warnings) {
  std::string dir = hostPath(opts, GconvDir);
  // gconv-modules, then gconv-modules.d/*.conf (glibc reads those in readdir order; sorted here so that the
  // first line naming a module is the same on every file system).
  std::vector<std::string> confs = {std::string(GconvDir) + "/gconv-modules"};
  for (const std::string &name : directoryNames(dir + "/gconv-modules.d"))
    if (name.size() > 5 && StringRef(name).ends_with(".conf"))
      confs.push_back(std::string(GconvDir) + "/gconv-modules.d/" + name);

  ModuleList modules;
  bool configured = false;
  for (const std::string &target : confs) {
    std::string file = hostPath(opts, target);
    auto text = readConfig(file);
    if (!text)
      return text.takeError();
    if (!*text)
      continue;
    configured = true;
    for (const Line &line : splitLines(**text)) {
      // read_conf_file: a comment runs from '#' to the end of the line; the first word is the keyword.
      SmallVector<StringRef, 8> words;
      SplitString(line.text.take_until([](char c) { return c == '#'; }), words);
      if (words.empty() || words[0] == "alias")
        continue;
      std::string where = at(file, line.number);
      if (words[0] != "module") {
        warnings.push_back(where + ": neither 'alias' nor 'module'; glibc ignores the line");
        continue;
      }
      if (words.size() < 4) {
        warnings.push_back(where + ": a module line needs FROM TO FILE; glibc ignores it");
        continue;
      }
      // add_module: FILE relative to the gconv directory unless absolute, ".so" added unless present.
      StringRef module = words[3];
      std::string modTarget = (module.starts_with("/") ? "" : std::string(GconvDir) + "/") + module.str() +
                              (module.ends_with(".so") ? "" : ".so");
      std::string path = hostPath(opts, modTarget);
      if (!isRegularFile(path)) {
        warnings.push_back(where + ": names module " + printable(module) + ", but " + path +
                           " does not exist; iconv_open fails for its conversions");
        continue;
      }
      modules.add({"gconv", module.str(), path, {file, line.number, oneLine(line.text)}});
    }
  }

  // Without GCONV_PATH glibc reads the cache instead of the text files when the cache is valid.
  std::string cacheFile = dir + "/gconv-modules.cache";
  auto cache = readConfig(cacheFile);
  if (!cache)
    return cache.takeError();
  std::optional<std::vector<std::string>> cached;
  if (*cache && !(cached = gconvCacheModules(**cache)))
    warnings.push_back(cacheFile + ": not a valid gconv cache; glibc ignores it and reads gconv-modules");
  for (const std::string &target : cached.value_or(std::vector<std::string>{})) {
    std::string path = hostPath(opts, target);
    if (modules.has(path) || !isRegularFile(path))
      continue;
    warnings.push_back(cacheFile + ": names " + printable(target) +
                       ", which no gconv-modules line names (a stale cache? run iconvconfig)");
    modules.add({"gconv", sys::path::stem(target).str(), path, {cacheFile, 0, "named only by the cache"}});
  }
  if (!configured && !cached)
    warnings.push_back(dir + ": no gconv configuration; iconv_open has only libc's built-in conversions");
  return modules.take();
}

// ---- Linux-PAM 1.5.2 with Debian's patches (libpam/pam_handlers.c, pam_misc.c; pam_start.c) ----

namespace {

enum PamType { PamAny = 0, PamAuth = 1, PamSession = 2, PamAccount = 4, PamPassword = 8 };

struct PamLine {
  unsigned number; // the first physical line
  std::string text;
};

// _pam_assemble_line: blank and comment-only lines are skipped (a pending continuation goes on past them);
// '#' ends the logical line, continuation or not; a trailing backslash joins the next line with a space.
std::vector<PamLine> assemblePamLines(StringRef text) {
  std::vector<PamLine> lines;
  std::optional<PamLine> open;
  for (const Line &line : splitLines(text)) {
    StringRef s = line.text.ltrim(" \t");
    if (s.empty() || s[0] == '#')
      continue;
    if (!open)
      open = PamLine{line.number, ""};
    if (size_t hash = s.find('#'); hash != StringRef::npos) {
      open->text += s.take_front(hash).str();
    } else if (StringRef body = s.rtrim(" \t"); body.ends_with("\\")) {
      open->text += body.drop_back().str() + " ";
      continue;
    } else {
      open->text += s.str();
    }
    lines.push_back(std::move(*open));
    open.reset();
  }
  if (open)
    lines.push_back(std::move(*open)); // end of file inside a continuation: libpam keeps what it has
  return lines;
}

// _pam_StrTok: the next word separated by spaces, tabs and newlines; "[...]" is one word, brackets dropped.
std::optional<std::string> pamToken(StringRef &rest) {
  rest = rest.ltrim(" \t\n");
  if (rest.empty())
    return std::nullopt;
  if (rest[0] != '[') {
    size_t end = std::min(rest.find_first_of(" \t\n"), rest.size());
    std::string word = rest.take_front(end).str();
    rest = rest.drop_front(end);
    return word;
  }
  size_t i = 1;
  for (; i < rest.size() && rest[i] != ']'; ++i)
    if (rest[i] == '\\' && i + 1 < rest.size() && rest[i + 1] == ']') ++i;
  std::string word = rest.slice(1, i).str();
  rest = rest.drop_front(std::min(i + 1, rest.size()));
  return word;
}

// pam_start: the service name after its last '/', in lower case.
std::string pamServiceName(StringRef requested) {
  return (requested.contains('/') ? requested.rsplit('/').second : requested).lower();
}

class PamReader {
public:
  PamReader(const PluginConfigOptions &opts, std::vector<std::string> &warnings) : Opts(opts), Warnings(warnings) {}

  // The file libpam opens for a service (the first PAM directory that has it) or, with `included`, for an
  // include: an absolute name as it is, else in /etc/pam.d only (libpam 1.5.2 never looks for an included
  // file in /usr/lib/pam.d).
  std::string configFile(StringRef name, bool included = false) const {
    std::vector<std::string> candidates;
    if (name.starts_with("/"))
      candidates.push_back(name.str());
    else
      for (const char *dir : included ? ArrayRef(PamDirs).take_front() : ArrayRef(PamDirs))
        candidates.push_back((dir + ("/" + name)).str());
    for (const std::string &c : candidates)
      if (std::string p = hostPath(Opts, c); isRegularFile(p)) return p;
    return "";
  }

  // _pam_parse_conf_file over one file. `confService` is set for /etc/pam.conf, whose lines begin with the
  // service ("" takes every service); `type` filters the lines when an include brought the file in.
  Error readFile(const std::string &file, int type, std::optional<std::string> confService = std::nullopt) {
    auto text = readConfig(file);
    if (!text)
      return text.takeError();
    for (const PamLine &line : assemblePamLines(text->value_or(""))) {
      StringRef rest = line.text;
      if (confService) {
        std::optional<std::string> service = pamToken(rest);
        if (!service || (!confService->empty() && !StringRef(*service).equals_insensitive(*confService) &&
                         !StringRef(*service).equals_insensitive("other")))
          continue;
      }
      if (Error e = readLine(file, line.number, line.text, rest, type))
        return e;
    }
    return Error::success();
  }

  ModuleList Modules;

private:
  Error readLine(const std::string &file, unsigned number, StringRef text, StringRef rest, int type) {
    std::string where = at(file, number);
    auto warn = [&](const Twine &what) { Warnings.push_back(where + ": " + what.str()); };
    std::optional<std::string> typeWord = pamToken(rest);
    if (!typeWord) {
      warn("no module type; libpam installs a handler that always fails");
      return Error::success();
    }
    // Debian's "@include FILE": every line of FILE, under the type filter already in force.
    if (StringRef(*typeWord).equals_insensitive("@include")) {
      std::optional<std::string> name = pamToken(rest);
      if (!name)
        return failure(where + ": @include without a file name; libpam 1.5.2 crashes on it");
      std::string included = configFile(*name, /*included=*/true);
      if (included.empty())
        return failure(where + ": @include " + printable(*name) + ": no such file in /etc/pam.d; pam_start fails");
      return include(included, type, where);
    }
    StringRef typeName = StringRef(*typeWord);
    typeName.consume_front("-"); // "-type": libpam does not log a missing module
    int lineType = StringSwitch<int>(typeName.lower())
                       .Case("auth", PamAuth)
                       .Case("session", PamSession)
                       .Case("account", PamAccount)
                       .Case("password", PamPassword)
                       .Default(PamAny);
    if (lineType == PamAny) {
      warn("illegal module type '" + printable(*typeWord) + "'; libpam installs a handler that always fails");
      return Error::success();
    }
    if (type != PamAny && lineType != type)
      return Error::success();
    std::optional<std::string> control = pamToken(rest);
    if (!control) {
      warn("no control flag; libpam installs a handler that always fails");
      return Error::success();
    }
    if (StringRef(*control).equals_insensitive("include") || StringRef(*control).equals_insensitive("substack")) {
      std::optional<std::string> name = pamToken(rest);
      std::string included = name ? configFile(*name, /*included=*/true) : "";
      if (included.empty()) {
        warn(name ? "includes " + printable(*name) + ", which is not in /etc/pam.d; " +
                        "libpam installs a handler that always fails"
                  : "include without a file name; libpam installs a handler that always fails");
        return Error::success();
      }
      return include(included, lineType, where);
    }
    std::optional<std::string> module = pamToken(rest);
    if (!module) {
      warn("no module; libpam installs a handler that always fails");
      return Error::success();
    }
    // _pam_add_handler: an absolute path as it is, else DEFAULT_MODULE_PATH, then Debian's /lib/security.
    std::vector<std::string> candidates;
    if (StringRef(*module).starts_with("/"))
      candidates.push_back(*module);
    else
      for (const char *dir : PamModuleDirs) candidates.push_back(dir + *module);
    for (const std::string &c : candidates)
      if (std::string path = hostPath(Opts, c); isRegularFile(path)) {
        Modules.add({"pam", *module, path, {file, number, oneLine(text)}});
        return Error::success();
      }
    warn("module " + printable(*module) + " is not installed; libpam skips it");
    return Error::success();
  }

  Error include(const std::string &file, int type, const std::string &where) {
    if (is_contained(Stack, std::make_pair(file, type)))
      return failure(where + ": includes " + file + " again (an include cycle); libpam 1.5.2 recurses until it crashes");
    Stack.push_back({file, type});
    Error e = readFile(file, type);
    Stack.pop_back();
    return e;
  }

  const PluginConfigOptions &Opts;
  std::vector<std::string> &Warnings;
  std::vector<std::pair<std::string, int>> Stack; // the files being included, with their type filter
};

} // namespace

Expected<std::vector<PluginModule>> pamModules(const PluginConfigOptions &opts, std::vector<std::string> &warnings,
                                               const std::vector<std::string> &services) {
  PamReader reader(opts, warnings);
  if (none_of(PamDirs, [&](const char *d) { return isDirectory(hostPath(opts, d)); })) {
    // _pam_init_handlers: with no PAM directory at all, libpam reads /etc/pam.conf.
    std::string conf = hostPath(opts, PamConf);
    if (!isRegularFile(conf))
      return failure(conf + ": no PAM configuration (nor /etc/pam.d, /usr/lib/pam.d); pam_start fails");
    for (const std::string &s : services.empty() ? std::vector<std::string>{""} : services)
      if (Error e = reader.readFile(conf, PamAny, pamServiceName(s)))
        return e;
    return reader.Modules.take();
  }

  std::vector<std::string> names = services;
  if (names.empty()) {
    std::set<std::string> all;
    for (const char *dir : PamDirs)
      for (const std::string &n : directoryNames(hostPath(opts, dir)))
        if (isRegularFile(hostPath(opts, std::string(dir) + "/" + n))) all.insert(n);
    names.assign(all.begin(), all.end());
  }
  for (const std::string &requested : names) {
    std::string name = pamServiceName(requested);
    std::string file = reader.configFile(name), other = reader.configFile("other");
    if (file.empty() && other.empty())
      return failure("PAM service '" + printable(name) + "': neither its file nor 'other' is in " +
                     hostPath(opts, PamDirs[0]) + " or " + hostPath(opts, PamDirs[1]) + "; pam_start fails");
    if (file.empty())
      warnings.push_back("PAM service '" + printable(name) + "' has no file; libpam uses only 'other'");
    for (const std::string &f : {file, other})
      if (!f.empty())
        if (Error e = reader.readFile(f, PamAny))
          return e;
  }
  return reader.Modules.take();
}

// ---- OpenSSL 3.0 (crypto/conf/conf_def.c, conf_mod.c, provider_conf.c, engine/eng_cnf.c, dso_dlfcn.c) ----

namespace {

struct CnfValue {
  std::string name, value;
  ConfigSource source;
};

// openssl.cnf as NCONF_load reads it: sections of name = value, with .include, .pragma, comments, quotes,
// escapes, line continuation and $variable expansion (conf_def.c, default character classes).
class OpensslConfig {
public:
  OpensslConfig(const PluginConfigOptions &opts, std::vector<std::string> &warnings)
      : Opts(opts), Warnings(warnings) {}

  Error load(const std::string &file) {
    std::string section = "default";
    return parseFile(file, section);
  }

  // _CONF_get_string: the section, then "default".
  const CnfValue *get(StringRef section, StringRef name) const {
    const CnfValue *v = find(section, name);
    return v ? v : find("default", name);
  }

  const CnfValue *find(StringRef section, StringRef name) const {
    if (const std::vector<CnfValue> *values = getSection(section))
      for (const CnfValue &v : *values)
        if (v.name == name) return &v;
    return nullptr;
  }

  const std::vector<CnfValue> *getSection(StringRef name) const {
    auto it = Sections.find(name.str());
    return it == Sections.end() ? nullptr : &it->second;
  }

private:
  // Character classes of CONF_type_default (crypto/conf/keysets.pl).
  static bool isWs(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
  static bool isName(char c) { return llvm::isAlnum(c) || c == '_'; }
  static bool isAlnumPunct(char c) { return isName(c) || StringRef("!.%&*+,/;?@^~|-").contains(c); }
  static bool isQuote(char c) { return c == '\'' || c == '"' || c == '`'; }

  // The character at I, '\0' past the end (the C code's end of string).
  static char ch(StringRef s, size_t i) { return i < s.size() ? s[i] : '\0'; }

  size_t eatWs(StringRef s, size_t i) const {
    while (i < s.size() && isWs(s[i])) ++i;
    return i;
  }
  size_t eatAlnum(StringRef s, size_t i) const {
    for (;;) {
      if (ch(s, i) == '\\') {
        i += ch(s, i + 1) ? 2 : 1;
        continue;
      }
      if (!(isAlnumPunct(ch(s, i)) || (DollarId && ch(s, i) == '$')))
        return i;
      ++i;
    }
  }
  static std::string trimWs(StringRef s) { return s.rtrim(" \t\r\n").str(); }

  // clear_comments: '#' outside quotes and escapes ends the line.
  static StringRef clearComments(StringRef s) {
    for (size_t i = 0; i < s.size();) {
      char c = s[i];
      if (c == '#')
        return s.take_front(i);
      if (isQuote(c)) {
        for (++i; i < s.size() && s[i] != c; ++i)
          if (s[i] == '\\' && ++i == s.size()) return s;
        i += i < s.size();
      } else {
        i += c == '\\' && i + 1 < s.size() ? 2 : 1;
      }
    }
    return s;
  }

  // str_copy: quotes, escapes and $var, ${var}, $(var), $section::var expanded against what is defined so far.
  Expected<std::string> expand(StringRef from, std::optional<std::string> section, const std::string &where) {
    std::string out;
    for (size_t i = 0; i < from.size();) {
      char c = from[i];
      if (isQuote(c)) {
        for (++i; i < from.size() && from[i] != c; ++i) {
          if (from[i] == '\\' && ++i == from.size()) break;
          out += from[i];
        }
        i += i < from.size();
      } else if (c == '\\') {
        char v = ch(from, i + 1);
        i += 2;
        if (!v) break;
        out += v == 'r' ? '\r' : v == 'n' ? '\n' : v == 'b' ? '\b' : v == 't' ? '\t' : v;
      } else if (c == '$' && (!DollarId || ch(from, i + 1) == '{' || ch(from, i + 1) == '(')) {
        size_t s = i + 1;
        char close = ch(from, s) == '{' ? '}' : ch(from, s) == '(' ? ')' : '\0';
        s += close != '\0';
        auto nameEnd = [&](size_t e) {
          while (isName(ch(from, e)) || (DollarId && ch(from, e) == '$')) ++e;
          return e;
        };
        size_t e = nameEnd(s);
        std::optional<std::string> varSection = section;
        std::string name = from.slice(s, e).str();
        if (ch(from, e) == ':' && ch(from, e + 1) == ':') {
          varSection = name;
          size_t n = e + 2;
          e = nameEnd(n);
          name = from.slice(n, e).str();
        }
        if (close) {
          if (ch(from, e) != close)
            return failure(where + ": no closing brace in '" + printable(from) + "'; OpenSSL rejects the file");
          ++e;
        }
        const CnfValue *v = varSection ? find(*varSection, name) : nullptr;
        if (!v && varSection && *varSection == "ENV") {
          // The program's environment decides; OpenSSL falls back to the default section when it is unset.
          v = find("default", name);
          Warnings.push_back(where + ": $ENV::" + name + " depends on the program's environment; taken as " +
                             (v ? "the default section's value" : "empty"));
          out += v ? v->value : "";
        } else if (!(v = v ? v : find("default", name))) {
          return failure(where + ": $" + printable(from.slice(i + 1, e)) +
                         " has no value; OpenSSL rejects the whole file");
        } else {
          out += v->value;
        }
        i = e;
      } else {
        out += c;
        ++i;
      }
    }
    return out;
  }

  Error parseFile(const std::string &file, std::string &section) {
    if (is_contained(Files, file))
      return failure(file + ": included again (an include cycle); OpenSSL reads it until memory runs out");
    auto text = readConfig(file);
    if (!text)
      return text.takeError();
    if (!*text) {
      Warnings.push_back(file + ": not found; OpenSSL loads no module from its configuration");
      return Error::success();
    }
    Files.push_back(file);
    std::string logical;
    unsigned first = 0;
    for (const Line &line : splitLines(**text)) {
      StringRef l = line.text.rtrim("\r\n");
      if (logical.empty())
        first = line.number;
      logical += l.str();
      // A backslash not itself escaped continues the line.
      if (!logical.empty() && logical.back() == '\\' && (logical.size() < 2 || logical[logical.size() - 2] != '\\')) {
        logical.pop_back();
        if (line.terminated) continue;
      }
      if (Error e = parseLine(file, first, logical, section))
        return e;
      logical.clear();
    }
    Files.pop_back();
    return Error::success();
  }

  Error parseLine(const std::string &file, unsigned number, StringRef line, std::string &section) {
    std::string where = at(file, number);
    StringRef s = clearComments(line);
    size_t p = eatWs(s, 0);
    if (p == s.size())
      return Error::success();
    if (s[p] == '[') {
      size_t start = eatWs(s, p + 1), word = start, end;
      for (;;) {
        end = eatAlnum(s, word);
        size_t q = eatWs(s, end);
        if (ch(s, q) == ']') break;
        if (!ch(s, q) || q == word)
          return failure(where + ": missing ']' in '" + oneLine(line) + "'; OpenSSL rejects the whole file");
        word = q;
      }
      auto name = expand(s.slice(start, end), std::nullopt, where);
      if (!name)
        return name.takeError();
      section = *name;
      Sections[section];
      return Error::success();
    }
    size_t nameStart = p, end = eatAlnum(s, p);
    std::string valueSection = section;
    if (ch(s, end) == ':' && ch(s, end + 1) == ':') {
      valueSection = s.slice(nameStart, end).str();
      nameStart = end + 2;
      end = eatAlnum(s, nameStart);
    }
    StringRef name = s.slice(nameStart, end);
    size_t q = eatWs(s, end);
    for (StringRef directive : {".pragma", ".include"}) {
      // The C code's test: the name starts with the directive and something (or '=') follows it.
      if (!name.starts_with(directive) || (q == nameStart + directive.size() && ch(s, q) != '='))
        continue;
      if (ch(s, q) == '=') q = eatWs(s, q + 1);
      std::string arg = trimWs(s.drop_front(q));
      return directive == ".pragma" ? pragma(where, arg) : includeFile(where, arg, valueSection, section);
    }
    if (ch(s, q) != '=')
      return failure(where + ": no '=' in '" + oneLine(line) + "'; OpenSSL rejects the whole file");
    auto value = expand(trimWs(s.drop_front(eatWs(s, q + 1))), valueSection, where);
    if (!value)
      return value.takeError();
    std::vector<CnfValue> &values = Sections[valueSection];
    llvm::erase_if(values, [&](const CnfValue &v) { return v.name == name; }); // the new value replaces it
    values.push_back({name.str(), *value, {file, number, oneLine(line)}});
    return Error::success();
  }

  Error pragma(const std::string &where, StringRef arg) {
    auto [key, value] = arg.split(':');
    if (key.empty() || value.empty() || !arg.contains(':'))
      return failure(where + ": invalid .pragma '" + printable(arg) + "'; OpenSSL rejects the whole file");
    key = key.rtrim(" \t\r\n");
    value = value.ltrim(" \t\r\n");
    if (key == "includedir") {
      IncludeDir = value.str();
    } else if (key == "dollarid" || key == "abspath") {
      bool on = value.equals_insensitive("on") || value.equals_insensitive("true");
      if (!on && !value.equals_insensitive("off") && !value.equals_insensitive("false"))
        return failure(where + ": invalid .pragma value '" + printable(value) + "'; OpenSSL rejects the whole file");
      (key == "dollarid" ? DollarId : AbsPath) = on;
    }
    return Error::success(); // OpenSSL ignores an unknown pragma
  }

  Error includeFile(const std::string &where, StringRef arg, const std::string &valueSection, std::string &section) {
    auto expanded = expand(arg, valueSection, where);
    if (!expanded)
      return expanded.takeError();
    std::string target = *expanded;
    if (!IncludeDir.empty() && !StringRef(target).starts_with("/"))
      target = IncludeDir + (StringRef(IncludeDir).ends_with("/") ? "" : "/") + target;
    if (!StringRef(target).starts_with("/")) {
      if (AbsPath)
        return failure(where + ": relative .include " + printable(target) + " under abspath; OpenSSL rejects the file");
      Warnings.push_back(where + ": .include " + printable(target) +
                         " is relative to the program's working directory; not followed");
      return Error::success();
    }
    std::string path = hostPath(Opts, target);
    if (isDirectory(path)) {
      if (InDirectory) {
        Warnings.push_back(where + ": .include of a directory from a directory include; OpenSSL skips it");
        return Error::success();
      }
      InDirectory = true;
      for (const std::string &n : directoryNames(path)) {
        StringRef lower = StringRef(n).lower();
        if ((n.size() > 5 && StringRef(lower).ends_with(".conf")) || (n.size() > 4 && StringRef(lower).ends_with(".cnf")))
          if (Error e = parseFile(hostPath(Opts, target + "/" + n), section)) {
            InDirectory = false;
            return e;
          }
      }
      InDirectory = false;
      return Error::success();
    }
    if (!isRegularFile(path)) {
      Warnings.push_back(where + ": .include " + printable(target) + " does not exist; OpenSSL skips it");
      return Error::success();
    }
    return parseFile(path, section);
  }

  const PluginConfigOptions &Opts;
  std::vector<std::string> &Warnings;
  std::map<std::string, std::vector<CnfValue>> Sections;
  std::vector<std::string> Files; // the include chain, to stop a cycle
  std::string IncludeDir;
  bool DollarId = false, AbsPath = false, InDirectory = false;
};

// provider_conf.c and eng_cnf.c read "prefix.name" as "name".
StringRef skipDot(StringRef name) { return name.contains('.') ? name.split('.').second : name; }

// The modules openssl_conf's section loads (conf_mod.c: CONF_modules_load with the default flags).
class OpensslModules {
public:
  OpensslModules(const PluginConfigOptions &opts, const OpensslConfig &cnf, std::vector<std::string> &warnings,
                 ModuleList &modules)
      : Opts(opts), Cnf(cnf), Warnings(warnings), Modules(modules), Search(opts) {}

  void run() {
    const CnfValue *app = Cnf.get("default", "openssl_conf");
    if (!app)
      return;
    const std::vector<CnfValue> *values = Cnf.getSection(app->value);
    if (!values) {
      Warnings.push_back(at(app->source.file, app->source.line) + ": openssl_conf names section '" + printable(app->value) +
                         "', which does not exist; OpenSSL loads no module from its configuration");
      return;
    }
    for (const CnfValue &v : *values) {
      // module_find: the name up to its last '.', matched as a prefix of the built-in modules, in the order
      // OPENSSL_load_builtin_modules adds them.
      StringRef key = StringRef(v.name).rsplit('.').first;
      StringRef builtin;
      for (StringRef m : {"oid_section", "stbl_section", "engines", "alg_section", "ssl_conf", "providers", "random"})
        if (m.starts_with(key)) {
          builtin = m;
          break;
        }
      if (builtin == "providers")
        providers(v);
      else if (builtin == "engines")
        engines(v);
      else if (builtin.empty())
        dsoModule(v);
    }
  }

private:
  const std::vector<CnfValue> *section(const CnfValue &ref, StringRef what) {
    const std::vector<CnfValue> *s = Cnf.getSection(ref.value);
    if (!s)
      Warnings.push_back(at(ref.source.file, ref.source.line) + ": " + what.str() + " section '" +
                         printable(ref.value) + "' does not exist; OpenSSL skips it");
    return s;
  }

  // Each entry of the section REF names ("providers" or "engines"), with its section of commands and its
  // name after any "prefix." (provider_conf.c and eng_cnf.c skip up to the first dot).
  void forEachEntry(const CnfValue &ref, StringRef what,
                    function_ref<void(const CnfValue &, const std::vector<CnfValue> &, std::string)> each) {
    const std::vector<CnfValue> *list = section(ref, (what + "s").str());
    for (const CnfValue &entry : list ? *list : std::vector<CnfValue>{})
      if (const std::vector<CnfValue> *cmds = section(entry, what))
        each(entry, *cmds, skipDot(entry.name).str());
  }

  void add(StringRef name, const std::string &target, const ConfigSource &source) {
    std::string path = hostPath(Opts, target);
    if (!isRegularFile(path)) {
      Warnings.push_back(at(source.file, source.line) + ": " + printable(name) + ": " + path +
                         " does not exist; OpenSSL fails to load it");
      return;
    }
    Modules.add({"openssl", name.str(), path, source});
  }

  // A DSO name as dlfcn_name_converter makes it: a name with a '/' as it is, else "[lib]NAME.so" found by
  // dlopen's search.
  void addDso(StringRef name, StringRef dso, bool libPrefix, const ConfigSource &source) {
    if (dso.starts_with("/"))
      return add(name, dso.str(), source);
    std::string where = at(source.file, source.line);
    if (dso.contains('/')) {
      Warnings.push_back(where + ": " + printable(dso) + " is relative to the program's working directory; not resolved");
      return;
    }
    std::string soname = (libPrefix ? "lib" : "") + dso.str() + ".so";
    std::string path = Search.find(soname);
    if (path.empty())
      Warnings.push_back(where + ": " + printable(soname) + " is not installed; OpenSSL fails to load it");
    else
      Modules.add({"openssl", name.str(), path, source});
  }

  // provider_conf_load: the provider's name (or its identity), its module (relative to MODULESDIR; by
  // default NAME.so there). The built-in providers load nothing; `activate` does not matter, because a
  // program can load a configured provider by name.
  void providers(const CnfValue &ref) {
    forEachEntry(ref, "provider", [&](const CnfValue &entry, const std::vector<CnfValue> &cmds, std::string name) {
      const CnfValue *module = nullptr;
      for (const CnfValue &cmd : cmds) {
        StringRef key = skipDot(cmd.name);
        if (key == "identity") name = cmd.value;
        if (key == "module") module = &cmd;
      }
      if (is_contained({"default", "base", "null"}, name))
        return;
      std::string file = module ? module->value : name + ".so";
      add(name, StringRef(file).starts_with("/") ? file : std::string(OpensslModulesDir) + "/" + file,
          module ? module->source : entry.source);
    });
  }

  // int_engine_configure: `dynamic_path` loads that file through the dynamic engine; the first other
  // command loads the engine by id (ENGINE_by_id: ENGINESDIR/ID.so unless built in).
  void engines(const CnfValue &ref) {
    forEachEntry(ref, "engine", [&](const CnfValue &entry, const std::vector<CnfValue> &cmds, std::string name) {
      bool haveEngine = false;
      for (const CnfValue &cmd : cmds) {
        StringRef key = skipDot(cmd.name);
        if (key == "engine_id") {
          name = cmd.value;
        } else if (key == "dynamic_path") {
          addDso(name, cmd.value, /*libPrefix=*/false, cmd.source);
          haveEngine = true;
        } else if (key != "soft_load" && !haveEngine) {
          haveEngine = true;
          if (!is_contained({"dynamic", "rdrand"}, name))
            add(name, std::string(OpensslEnginesDir) + "/" + name + ".so", entry.source);
        }
      }
    });
  }

  // module_load_dso: a configuration module OpenSSL does not know is a library named by the section's
  // `path`, else by the module's name.
  void dsoModule(const CnfValue &v) {
    const CnfValue *path = Cnf.get(v.value, "path");
    addDso(v.name, path ? StringRef(path->value) : StringRef(v.name), /*libPrefix=*/true, path ? path->source : v.source);
  }

  const PluginConfigOptions &Opts;
  const OpensslConfig &Cnf;
  std::vector<std::string> &Warnings;
  ModuleList &Modules;
  LibrarySearch Search;
};

} // namespace

Expected<std::vector<PluginModule>> opensslModules(const PluginConfigOptions &opts,
                                                   std::vector<std::string> &warnings) {
  ModuleList modules;
  std::string file = hostPath(opts, OpensslConf);
  OpensslConfig cnf(opts, warnings);
  if (Error e = cnf.load(file))
    return e;
  OpensslModules(opts, cnf, warnings, modules).run();
  // OSSL_PROVIDER_load and ENGINE_by_id take any name at run time: every module in the two directories.
  for (auto [dir, what] : {std::pair{OpensslModulesDir, "MODULESDIR: OSSL_PROVIDER_load() can load any by name"},
                           std::pair{OpensslEnginesDir, "ENGINESDIR: ENGINE_by_id() can load any by name"}}) {
    std::string host = hostPath(opts, dir);
    for (const std::string &n : directoryNames(host))
      if (StringRef(n).ends_with(".so"))
        if (std::string path = hostPath(opts, std::string(dir) + "/" + n); isRegularFile(path))
          modules.add({"openssl", sys::path::stem(n).str(), path, {host, 0, std::string("every .so in ") + what}});
  }
  return modules.take();
}

} // namespace bespoke
