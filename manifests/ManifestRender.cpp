// Manifest rendering: a Footprint as the YAML text of manifest version 1 or 2 (manifests/README.md).
// Deterministic: the text depends only on the content (canonicalize), keys are written in a fixed order,
// and nothing comes from an unordered container.
#include "manifests/ManifestFormat.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <cctype>
#include <set>
#include <tuple>

namespace bespoke::manifest_format {

namespace {

bool unresolvedLess(const Unresolved &a, const Unresolved &b) {
  // Sorted by the site (the last frame), as the analyzer does; the remaining fields only break ties.
  static const Frame kNoSite{};
  const Frame &sa = a.evidence.chain.empty() ? kNoSite : a.evidence.chain.back();
  const Frame &sb = b.evidence.chain.empty() ? kNoSite : b.evidence.chain.back();
  auto frameKey = [](const Frame &f) { return std::tie(f.module, f.address, f.file, f.line, f.symbol); };
  if (frameKey(sa) != frameKey(sb)) return frameKey(sa) < frameKey(sb);
  if (std::tie(a.kind, a.why, a.evidence.root) != std::tie(b.kind, b.why, b.evidence.root))
    return std::tie(a.kind, a.why, a.evidence.root) < std::tie(b.kind, b.why, b.evidence.root);
  return std::lexicographical_compare(a.evidence.chain.begin(), a.evidence.chain.end(), b.evidence.chain.begin(),
                                      b.evidence.chain.end(),
                                      [&](const Frame &x, const Frame &y) { return frameKey(x) < frameKey(y); });
}

template <typename T> void sortUnique(std::vector<T> &v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Sorts what the format defines as sorted; lists whose order carries meaning (modules: load order,
// evidence: shortest first, chains) are kept as they are.
} // namespace

void canonicalize(Footprint &fp) {
  std::stable_sort(fp.syscalls.begin(), fp.syscalls.end(),
                   [](const SyscallUse &a, const SyscallUse &b) { return a.name < b.name; });
  for (SyscallUse &u : fp.syscalls)
    for (auto &[arg, fact] : u.args) {
      if (fact.any) fact.values.clear();
      sortUnique(fact.values);
    }
  sortUnique(fp.network.bind);
  sortUnique(fp.network.connect);
  sortUnique(fp.network.families);
  sortUnique(fp.kernel.paths);
  sortUnique(fp.kernel.features);
  sortUnique(fp.crossCheck.sourceOnly);
  sortUnique(fp.crossCheck.binaryOnly);
  std::stable_sort(fp.unresolved.begin(), fp.unresolved.end(), unresolvedLess);
  // Files: by path, each path once (the first entry, the shortest chain, stays).
  std::stable_sort(fp.files.begin(), fp.files.end(), [](const FileUse &a, const FileUse &b) { return a.path < b.path; });
  fp.files.erase(std::unique(fp.files.begin(), fp.files.end(), [](const FileUse &a, const FileUse &b) { return a.path == b.path; }),
                 fp.files.end());
}

bool needsVersion2(const Footprint &fp) {
  return !fp.files.empty() || fp.network.present || std::any_of(fp.modules.begin(), fp.modules.end(), [](const ModuleInfo &m) {
           return !m.kind.empty() || !m.loaded.empty();
         });
}

namespace {

bool isYamlKeyword(std::string s) {
  for (char &c : s) c = char(tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string> kKeywords = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"};
  return kKeywords.count(s) != 0;
}

// Plain (unquoted) only when the string cannot be read back as anything else: a conservative character
// set, starting with a letter, '/' or '_' (so "2.36", ".inf" and "-1" are quoted), and not a keyword.
bool plainIsSafe(const std::string &s) {
  if (s.empty()) return false;
  unsigned char first = static_cast<unsigned char>(s[0]);
  if (!(isalpha(first) || first == '/' || first == '_')) return false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!(isalnum(u) || c == '_' || c == '-' || c == '/' || c == '.' || c == '+')) return false;
  }
  return !isYamlKeyword(s);
}

void emitString(YAML::Emitter &out, const std::string &s) {
  if (plainIsSafe(s)) out << s;
  else out << YAML::DoubleQuoted << s;
}

// A block list with a comment beside each entry `comment` gives one for (for reviewers; not read back).
void emitCommentedList(YAML::Emitter &out, const std::vector<std::string> &v,
                       const std::function<std::string(const std::string &)> &comment) {
  out << YAML::BeginSeq;
  for (const std::string &s : v) {
    emitString(out, s);
    if (std::string c = comment(s); !c.empty()) out << YAML::Comment(c);
  }
  out << YAML::EndSeq;
}

// Empty lists are written `[]` (a block list cannot be empty); others one entry per line.
void emitStringList(YAML::Emitter &out, const std::vector<std::string> &v) {
  if (v.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    return;
  }
  out << YAML::BeginSeq;
  for (const std::string &s : v) emitString(out, s);
  out << YAML::EndSeq;
}

// The `root` and `chain` keys of an evidence map or an unresolved entry. One frame per line, so a diff
// shows which frame changed.
void emitEvidenceKeys(YAML::Emitter &out, const Evidence &ev) {
  out << YAML::Key << "root" << YAML::Value;
  emitString(out, ev.root);
  out << YAML::Key << "chain" << YAML::Value;
  if (ev.chain.empty()) {
    out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    return;
  }
  out << YAML::BeginSeq;
  for (const Frame &f : ev.chain) out << YAML::DoubleQuoted << frameString(f);
  out << YAML::EndSeq;
}

void emitStringField(YAML::Emitter &out, const char *key, const std::string &value) {
  out << YAML::Key << key << YAML::Value;
  emitString(out, value);
}

// Hashes are always quoted, so that they look alike whether or not they start with a digit.
void emitHashField(YAML::Emitter &out, const char *key, const std::string &value) {
  out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
}

} // namespace

std::string render(const Manifest &m) {
  Footprint fp = m.footprint;
  canonicalize(fp);

  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  // Version 1 only for a manifest read as version 1 that holds nothing version 2 added (it saves unchanged).
  const int version = m.version == 1 && !needsVersion2(fp) ? 1 : 2;
  out << YAML::Key << "bespoke" << YAML::Value << version;

  out << YAML::Key << "app" << YAML::Value << YAML::BeginMap;
  emitStringField(out, "name", fp.app.name);
  emitStringField(out, "path", fp.app.path);
  emitHashField(out, "sha256", fp.app.sha256);
  emitStringField(out, "arch", fp.app.arch);
  emitStringField(out, "linkage", fp.app.linkage);
  emitStringField(out, "libc", fp.app.libc);
  emitStringField(out, "libc_version", fp.app.libcVersion);
  out << YAML::EndMap;

  out << YAML::Key << "modules" << YAML::Value;
  if (fp.modules.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const ModuleInfo &mod : fp.modules) {
    out << YAML::BeginMap;
    emitStringField(out, "name", mod.name);
    emitStringField(out, "path", mod.path);
    emitHashField(out, "sha256", mod.sha256);
    if (version >= 2) {
      emitStringField(out, "kind", mod.kind);
      emitStringField(out, "loaded", mod.loaded);
      // Only the keys that apply to how the module was loaded, in this order.
      if (!mod.by.empty()) emitStringField(out, "by", mod.by);
      if (mod.site) out << YAML::Key << "site" << YAML::Value << YAML::DoubleQuoted << frameString(*mod.site);
      if (!mod.target.empty()) emitStringField(out, "target", mod.target);
      if (!mod.config.empty()) out << YAML::Key << "config" << YAML::Value << YAML::DoubleQuoted << mod.config;
      if (!mod.flag.empty()) out << YAML::Key << "flag" << YAML::Value << YAML::DoubleQuoted << mod.flag;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  out << YAML::Key << "syscalls" << YAML::Value;
  if (fp.syscalls.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const SyscallUse &u : fp.syscalls) {
    out << YAML::BeginMap;
    emitStringField(out, "name", u.name);
    out << YAML::Key << "nr" << YAML::Value << u.nr;
    out << YAML::Key << "args" << YAML::Value;
    if (u.args.empty()) out << YAML::Flow;
    out << YAML::BeginMap;
    for (const auto &[arg, fact] : u.args) { // std::map: sorted by argument name
      out << YAML::Key;
      emitString(out, arg);
      out << YAML::Value;
      // For reviewers, not read back: why a fact is any (or which models gave values), and the site
      // passing each value. With sites, one value per line, the site beside it.
      if (fact.any) {
        out << "any";
        if (!fact.why.empty()) out << YAML::Comment(fact.why);
      } else if (fact.sites.empty()) {
        out << YAML::Flow << YAML::BeginSeq;
        for (const std::string &v : fact.values) emitString(out, v);
        out << YAML::EndSeq;
        if (!fact.why.empty()) out << YAML::Comment(fact.why);
      } else {
        if (!fact.why.empty()) out << YAML::Comment(fact.why);
        emitCommentedList(out, fact.values, [&](const std::string &v) {
          auto s = fact.sites.find(v);
          return s == fact.sites.end() ? std::string() : frameString(s->second);
        });
      }
    }
    out << YAML::EndMap;
    out << YAML::Key << "evidence" << YAML::Value;
    if (u.evidence.empty()) out << YAML::Flow;
    out << YAML::BeginSeq;
    for (const Evidence &ev : u.evidence) {
      out << YAML::BeginMap;
      emitEvidenceKeys(out, ev);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  out << YAML::Key << "kernel" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "paths" << YAML::Value;
  emitStringList(out, fp.kernel.paths);
  out << YAML::Key << "features" << YAML::Value;
  if (fp.kernel.features.empty()) {
    emitStringList(out, fp.kernel.features);
  } else {
    emitCommentedList(out, fp.kernel.features, [&](const std::string &f) {
      auto r = fp.kernel.featureReasons.find(f);
      return r == fp.kernel.featureReasons.end() ? std::string() : r->second;
    });
  }
  out << YAML::EndMap;

  if (version >= 2) {
    out << YAML::Key << "files" << YAML::Value;
    if (fp.files.empty()) out << YAML::Flow;
    out << YAML::BeginSeq;
    for (const FileUse &f : fp.files) {
      out << YAML::BeginMap;
      emitStringField(out, "path", f.path);
      emitEvidenceKeys(out, f.evidence);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }

  if (version >= 2 && fp.network.present) {
    out << YAML::Key << "network" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "bind" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (uint16_t port : fp.network.bind) out << port;
    out << YAML::EndSeq;
    out << YAML::Key << "connect" << YAML::Value;
    emitStringList(out, fp.network.connect);
    if (!fp.network.families.empty()) {
      out << YAML::Key << "families" << YAML::Value;
      emitStringList(out, fp.network.families);
    }
    out << YAML::EndMap;
  }

  out << YAML::Key << "unresolved" << YAML::Value;
  if (fp.unresolved.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const Unresolved &u : fp.unresolved) {
    out << YAML::BeginMap;
    emitStringField(out, "kind", u.kind);
    out << YAML::Key << "why" << YAML::Value << YAML::DoubleQuoted << u.why;
    emitEvidenceKeys(out, u.evidence);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  if (fp.crossCheck.done) {
    out << YAML::Key << "crosscheck" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "source_only" << YAML::Value;
    emitStringList(out, fp.crossCheck.sourceOnly);
    out << YAML::Key << "binary_only" << YAML::Value;
    emitStringList(out, fp.crossCheck.binaryOnly);
    out << YAML::EndMap;
  }

  out << YAML::Key << "stats" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "functions" << YAML::Value << fp.stats.functions;
  out << YAML::Key << "reachable_functions" << YAML::Value << fp.stats.reachableFunctions;
  out << YAML::Key << "indirect_call_sites" << YAML::Value << fp.stats.indirectCallSites;
  out << YAML::Key << "address_taken_functions" << YAML::Value << fp.stats.addressTakenFunctions;
  out << YAML::EndMap;

  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

} // namespace bespoke::manifest_format
