// PluginConfig: reads the configuration of glibc NSS and gconv and Linux-PAM (OpenSSL: OpensslConfig.cpp)
// the way those libraries read it and resolves each module to the file their loader would open (see PluginConfig.h and
// PLUGINS.md). Each reader follows its library's parser closely, quirks included, because a module the real
// parser loads and ours skips is a system call the filter misses.
#include "analyzer/PluginConfig.h"
#include "analyzer/PluginConfigFiles.h"

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
using namespace plugins;
namespace {

// The paths Debian 12 (x86-64) builds into the libraries: glibc's _PATH_NSSWITCH_CONF and GCONV_PATH,
// Linux-PAM's configuration directories, DEFAULT_MODULE_PATH and Debian's /lib/security fallback.
constexpr const char *NsswitchConf = "/etc/nsswitch.conf";
constexpr const char *GconvDir = "/usr/lib/x86_64-linux-gnu/gconv";
constexpr const char *PamDirs[] = {"/etc/pam.d", "/usr/lib/pam.d"};
constexpr const char *PamConf = "/etc/pam.conf";
constexpr const char *PamModuleDirs[] = {"/lib/x86_64-linux-gnu/security/", "/lib/security/"};

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

} // namespace bespoke
