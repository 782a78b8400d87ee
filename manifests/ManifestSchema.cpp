// Manifest parsing: YAML text checked against the schema of manifest version 1 or 2
// (manifests/README.md). yaml-cpp reports problems by throwing; parseText catches them and returns a
// Problem ("[LINE: ]message"). The schema walk itself reports through return values, not exceptions.
#include "manifests/ManifestFormat.h"

#include "analyzer/KernelEntries.h"
#include "analyzer/SyscallTable.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

namespace bespoke::manifest_format {

std::string shown(std::string_view s) {
  constexpr size_t kMax = 80;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

namespace {

int lineOf(const YAML::Node &n) {
  YAML::Mark mark = n.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

const char *kindOf(const YAML::Node &n) {
  switch (n.Type()) {
  case YAML::NodeType::Map: return "a map";
  case YAML::NodeType::Sequence: return "a list";
  case YAML::NodeType::Scalar: return "a scalar";
  case YAML::NodeType::Null: return "null";
  default: return "nothing";
  }
}


std::string joined(std::initializer_list<const char *> names) {
  std::string s;
  for (const char *n : names) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

bool isLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'); });
}

// A plain (unquoted) YAML integer in decimal: the schema's numbers are never strings.
bool isPlainInteger(const YAML::Node &n) {
  return n.IsScalar() && (n.Tag() == "?" || n.Tag() == "tag:yaml.org,2002:int");
}

template <typename Int> std::optional<Int> parseDecimal(std::string_view s) {
  Int v{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "module!symbol@0xADDRESS": split at the first '!' and the last "@0x", so symbols may contain '@'
// (versioned names like memcpy@GLIBC_2.14, PLT slots like write@plt) and '!'.
// "symbol@FILE:LINE" (a source frame): C symbols hold no '@', so split at the first '@' and the last ':'.
std::optional<Frame> parseSourceFrameString(std::string_view s) {
  size_t at = s.find('@');
  size_t colon = s.rfind(':');
  if (at == std::string_view::npos || at == 0 || colon == std::string_view::npos || colon <= at + 1) return std::nullopt;
  std::string_view digits = s.substr(colon + 1);
  std::optional<unsigned> line = parseDecimal<unsigned>(digits);
  if (!line || digits.size() > 9) return std::nullopt;
  Frame f;
  f.symbol = std::string(s.substr(0, at));
  f.file = std::string(s.substr(at + 1, colon - at - 1));
  f.line = *line;
  return f;
}


// Walks a loaded YAML document against the schema of its version (1 or 2). Each check returns false after recording the
// first problem, so callers simply propagate `false`.
class SchemaReader {
public:
  std::optional<Problem> problem;
  int Version = kManifestVersion; // of the document being read

  bool document(const YAML::Node &root, Manifest &m);

private:
  bool fail(int line, std::string message) {
    if (!problem) problem = Problem{line, std::move(message)};
    return false;
  }
  bool fail(const YAML::Node &at, std::string message) { return fail(lineOf(at), std::move(message)); }

  // Rejects duplicate keys (yaml-cpp keeps both and answers lookups with the first) and unknown keys.
  bool keys(const YAML::Node &map, const std::string &where, std::initializer_list<const char *> allowed) {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first; // a copy: `it->` yields a temporary that dies with the statement
      std::string name = key.IsScalar() ? shown(key.Scalar()) : std::string("<") + kindOf(key) + ">";
      bool known = key.IsScalar() && std::any_of(allowed.begin(), allowed.end(), [&](const char *a) { return key.Scalar() == a; });
      if (!known)
        return fail(key, (where.empty() ? "unknown top-level key '" : where + ": unknown key '") + name +
                             "' (expected " + joined(allowed) + ")");
      if (!seen.insert(key.Scalar()).second)
        return fail(key, (where.empty() ? "duplicate top-level key '" : where + ": duplicate key '") + name + "'");
    }
    return true;
  }

  bool map(const YAML::Node &n, const std::string &where) {
    return n.IsMap() || fail(n, where + " must be a map, found " + kindOf(n));
  }

  bool list(const YAML::Node &n, const std::string &where) {
    return n.IsSequence() || fail(n, where + " must be a list, found " + kindOf(n));
  }

  // The value under `key`. (Returned, not assigned into a Node: yaml-cpp's Node assignment copies
  // content into the target and throws for a missing key.)
  std::optional<YAML::Node> required(const YAML::Node &map, const char *key, const std::string &where) {
    const YAML::Node n = map[key];
    if (n.IsDefined()) return n;
    if (where.empty()) fail(0, std::string("missing '") + key + "'"); // a top-level section: no useful line
    else fail(map, where + ": missing '" + key + "'");
    return std::nullopt;
  }

  bool string(const YAML::Node &map, const char *key, const std::string &where, std::string &out) {
    std::optional<YAML::Node> found = required(map, key, where);
    if (!found) return false;
    const YAML::Node &n = *found;
    if (!n.IsScalar()) return fail(n, where + ": '" + key + "' must be a string, found " + kindOf(n));
    out = n.Scalar();
    return true;
  }

  bool sha256(const YAML::Node &map, const std::string &where, std::string &out) {
    if (!string(map, "sha256", where, out)) return false;
    return (out.size() == 64 && isLowerHex(out)) ||
           fail(map["sha256"], where + ": 'sha256' must be 64 lowercase hex digits, found '" + shown(out) + "'");
  }

  bool unsignedInt(const YAML::Node &map, const char *key, const std::string &where, uint64_t &out) {
    std::optional<YAML::Node> found = required(map, key, where);
    if (!found) return false;
    const YAML::Node &n = *found;
    std::optional<uint64_t> v = isPlainInteger(n) ? parseDecimal<uint64_t>(n.Scalar()) : std::nullopt;
    if (!v) return fail(n, where + ": '" + key + "' must be a non-negative integer");
    out = *v;
    return true;
  }

  bool frame(const YAML::Node &n, const std::string &where, Frame &out) {
    std::optional<Frame> f = n.IsScalar() ? parseFrameString(n.Scalar()) : std::nullopt;
    if (!f)
      return fail(n, where + ": " + (n.IsScalar() ? "frame '" + shown(n.Scalar()) + "'" : std::string("a frame")) +
                         " is not module!symbol@0xADDRESS (lowercase hex) or symbol@FILE:LINE");
    out = std::move(*f);
    return true;
  }

  // The `root` and `chain` keys, in a syscall's evidence map or an unresolved entry.
  bool evidence(const YAML::Node &n, const std::string &where, bool chainMayBeEmpty, Evidence &out) {
    if (!string(n, "root", where, out.root)) return false;
    std::optional<YAML::Node> found = required(n, "chain", where);
    if (!found || !list(*found, where + ": 'chain'")) return false;
    const YAML::Node &chain = *found;
    if (chain.size() == 0 && !chainMayBeEmpty && !isKernelRoot(out.root))
      return fail(chain, where + ": 'chain' must not be empty (only a kernel-issued entry, root 'kernel: ...', has none)");
    out.chain.resize(chain.size());
    for (size_t i = 0; i < chain.size(); ++i)
      if (!frame(chain[i], where + ".chain[" + std::to_string(i) + "]", out.chain[i])) return false;
    return true;
  }

  bool app(const YAML::Node &root, AppInfo &out);
  bool modules(const YAML::Node &n, std::vector<ModuleInfo> &out);
  bool moduleOrigin(const YAML::Node &n, const std::string &where, ModuleInfo &out);
  bool files(const YAML::Node &n, std::vector<FileUse> &out);
  bool syscalls(const YAML::Node &n, std::vector<SyscallUse> &out);
  bool syscall(const YAML::Node &n, const std::string &where, SyscallUse &out);
  bool args(const YAML::Node &n, const std::string &where, std::map<std::string, ArgFact> &out);
  bool kernel(const YAML::Node &n, KernelFacts &out);
  bool network(const YAML::Node &n, NetworkFacts &out);
  bool stringList(const YAML::Node &map, const char *key, const std::string &where, std::vector<std::string> &out);
  bool unresolved(const YAML::Node &n, std::vector<Unresolved> &out);
  bool stats(const YAML::Node &n, AnalysisStats &out);
};

bool SchemaReader::document(const YAML::Node &root, Manifest &m) {
  if (!root.IsMap())
    return fail(0, std::string("not a bespoke manifest (the top level must be a map, found ") + kindOf(root) + ")");
  const YAML::Node version = root["bespoke"];
  if (!version) return fail(0, "not a bespoke manifest (missing 'bespoke' key)");
  std::optional<int64_t> v = isPlainInteger(version) ? parseDecimal<int64_t>(version.Scalar()) : std::nullopt;
  if (!v) return fail(version, "'bespoke' (the manifest version) must be an integer");
  if (*v < kOldestManifestVersion || *v > kManifestVersion)
    return fail(0, "unsupported manifest version " + std::to_string(*v) + " (this bespoke reads versions " +
                       std::to_string(kOldestManifestVersion) + " to " + std::to_string(kManifestVersion) + ")");
  m.version = int(*v);
  Version = m.version;
  if (Version == 1 && !keys(root, "", {"bespoke", "app", "modules", "syscalls", "kernel", "unresolved", "crosscheck", "stats"}))
    return false;
  if (Version >= 2 &&
      !keys(root, "", {"bespoke", "app", "modules", "syscalls", "kernel", "files", "network", "unresolved", "crosscheck",
                       "stats"}))
    return false;

  Footprint &fp = m.footprint;
  if (!app(root, fp.app)) return false;
  if (root["modules"] && !modules(root["modules"], fp.modules)) return false;
  std::optional<YAML::Node> sys = required(root, "syscalls", "");
  if (!sys || !syscalls(*sys, fp.syscalls)) return false;
  if (root["kernel"] && !kernel(root["kernel"], fp.kernel)) return false;
  if (root["files"] && !files(root["files"], fp.files)) return false;
  if (root["network"] && !network(root["network"], fp.network)) return false;
  if (root["unresolved"] && !unresolved(root["unresolved"], fp.unresolved)) return false;
  if (root["crosscheck"]) {
    const YAML::Node n = root["crosscheck"];
    if (!map(n, "'crosscheck'") || !keys(n, "crosscheck", {"source_only", "binary_only"}) ||
        !stringList(n, "source_only", "crosscheck", fp.crossCheck.sourceOnly) ||
        !stringList(n, "binary_only", "crosscheck", fp.crossCheck.binaryOnly))
      return false;
    fp.crossCheck.done = true;
  }
  if (root["stats"] && !stats(root["stats"], fp.stats)) return false;
  canonicalize(fp);
  return true;
}

bool SchemaReader::app(const YAML::Node &root, AppInfo &out) {
  std::optional<YAML::Node> found = required(root, "app", "");
  if (!found) return false;
  const YAML::Node &n = *found;
  if (!map(n, "'app'") ||
      !keys(n, "app", {"name", "path", "sha256", "arch", "linkage", "libc", "libc_version"}) ||
      !string(n, "name", "app", out.name) || !string(n, "path", "app", out.path) || !sha256(n, "app", out.sha256) ||
      !string(n, "arch", "app", out.arch) || !string(n, "linkage", "app", out.linkage) ||
      !string(n, "libc", "app", out.libc) || !string(n, "libc_version", "app", out.libcVersion))
    return false;
  if (out.arch != "x86_64") return fail(n["arch"], "app: unsupported arch '" + shown(out.arch) + "' (bespoke reads x86_64)");
  if (out.linkage != "static" && out.linkage != "static-pie" && out.linkage != "dynamic" && out.linkage != "unknown")
    return fail(n["linkage"], "app: 'linkage' must be static, static-pie, dynamic or unknown, found '" + shown(out.linkage) + "'");
  if (out.libc != "glibc" && out.libc != "musl" && out.libc != "none")
    return fail(n["libc"], "app: 'libc' must be glibc, musl or none, found '" + shown(out.libc) + "'");
  return true;
}

bool SchemaReader::modules(const YAML::Node &n, std::vector<ModuleInfo> &out) {
  if (!list(n, "'modules'")) return false;
  out.resize(n.size());
  std::map<std::string, int> firstLine; // name -> line of its first entry
  for (size_t i = 0; i < n.size(); ++i) {
    std::string where = "modules[" + std::to_string(i) + "]";
    if (Version == 1) {
      if (!map(n[i], where) || !keys(n[i], where, {"name", "path", "sha256"})) return false;
    } else if (!map(n[i], where) ||
               !keys(n[i], where, {"name", "path", "sha256", "kind", "loaded", "by", "site", "target", "config", "flag"})) {
      return false;
    }
    if (!string(n[i], "name", where, out[i].name) || !string(n[i], "path", where, out[i].path) ||
        !sha256(n[i], where, out[i].sha256))
      return false;
    if (Version >= 2 && !moduleOrigin(n[i], where, out[i])) return false;
    auto [it, inserted] = firstLine.emplace(out[i].name, lineOf(n[i]));
    if (!inserted && Version >= 2) // frames name modules: a name must say which file
      return fail(n[i]["name"], where + ": module name '" + shown(out[i].name) + "' is listed twice (first at line " +
                                    std::to_string(it->second) + ")");
  }
  return true;
}

// How a version 2 module entered: `kind` and `loaded`, and exactly the keys that apply to `loaded`.
bool SchemaReader::moduleOrigin(const YAML::Node &n, const std::string &where, ModuleInfo &out) {
  if (!string(n, "kind", where, out.kind) || !string(n, "loaded", where, out.loaded)) return false;
  if (out.kind != "program" && out.kind != "library")
    return fail(n["kind"], where + ": 'kind' must be program or library, found '" + shown(out.kind) + "'");
  struct Rule {
    const char *loaded;
    std::initializer_list<const char *> required, optional;
  };
  static const Rule rules[] = {
      {"executable", {}, {}},
      {"needed", {"by"}, {}},
      {"interpreter", {"by"}, {}},
      {"dlopen", {"by", "site", "target"}, {}},
      {"exec", {"by", "site", "target"}, {}},
      {"nss", {"by", "config"}, {}},
      {"gconv", {"by", "config"}, {}},
      {"pam", {"by", "config"}, {}},
      {"openssl", {"by", "config"}, {}},
      {"flag", {"flag"}, {"by"}},
      {"observed", {}, {"by", "target"}},
  };
  const Rule *rule = nullptr;
  for (const Rule &r : rules)
    if (out.loaded == r.loaded) rule = &r;
  if (!rule)
    return fail(n["loaded"], where + ": 'loaded' must be executable, needed, interpreter, dlopen, exec, nss, gconv, pam, "
                                     "openssl, flag or observed, found '" + shown(out.loaded) + "'");
  for (const char *key : {"by", "site", "target", "config", "flag"}) {
    bool required = std::any_of(rule->required.begin(), rule->required.end(), [&](const char *k) { return !strcmp(k, key); });
    bool optional = std::any_of(rule->optional.begin(), rule->optional.end(), [&](const char *k) { return !strcmp(k, key); });
    if (!n[key]) {
      if (required) return fail(n, where + ": missing '" + key + "' (a module loaded by " + out.loaded + " has one)");
      continue;
    }
    if (!required && !optional)
      return fail(n[key], where + ": '" + key + "' does not apply to a module loaded by " + out.loaded);
    std::string value;
    if (!string(n, key, where, value)) return false;
    if (!strcmp(key, "site")) {
      std::optional<Frame> f = parseFrameString(value);
      if (!f || f->isSource())
        return fail(n[key], where + ": 'site' must be a frame module!symbol@0xADDRESS, found '" + shown(value) + "'");
      out.site = *f;
    } else {
      (!strcmp(key, "by") ? out.by : !strcmp(key, "target") ? out.target : !strcmp(key, "config") ? out.config : out.flag) = value;
    }
  }
  return true;
}

bool SchemaReader::files(const YAML::Node &n, std::vector<FileUse> &out) {
  if (!list(n, "'files'")) return false;
  out.resize(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    std::string where = "files[" + std::to_string(i) + "]";
    if (!map(n[i], where) || !keys(n[i], where, {"path", "root", "chain"}) || !string(n[i], "path", where, out[i].path) ||
        !evidence(n[i], where, /*chainMayBeEmpty=*/false, out[i].evidence))
      return false;
    if (out[i].path.empty() || out[i].path[0] != '/')
      return fail(n[i]["path"], where + ": 'path' must be an absolute path, found '" + shown(out[i].path) + "'");
  }
  return true;
}

bool SchemaReader::syscalls(const YAML::Node &n, std::vector<SyscallUse> &out) {
  if (!list(n, "'syscalls'")) return false;
  std::map<std::string, int> firstLine; // name -> line of its first entry
  out.resize(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    if (!syscall(n[i], "syscalls[" + std::to_string(i) + "]", out[i])) return false;
    auto [it, inserted] = firstLine.emplace(out[i].name, lineOf(n[i]));
    if (!inserted)
      return fail(n[i], "syscall '" + out[i].name + "' is listed twice" +
                            (it->second ? " (first at line " + std::to_string(it->second) + ")" : ""));
  }
  return true;
}

bool SchemaReader::syscall(const YAML::Node &n, const std::string &where, SyscallUse &out) {
  if (!map(n, where) || !keys(n, where, {"name", "nr", "args", "evidence"}) || !string(n, "name", where, out.name))
    return false;
  std::optional<int> expected = syscallNumber(out.name);
  if (!expected) return fail(n["name"], "syscall '" + shown(out.name) + "' is not an x86-64 system call");

  std::optional<YAML::Node> foundNr = required(n, "nr", where);
  if (!foundNr) return false;
  const YAML::Node &nr = *foundNr;
  std::optional<int64_t> given = isPlainInteger(nr) ? parseDecimal<int64_t>(nr.Scalar()) : std::nullopt;
  if (!given) return fail(nr, where + ": 'nr' must be an integer");
  if (*given != *expected)
    return fail(nr, "syscall '" + out.name + "' has nr " + std::to_string(*given) + " but x86-64 " + out.name +
                        " is " + std::to_string(*expected));
  out.nr = *expected;

  if (n["args"] && !args(n["args"], where, out.args)) return false;

  std::optional<YAML::Node> foundEvidence = required(n, "evidence", where);
  if (!foundEvidence || !list(*foundEvidence, where + ": 'evidence'")) return false;
  const YAML::Node &evidence = *foundEvidence;
  if (evidence.size() == 0) return fail(evidence, where + ": 'evidence' must not be empty (every syscall has a chain)");
  out.evidence.resize(evidence.size());
  for (size_t j = 0; j < evidence.size(); ++j) {
    std::string w = where + ".evidence[" + std::to_string(j) + "]";
    if (!map(evidence[j], w) || !keys(evidence[j], w, {"root", "chain"}) ||
        !this->evidence(evidence[j], w, /*chainMayBeEmpty=*/false, out.evidence[j]))
      return false;
    if (isKernelRoot(out.evidence[j].root) && !isKernelIssued(out.name))
      return fail(evidence[j], w + ": root '" + shown(out.evidence[j].root) + "' is for syscalls the kernel itself makes a "
                  "task issue, and '" + out.name + "' is not one of them");
  }
  return true;
}

bool SchemaReader::args(const YAML::Node &n, const std::string &where, std::map<std::string, ArgFact> &out) {
  if (!map(n, where + ": 'args'")) return false;
  std::set<std::string> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const YAML::Node key = it->first, value = it->second; // copies, see keys()
    if (!key.IsScalar() || key.Scalar().empty()) return fail(key, where + ": argument names must be non-empty strings");
    const std::string name = key.Scalar();
    if (!seen.insert(name).second) return fail(key, where + ": duplicate argument '" + shown(name) + "'");
    ArgFact fact;
    if (value.IsScalar() && value.Scalar() == "any") {
      fact.any = true;
    } else if (value.IsSequence()) {
      for (const YAML::Node &v : value) {
        if (!v.IsScalar()) return fail(v, where + ": values of argument '" + shown(name) + "' must be scalars");
        fact.values.push_back(v.Scalar());
      }
    } else {
      return fail(value, where + ": argument '" + shown(name) + "' must be a list of values or \"any\"");
    }
    out[name] = std::move(fact);
  }
  return true;
}

bool SchemaReader::stringList(const YAML::Node &map, const char *key, const std::string &where,
                              std::vector<std::string> &out) {
  const YAML::Node n = map[key];
  if (!n) return true; // optional, loads as empty
  if (!list(n, where + ": '" + key + "'")) return false;
  for (const YAML::Node &x : n) {
    if (!x.IsScalar()) return fail(x, where + ": '" + key + "' entries must be strings, found " + kindOf(x));
    out.push_back(x.Scalar());
  }
  return true;
}

bool SchemaReader::network(const YAML::Node &n, NetworkFacts &out) {
  if (!map(n, "'network'") || !keys(n, "network", {"bind", "connect", "families"})) return false;
  out.present = true;
  if (const YAML::Node b = n["bind"]) {
    if (!list(b, "network: 'bind'")) return false;
    for (size_t i = 0; i < b.size(); ++i) {
      std::optional<uint64_t> v = isPlainInteger(b[i]) ? parseDecimal<uint64_t>(b[i].Scalar()) : std::nullopt;
      if (!v || *v < 1 || *v > 65535)
        return fail(b[i], "network.bind[" + std::to_string(i) + "]: a port must be an integer from 1 to 65535" +
                              (b[i].IsScalar() ? ", found '" + shown(b[i].Scalar()) + "'" : std::string()));
      out.bind.push_back(uint16_t(*v));
    }
  }
  if (n["connect"] && !stringList(n, "connect", "network", out.connect)) return false;
  for (size_t i = 0; i < out.connect.size(); ++i)
    if (out.connect[i].empty())
      return fail(n["connect"][i], "network.connect[" + std::to_string(i) + "]: an empty destination");
  // Names are checked where they are used (the filter's policy), as the facts' values are.
  if (n["families"] && !stringList(n, "families", "network", out.families)) return false;
  for (size_t i = 0; i < out.families.size(); ++i)
    if (out.families[i].empty())
      return fail(n["families"][i], "network.families[" + std::to_string(i) + "]: an empty family");
  return true;
}

bool SchemaReader::kernel(const YAML::Node &n, KernelFacts &out) {
  return map(n, "'kernel'") && keys(n, "kernel", {"paths", "features"}) && stringList(n, "paths", "kernel", out.paths) &&
         stringList(n, "features", "kernel", out.features);
}

bool SchemaReader::unresolved(const YAML::Node &n, std::vector<Unresolved> &out) {
  if (!list(n, "'unresolved'")) return false;
  out.resize(n.size());
  for (size_t i = 0; i < n.size(); ++i) {
    std::string where = "unresolved[" + std::to_string(i) + "]";
    // An unresolved entry may lack a chain (nothing to show); a syscall's evidence may not.
    if (!map(n[i], where) || !keys(n[i], where, {"kind", "why", "root", "chain"}) ||
        !string(n[i], "kind", where, out[i].kind) || !string(n[i], "why", where, out[i].why) ||
        !evidence(n[i], where, /*chainMayBeEmpty=*/true, out[i].evidence))
      return false;
  }
  return true;
}

bool SchemaReader::stats(const YAML::Node &n, AnalysisStats &out) {
  if (!map(n, "'stats'") ||
      !keys(n, "stats", {"functions", "reachable_functions", "indirect_call_sites", "address_taken_functions"}))
    return false;
  // Each counter is optional (0 when absent): they inform, nothing downstream depends on them.
  std::pair<const char *, uint64_t *> counters[] = {{"functions", &out.functions},
                                                   {"reachable_functions", &out.reachableFunctions},
                                                   {"indirect_call_sites", &out.indirectCallSites},
                                                   {"address_taken_functions", &out.addressTakenFunctions}};
  for (auto [key, field] : counters)
    if (n[key] && !unsignedInt(n, key, "stats", *field)) return false;
  return true;
}

bool onlyWhitespace(const std::string &s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return isspace(static_cast<unsigned char>(c)); });
}

std::string syntaxError(const YAML::Mark &mark, const std::string &what) {
  std::string where = mark.line >= 0 ? " at line " + std::to_string(mark.line + 1) + ", column " +
                                           std::to_string(mark.column + 1)
                                     : "";
  return "YAML syntax error" + where + ": " + shown(what); // yaml-cpp quotes raw input characters
}

// Records where each document starts; builds nothing.
class DocumentStarts : public YAML::EventHandler {
public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark &mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark &, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark &, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark &, const std::string &, YAML::anchor_t, const std::string &) override {}
  void OnSequenceStart(const YAML::Mark &, const std::string &, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark &, const std::string &, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// A manifest is exactly one YAML document. Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever, allocating,
// on input such as a lone ',' (the parser reports the same empty document again and again; fixed upstream
// in yaml-cpp PR #1319). Here the parser is asked at most three times and a repeated start is an error.
std::optional<Problem> checkOneDocument(const std::string &text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts h;
  if (!parser.HandleNextDocument(h))
    return Problem{0, onlyWhitespace(text) ? "empty file, not a bespoke manifest"
                                           : "no YAML document (only comments), not a bespoke manifest"};
  if (!parser.HandleNextDocument(h) || h.starts.size() < 2) return std::nullopt;
  YAML::Mark second = h.starts[1];
  bool stuck = second.pos == h.starts[0].pos ||
               (parser.HandleNextDocument(h) && h.starts.size() > 2 && h.starts[2].pos == second.pos);
  if (stuck) {
    YAML::Mark at = h.starts.back();
    std::string what = at.pos >= 0 && size_t(at.pos) < text.size() ? "unexpected '" + shown(text.substr(size_t(at.pos), 1)) + "'"
                                                                    : "unexpected content";
    return Problem{0, syntaxError(at, what)};
  }
  return Problem{second.line + 1, "more than one YAML document (a manifest is a single document)"};
}

} // namespace

std::optional<Frame> parseFrameString(std::string_view s) {
  if (s.find("@0x") == std::string_view::npos || s.find('!') == std::string_view::npos)
    return parseSourceFrameString(s);
  size_t bang = s.find('!');
  size_t at = s.rfind("@0x");
  if (bang == std::string_view::npos || at == std::string_view::npos || at <= bang + 1 || bang == 0) return std::nullopt;
  std::string_view hex = s.substr(at + 3);
  if (hex.empty() || hex.size() > 16 || !isLowerHex(hex)) return std::nullopt;
  Frame f;
  f.module = std::string(s.substr(0, bang));
  f.symbol = std::string(s.substr(bang + 1, at - bang - 1));
  std::from_chars(hex.data(), hex.data() + hex.size(), f.address, 16);
  return f;
}

// yaml-cpp exceptions are turned into Problems here; nothing propagates.
std::optional<Problem> parseText(const std::string &text, Manifest &out) {
  try {
    if (std::optional<Problem> p = checkOneDocument(text)) return p;
    SchemaReader reader;
    Manifest m;
    if (!reader.document(YAML::Load(text), m)) return reader.problem;
    out = std::move(m);
    return std::nullopt;
  } catch (const YAML::ParserException &e) {
    return Problem{0, syntaxError(e.mark, e.msg)};
  } catch (const YAML::Exception &e) {
    return Problem{0, "cannot read the YAML: " + shown(e.msg)};
  } catch (const std::exception &e) {
    return Problem{0, std::string("cannot read the YAML: ") + shown(e.what())};
  }
}

} // namespace bespoke::manifest_format
