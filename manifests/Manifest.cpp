#include "manifests/Manifest.h"

#include "analyzer/SyscallTable.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <yaml-cpp/yaml.h>

#include <set>

using namespace llvm;

namespace bespoke {

namespace {

std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

std::string frameString(const Frame &f) { return f.module + "!" + f.symbol + "@" + hex(f.address); }

void emitChain(YAML::Emitter &out, const Evidence &ev) {
  out << YAML::Key << "root" << YAML::Value << ev.root;
  out << YAML::Key << "chain" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const Frame &f : ev.chain) out << YAML::DoubleQuoted << frameString(f);
  out << YAML::EndSeq;
}

// Strings that YAML would read back as another type are quoted.
void emitString(YAML::Emitter &out, const std::string &s) {
  bool plainOk = !s.empty();
  for (char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/' || c == '.' || c == '+'))
      plainOk = false;
  if (plainOk && (isdigit(static_cast<unsigned char>(s[0])) || s == "true" || s == "false" || s == "null" ||
                  s == "yes" || s == "no" || s == "on" || s == "off" || s == "~"))
    plainOk = false;
  if (plainOk) out << s;
  else out << YAML::DoubleQuoted << s;
}

} // namespace

std::string renderManifest(const Manifest &m) {
  const Footprint &fp = m.footprint;
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "bespoke" << YAML::Value << m.version;
  out << YAML::Key << "app" << YAML::Value << YAML::BeginMap;
  for (auto [k, v] : {std::pair<const char *, const std::string *>{"name", &fp.app.name}, {"path", &fp.app.path},
                      {"sha256", &fp.app.sha256}, {"arch", &fp.app.arch}, {"linkage", &fp.app.linkage},
                      {"libc", &fp.app.libc}, {"libc_version", &fp.app.libcVersion}}) {
    out << YAML::Key << k << YAML::Value;
    emitString(out, *v);
  }
  out << YAML::EndMap;

  out << YAML::Key << "modules" << YAML::Value << YAML::BeginSeq;
  for (const ModuleInfo &mod : fp.modules) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value; emitString(out, mod.name);
    out << YAML::Key << "path" << YAML::Value; emitString(out, mod.path);
    out << YAML::Key << "sha256" << YAML::Value; emitString(out, mod.sha256);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  std::vector<const SyscallUse *> sorted;
  for (const SyscallUse &u : fp.syscalls) sorted.push_back(&u);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto *a, auto *b) { return a->name < b->name; });
  out << YAML::Key << "syscalls" << YAML::Value << YAML::BeginSeq;
  for (const SyscallUse *u : sorted) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << u->name;
    out << YAML::Key << "nr" << YAML::Value << u->nr;
    out << YAML::Key << "args" << YAML::Value;
    if (u->args.empty()) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    } else {
      out << YAML::BeginMap;
      for (const auto &[arg, fact] : u->args) {
        out << YAML::Key << arg << YAML::Value;
        if (fact.any) out << "any";
        else {
          std::vector<std::string> vals = fact.values;
          std::sort(vals.begin(), vals.end());
          out << YAML::Flow << YAML::BeginSeq;
          for (const std::string &v : vals) emitString(out, v);
          out << YAML::EndSeq;
        }
      }
      out << YAML::EndMap;
    }
    out << YAML::Key << "evidence" << YAML::Value << YAML::BeginSeq;
    for (const Evidence &ev : u->evidence) {
      out << YAML::BeginMap;
      emitChain(out, ev);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  auto sortedStrings = [](std::vector<std::string> v) { std::sort(v.begin(), v.end()); v.erase(std::unique(v.begin(), v.end()), v.end()); return v; };
  out << YAML::Key << "kernel" << YAML::Value << YAML::BeginMap;
  for (auto [k, list] : {std::pair<const char *, const std::vector<std::string> *>{"paths", &fp.kernel.paths}, {"features", &fp.kernel.features}}) {
    out << YAML::Key << k << YAML::Value;
    std::vector<std::string> v = sortedStrings(*list);
    if (v.empty()) out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
    else {
      out << YAML::BeginSeq;
      for (const std::string &s : v) emitString(out, s);
      out << YAML::EndSeq;
    }
  }
  out << YAML::EndMap;

  out << YAML::Key << "unresolved" << YAML::Value;
  if (fp.unresolved.empty()) out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
  else {
    out << YAML::BeginSeq;
    for (const Unresolved &u : fp.unresolved) {
      out << YAML::BeginMap;
      out << YAML::Key << "kind" << YAML::Value << u.kind;
      out << YAML::Key << "why" << YAML::Value << YAML::DoubleQuoted << u.why;
      emitChain(out, u.evidence);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
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

namespace {

// Parsing errors carry the input name and, where known, the line.
struct ParseError {
  int line; // 1-based, 0 when unknown
  std::string message;
};

[[noreturn]] void failAt(const YAML::Node &n, const std::string &what) {
  throw ParseError{n.Mark().line >= 0 ? n.Mark().line + 1 : 0, what};
}

std::string scalar(const YAML::Node &map, const char *key, const std::string &where, bool required = true) {
  YAML::Node n = map[key];
  if (!n) {
    if (required) failAt(map, where + ": missing '" + key + "'");
    return "";
  }
  if (!n.IsScalar()) failAt(n, where + ": '" + key + "' must be a string");
  return n.Scalar();
}

uint64_t integer(const YAML::Node &map, const char *key, const std::string &where) {
  YAML::Node n = map[key];
  if (!n) failAt(map, where + ": missing '" + key + "'");
  if (!n.IsScalar()) failAt(n, where + ": '" + key + "' must be an integer");
  const std::string &s = n.Scalar();
  char *end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s.c_str(), &end, 0);
  if (s.empty() || *end || errno || s[0] == '-') failAt(n, where + ": '" + key + "' must be an integer");
  return v;
}

Frame parseFrame(const YAML::Node &n, const std::string &where) {
  if (!n.IsScalar()) failAt(n, where + ": a frame must be a string module!symbol@0xADDRESS");
  const std::string &s = n.Scalar();
  size_t bang = s.find('!');
  size_t at = s.rfind("@0x");
  if (bang == std::string::npos || at == std::string::npos || at < bang)
    failAt(n, where + ": frame '" + s + "' is not module!symbol@0xADDRESS");
  Frame f;
  f.module = s.substr(0, bang);
  f.symbol = s.substr(bang + 1, at - bang - 1);
  char *end = nullptr;
  f.address = strtoull(s.c_str() + at + 1, &end, 16);
  if (*end) failAt(n, where + ": frame '" + s + "' has a bad address");
  return f;
}

Evidence parseEvidence(const YAML::Node &n, const std::string &where) {
  if (!n.IsMap()) failAt(n, where + ": evidence must be a map with 'root' and 'chain'");
  Evidence ev;
  ev.root = scalar(n, "root", where);
  YAML::Node chain = n["chain"];
  if (!chain || !chain.IsSequence() || chain.size() == 0) failAt(n, where + ": 'chain' must be a non-empty list of frames");
  for (size_t i = 0; i < chain.size(); ++i) ev.chain.push_back(parseFrame(chain[i], where + ".chain[" + std::to_string(i) + "]"));
  return ev;
}

std::vector<std::string> stringList(const YAML::Node &map, const char *key, const std::string &where) {
  std::vector<std::string> out;
  YAML::Node n = map[key];
  if (!n) return out;
  if (!n.IsSequence()) failAt(n, where + ": '" + key + "' must be a list");
  for (const YAML::Node &x : n) {
    if (!x.IsScalar()) failAt(x, where + ": '" + key + "' entries must be strings");
    out.push_back(x.Scalar());
  }
  return out;
}

void checkKeys(const YAML::Node &map, const std::set<std::string> &allowed, const std::string &where) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
    if (!allowed.count(k)) failAt(it->first, where + ": unknown key '" + k + "'");
  }
}

Manifest parse(const YAML::Node &root) {
  if (!root || root.IsNull()) throw ParseError{0, "empty file, not a bespoke manifest"};
  if (!root.IsMap()) failAt(root, "not a bespoke manifest (the top level must be a map)");
  if (!root["bespoke"]) failAt(root, "not a bespoke manifest (missing 'bespoke' key)");
  uint64_t version = integer(root, "bespoke", "bespoke");
  if (version != uint64_t(kManifestVersion))
    failAt(root["bespoke"], "unsupported manifest version " + std::to_string(version) + " (this bespoke reads version " +
                                std::to_string(kManifestVersion) + ")");
  checkKeys(root, {"bespoke", "app", "modules", "syscalls", "kernel", "unresolved", "stats"}, "manifest");
  Manifest m;
  Footprint &fp = m.footprint;
  YAML::Node app = root["app"];
  if (!app || !app.IsMap()) failAt(root, "missing 'app' map");
  checkKeys(app, {"name", "path", "sha256", "arch", "linkage", "libc", "libc_version"}, "app");
  fp.app.name = scalar(app, "name", "app");
  fp.app.path = scalar(app, "path", "app", false);
  fp.app.sha256 = scalar(app, "sha256", "app", false);
  fp.app.arch = scalar(app, "arch", "app");
  if (fp.app.arch != "x86_64") failAt(app["arch"], "app: unsupported arch '" + fp.app.arch + "' (x86_64 only)");
  fp.app.linkage = scalar(app, "linkage", "app", false);
  fp.app.libc = scalar(app, "libc", "app", false);
  fp.app.libcVersion = scalar(app, "libc_version", "app", false);

  if (YAML::Node mods = root["modules"]) {
    if (!mods.IsSequence()) failAt(mods, "'modules' must be a list");
    for (size_t i = 0; i < mods.size(); ++i) {
      std::string w = "modules[" + std::to_string(i) + "]";
      if (!mods[i].IsMap()) failAt(mods[i], w + ": must be a map");
      fp.modules.push_back({scalar(mods[i], "name", w), scalar(mods[i], "path", w, false), scalar(mods[i], "sha256", w, false)});
    }
  }

  YAML::Node sys = root["syscalls"];
  if (!sys) failAt(root, "missing 'syscalls' list");
  if (!sys.IsSequence()) failAt(sys, "'syscalls' must be a list");
  std::set<std::string> seen;
  for (size_t i = 0; i < sys.size(); ++i) {
    std::string w = "syscalls[" + std::to_string(i) + "]";
    const YAML::Node &n = sys[i];
    if (!n.IsMap()) failAt(n, w + ": must be a map");
    checkKeys(n, {"name", "nr", "args", "evidence"}, w);
    SyscallUse u;
    u.name = scalar(n, "name", w);
    auto nr = syscallNumber(u.name);
    if (!nr) failAt(n["name"], "syscall '" + u.name + "' is not an x86-64 system call");
    uint64_t given = integer(n, "nr", w);
    if (given != uint64_t(*nr))
      failAt(n["nr"], "syscall '" + u.name + "' has nr " + std::to_string(given) + " but x86-64 " + u.name + " is " + std::to_string(*nr));
    u.nr = *nr;
    if (!seen.insert(u.name).second) failAt(n, "syscall '" + u.name + "' is listed twice");
    if (YAML::Node args = n["args"]) {
      if (!args.IsMap()) failAt(args, w + ": 'args' must be a map");
      for (auto it = args.begin(); it != args.end(); ++it) {
        ArgFact f;
        if (it->second.IsScalar() && it->second.Scalar() == "any") f.any = true;
        else if (it->second.IsSequence()) {
          for (const YAML::Node &v : it->second) {
            if (!v.IsScalar()) failAt(v, w + ": argument values must be scalars");
            f.values.push_back(v.Scalar());
          }
        } else failAt(it->second, w + ": an argument fact is a list of values or 'any'");
        u.args[it->first.Scalar()] = std::move(f);
      }
    }
    YAML::Node ev = n["evidence"];
    if (!ev || !ev.IsSequence() || ev.size() == 0) failAt(n, w + ": 'evidence' must be a non-empty list");
    for (size_t j = 0; j < ev.size(); ++j) u.evidence.push_back(parseEvidence(ev[j], w + ".evidence[" + std::to_string(j) + "]"));
    fp.syscalls.push_back(std::move(u));
  }
  std::sort(fp.syscalls.begin(), fp.syscalls.end(), [](const SyscallUse &a, const SyscallUse &b) { return a.name < b.name; });

  if (YAML::Node k = root["kernel"]) {
    if (!k.IsMap()) failAt(k, "'kernel' must be a map");
    checkKeys(k, {"paths", "features"}, "kernel");
    fp.kernel.paths = stringList(k, "paths", "kernel");
    fp.kernel.features = stringList(k, "features", "kernel");
  }
  if (YAML::Node un = root["unresolved"]) {
    if (!un.IsSequence()) failAt(un, "'unresolved' must be a list");
    for (size_t i = 0; i < un.size(); ++i) {
      std::string w = "unresolved[" + std::to_string(i) + "]";
      if (!un[i].IsMap()) failAt(un[i], w + ": must be a map");
      checkKeys(un[i], {"kind", "why", "root", "chain"}, w);
      Unresolved u;
      u.kind = scalar(un[i], "kind", w);
      u.why = scalar(un[i], "why", w);
      u.evidence = parseEvidence(un[i], w);
      fp.unresolved.push_back(std::move(u));
    }
  }
  if (YAML::Node st = root["stats"]) {
    if (!st.IsMap()) failAt(st, "'stats' must be a map");
    checkKeys(st, {"functions", "reachable_functions", "indirect_call_sites", "address_taken_functions"}, "stats");
    if (st["functions"]) fp.stats.functions = integer(st, "functions", "stats");
    if (st["reachable_functions"]) fp.stats.reachableFunctions = integer(st, "reachable_functions", "stats");
    if (st["indirect_call_sites"]) fp.stats.indirectCallSites = integer(st, "indirect_call_sites", "stats");
    if (st["address_taken_functions"]) fp.stats.addressTakenFunctions = integer(st, "address_taken_functions", "stats");
  }
  return m;
}

} // namespace

