// OpensslConfig: the modules OpenSSL 3.0 loads because openssl.cnf names them (providers, engines,
// configuration modules), read the way libcrypto reads it, and every module of MODULESDIR and ENGINESDIR a
// program can load by name (see PluginConfig.h and PLUGINS.md).
#include "analyzer/PluginConfig.h"
#include "analyzer/PluginConfigFiles.h"

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

using namespace llvm;

namespace bespoke {
using namespace plugins;
namespace {

// OpenSSL's OPENSSLDIR, MODULESDIR and ENGINESDIR as Debian 12 builds them (`openssl version -a`).
constexpr const char *OpensslConf = "/usr/lib/ssl/openssl.cnf";
constexpr const char *OpensslModulesDir = "/usr/lib/x86_64-linux-gnu/ossl-modules";
constexpr const char *OpensslEnginesDir = "/usr/lib/x86_64-linux-gnu/engines-3";

} // namespace

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