Expected<Manifest> parseManifest(const std::string &text, const std::string &inputName) {
  try {
    return parse(YAML::Load(text));
  } catch (const ParseError &e) {
    if (e.line)
      return createStringError(inconvertibleErrorCode(), "%s:%d: %s", inputName.c_str(), e.line, e.message.c_str());
    return createStringError(inconvertibleErrorCode(), "%s: %s", inputName.c_str(), e.message.c_str());
  } catch (const YAML::Exception &e) {
    return createStringError(inconvertibleErrorCode(), "%s:%d: YAML syntax error at line %d, column %d: %s",
                             inputName.c_str(), e.mark.line + 1, e.mark.line + 1, e.mark.column + 1, e.msg.c_str());
  }
}

Expected<Manifest> loadManifest(const std::string &path) {
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(path, st))
    return createStringError(inconvertibleErrorCode(), "%s: cannot open: %s", path.c_str(), ec.message().c_str());
  if (st.type() == sys::fs::file_type::directory_file)
    return createStringError(inconvertibleErrorCode(), "%s: is a directory, not a manifest", path.c_str());
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return createStringError(inconvertibleErrorCode(), "%s: cannot read: %s", path.c_str(), buf.getError().message().c_str());
  return parseManifest((*buf)->getBuffer().str(), path);
}

Error saveManifest(const Manifest &m, const std::string &path) {
  std::string text = renderManifest(m);
  SmallString<256> dir(sys::path::parent_path(path));
  if (dir.empty()) dir = ".";
  SmallString<256> tmp;
  int fd;
  if (std::error_code ec = sys::fs::createUniqueFile(dir + "/." + sys::path::filename(path) + ".tmp-%%%%%%", fd, tmp))
    return createStringError(inconvertibleErrorCode(), "%s: cannot write: %s", path.c_str(), ec.message().c_str());
  {
    raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << text;
    os.close();
    if (os.has_error()) {
      os.clear_error();
      sys::fs::remove(tmp);
      return createStringError(inconvertibleErrorCode(), "%s: cannot write: %s", path.c_str(), os.error().message().c_str());
    }
  }
  if (std::error_code ec = sys::fs::rename(tmp, path)) {
    sys::fs::remove(tmp);
    return createStringError(inconvertibleErrorCode(), "%s: cannot write: %s", path.c_str(), ec.message().c_str());
  }
  return Error::success();
}

} // namespace bespoke
