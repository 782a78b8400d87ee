// ManifestDiff: set differences over the manifest's sorted lists, and its four renderings.
#include "manifests/Diff.h"

#include "manifests/Manifest.h"

#include "analyzer/KernelEntries.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <set>
#include <tuple>

namespace bespoke {
namespace {

// Set differences of two sorted, duplicate-free string lists.
void setDiff(std::vector<std::string> a, std::vector<std::string> b, std::vector<std::string> &added,
             std::vector<std::string> &removed) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(added));
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(removed));
}

// An argument fact as a set of values, or nullopt for "any value" (no facts or `any`).
std::optional<std::vector<std::string>> valuesOf(const SyscallUse &s, const std::string &arg) {
  auto it = s.args.find(arg);
  if (it == s.args.end() || it->second.any) return std::nullopt;
  return it->second.values;
}

void diffArgs(const SyscallUse &before, const SyscallUse &after, std::vector<ArgChange> &out) {
  std::set<std::string> names;
  for (const auto &[name, fact] : before.args) names.insert(name);
  for (const auto &[name, fact] : after.args) names.insert(name);
  for (const std::string &name : names) {
    auto b = valuesOf(before, name), a = valuesOf(after, name);
    ArgChange c;
    c.syscall = after.name;
    c.arg = name;
    if (b && !a) c.nowAny = true;
    else if (!b && a) c.wasAny = true;
    else if (a && b) setDiff(*b, *a, c.added, c.removed);
    if (!c.nowAny && !c.wasAny && c.added.empty() && c.removed.empty()) continue;
    c.evidence = after.evidence;
    out.push_back(std::move(c));
  }
}

// Unresolved sites match by kind and the function holding the site: addresses and lines move when
// unrelated code changes.
std::tuple<std::string, std::string, std::string> unresolvedKey(const Unresolved &u) {
  if (u.evidence.chain.empty()) return {u.kind, "", u.why};
  const Frame &f = u.evidence.chain.back();
  return {u.kind, f.isSource() ? f.file : f.module, f.symbol};
}

void diffUnresolved(const std::vector<Unresolved> &before, const std::vector<Unresolved> &after,
                    std::vector<Unresolved> &added, std::vector<Unresolved> &removed) {
  // Multisets: two unresolved sites in one function stay two.
  std::map<std::tuple<std::string, std::string, std::string>, int> count;
  for (const Unresolved &u : before) ++count[unresolvedKey(u)];
  for (const Unresolved &u : after)
    if (--count[unresolvedKey(u)] < 0) added.push_back(u);
  count.clear();
  for (const Unresolved &u : after) ++count[unresolvedKey(u)];
  for (const Unresolved &u : before)
    if (--count[unresolvedKey(u)] < 0) removed.push_back(u);
}

std::string chainText(const Evidence &e) {
  std::string s = e.root + ": ";
  for (size_t i = 0; i < e.chain.size(); ++i) s += (i ? " → " : "") + frameString(e.chain[i]);
  return s;
}

std::string valuesText(const ArgChange &c) {
  if (c.nowAny) return "now any value (was a fixed set)";
  if (c.wasAny) return "now a fixed set (was any value)";
  std::string s;
  for (const std::string &v : c.added) s += (s.empty() ? "+" : ", +") + v;
  for (const std::string &v : c.removed) s += (s.empty() ? "-" : ", -") + v;
  return s;
}

// "(loaded by nss: /etc/nsswitch.conf:7: passwd: files systemd)": how a module entered, for a reviewer.
std::string moduleOrigin(const ModuleInfo &m) {
  if (m.loaded.empty()) return "";
  std::string s = " (" + m.loaded;
  if (!m.by.empty()) s += " by " + m.by;
  if (!m.target.empty()) s += " of " + m.target;
  if (m.site) s += " at " + frameString(*m.site);
  if (!m.config.empty()) s += ": " + m.config;
  if (!m.flag.empty()) s += ": " + m.flag;
  return s + ")";
}

// The deepest source frame of a chain (the call in the program's own code nearest the syscall).
const Frame *deepestSourceFrame(const std::vector<Evidence> &evidence) {
  for (const Evidence &e : evidence)
    for (auto it = e.chain.rbegin(); it != e.chain.rend(); ++it)
      if (it->isSource()) return &*it;
  return nullptr;
}

} // namespace

bool ManifestDiff::empty() const {
  return addedSyscalls.empty() && removedSyscalls.empty() && argChanges.empty() && addedPaths.empty() &&
         removedPaths.empty() && addedFeatures.empty() && removedFeatures.empty() && addedUnresolved.empty() &&
         removedUnresolved.empty() && addedModules.empty() && removedModules.empty() && addedFiles.empty() &&
         removedFiles.empty() && addedNetwork.empty() && removedNetwork.empty();
}

bool ManifestDiff::grew() const {
  return !addedSyscalls.empty() || !addedPaths.empty() || !addedFeatures.empty() || !addedUnresolved.empty() ||
         !addedModules.empty() || !addedFiles.empty() || !addedNetwork.empty() ||
         std::any_of(argChanges.begin(), argChanges.end(), [](const ArgChange &c) { return c.grew(); });
}

namespace {

// Elements of `b` whose key no element of `a` has, in `b`'s order.
template <typename T, typename Key> std::vector<T> missingFrom(const std::vector<T> &a, const std::vector<T> &b, Key key) {
  std::set<std::string> have;
  for (const T &x : a) have.insert(key(x));
  std::vector<T> out;
  for (const T &x : b)
    if (!have.count(key(x))) out.push_back(x);
  return out;
}

} // namespace

ManifestDiff diffManifests(const Footprint &before, const Footprint &after, bool compareFiles) {
  ManifestDiff d;
  std::map<std::string, const SyscallUse *> old;
  for (const SyscallUse &s : before.syscalls) old[s.name] = &s;
  std::set<std::string> seen;
  for (const SyscallUse &s : after.syscalls) {
    seen.insert(s.name);
    auto it = old.find(s.name);
    // A syscall present only because the kernel can issue it (restart_syscall, the vDSO's fallbacks) is
    // not the application's: manifests written before bespoke listed them lack it, which is no change.
    if (it == old.end()) { if (!onlyKernelIssued(s)) d.addedSyscalls.push_back(s); }
    else diffArgs(*it->second, s, d.argChanges);
  }
  for (const SyscallUse &s : before.syscalls)
    if (!seen.count(s.name) && !onlyKernelIssued(s)) d.removedSyscalls.push_back(s);
  auto byName = [](const SyscallUse &a, const SyscallUse &b) { return a.name < b.name; };
  std::sort(d.addedSyscalls.begin(), d.addedSyscalls.end(), byName);
  std::sort(d.removedSyscalls.begin(), d.removedSyscalls.end(), byName);
  setDiff(before.kernel.paths, after.kernel.paths, d.addedPaths, d.removedPaths);
  setDiff(before.kernel.features, after.kernel.features, d.addedFeatures, d.removedFeatures);
  auto networkItems = [](const NetworkFacts &n) {
    std::vector<std::string> v;
    for (uint16_t p : n.bind) v.push_back("bind " + std::to_string(p));
    for (const std::string &c : n.connect) v.push_back("connect " + c);
    std::sort(v.begin(), v.end());
    return v;
  };
  setDiff(networkItems(before.network), networkItems(after.network), d.addedNetwork, d.removedNetwork);
  // network.families bounds socket families; none is no bound. Bounding where there was none narrows (a
  // removal), dropping the bound widens (an addition), and between two bounds each family counts.
  auto joined = [](const std::vector<std::string> &v) {
    std::string s;
    for (const std::string &x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  const std::vector<std::string> &fb = before.network.families, &fa = after.network.families;
  if (fb.empty() && !fa.empty()) d.removedNetwork.push_back("family any (now only " + joined(fa) + ")");
  else if (!fb.empty() && fa.empty()) d.addedNetwork.push_back("family any (was only " + joined(fb) + ")");
  else {
    std::vector<std::string> added, removed;
    setDiff(fb, fa, added, removed);
    for (const std::string &f : added) d.addedNetwork.push_back("family " + f);
    for (const std::string &f : removed) d.removedNetwork.push_back("family " + f);
  }
  diffUnresolved(before.unresolved, after.unresolved, d.addedUnresolved, d.removedUnresolved);
  auto modulePath = [](const ModuleInfo &m) { return m.path; };
  d.addedModules = missingFrom(before.modules, after.modules, modulePath);
  d.removedModules = missingFrom(after.modules, before.modules, modulePath);
  if (compareFiles) {
    auto filePath = [](const FileUse &f) { return f.path; };
    d.addedFiles = missingFrom(before.files, after.files, filePath);
    d.removedFiles = missingFrom(after.files, before.files, filePath);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------------
// Text and Markdown

std::string renderDiffText(const ManifestDiff &d, const DiffLabels &l) {
  std::string s = "--- " + l.before + "\n+++ " + l.after + "\n";
  if (d.empty()) return s + "no differences\n";
  for (const SyscallUse &u : d.addedSyscalls) {
    s += llvm::formatv("+ syscall {0} ({1})\n", u.name, u.nr).str();
    for (const Evidence &e : u.evidence) s += "    " + chainText(e) + "\n";
  }
  for (const SyscallUse &u : d.removedSyscalls) s += llvm::formatv("- syscall {0} ({1})\n", u.name, u.nr).str();
  for (const ArgChange &c : d.argChanges) {
    s += std::string(c.grew() ? "+" : "-") + " " + c.syscall + " " + c.arg + ": " + valuesText(c) + "\n";
    if (c.grew() && !c.evidence.empty()) s += "    " + chainText(c.evidence.front()) + "\n";
  }
  for (const std::string &p : d.addedPaths) s += "+ kernel path " + p + "\n";
  for (const std::string &p : d.removedPaths) s += "- kernel path " + p + "\n";
  for (const std::string &n : d.addedNetwork) s += "+ network " + n + "\n";
  for (const std::string &n : d.removedNetwork) s += "- network " + n + "\n";
  for (const std::string &f : d.addedFeatures) s += "+ kernel feature " + f + "\n";
  for (const std::string &f : d.removedFeatures) s += "- kernel feature " + f + "\n";
  for (const ModuleInfo &m : d.addedModules) s += "+ " + m.kind + " " + m.path + moduleOrigin(m) + "\n";
  for (const ModuleInfo &m : d.removedModules) s += "- " + (m.kind.empty() ? std::string("module") : m.kind) + " " + m.path + "\n";
  for (const FileUse &f : d.addedFiles) s += "+ file " + f.path + "\n    " + chainText(f.evidence) + "\n";
  for (const FileUse &f : d.removedFiles) s += "- file " + f.path + "\n";
  for (const Unresolved &u : d.addedUnresolved) s += "+ unresolved " + u.kind + ": " + u.why + "\n    " + chainText(u.evidence) + "\n";
  for (const Unresolved &u : d.removedUnresolved) s += "- unresolved " + u.kind + ": " + u.why + "\n";
  s += llvm::formatv("{0} syscalls added, {1} removed; {2} argument changes; footprint {3}\n", d.addedSyscalls.size(),
                     d.removedSyscalls.size(), d.argChanges.size(), d.grew() ? "GREW" : "did not grow")
           .str();
  return s;
}

std::string renderDiffMarkdown(const ManifestDiff &d, const DiffLabels &l, const std::string &app) {
  auto code = [](const std::string &t) { return "`" + t + "`"; };
  std::string s = "### bespoke: system-call footprint of " + code(app) + ": ";
  s += d.grew() ? "grew\n\n" : d.empty() ? "unchanged\n\n" : "shrank\n\n";
  s += "Compared " + code(l.after) + " with the baseline " + code(l.before) + ".\n";
  if (d.empty()) return s;
  if (!d.addedSyscalls.empty()) {
    s += "\n| added syscall | nr | reached from |\n|---|---|---|\n";
    for (const SyscallUse &u : d.addedSyscalls) {
      std::string where;
      if (const Frame *f = deepestSourceFrame(u.evidence))
        where = code(f->symbol) + " at " + code(f->file + ":" + std::to_string(f->line));
      else if (!u.evidence.empty() && !u.evidence.front().chain.empty())
        where = code(frameString(u.evidence.front().chain.front())) + " → … → " +
                code(frameString(u.evidence.front().chain.back()));
      s += "| " + code(u.name) + " | " + std::to_string(u.nr) + " | " + where + " |\n";
    }
  }
  if (!d.removedSyscalls.empty()) {
    s += "\nRemoved syscalls:";
    for (const SyscallUse &u : d.removedSyscalls) s += " " + code(u.name);
    s += "\n";
  }
  if (!d.argChanges.empty()) {
    s += "\n| syscall | argument | change |\n|---|---|---|\n";
    for (const ArgChange &c : d.argChanges) s += "| " + code(c.syscall) + " | " + code(c.arg) + " | " + valuesText(c) + " |\n";
  }
  auto list = [&](const char *title, const std::vector<std::string> &v) {
    if (v.empty()) return;
    s += std::string("\n") + title + ":";
    for (const std::string &x : v) s += " " + code(x);
    s += "\n";
  };
  list("New kernel paths", d.addedPaths);
  list("Kernel paths no longer used", d.removedPaths);
  list("Network policy widened (run --net allows)", d.addedNetwork);
  list("Network policy narrowed", d.removedNetwork);
  list("New kernel features", d.addedFeatures);
  list("Kernel features no longer needed", d.removedFeatures);
  if (!d.addedModules.empty()) {
    s += "\nNew code in the process (libraries and executed programs):\n";
    for (const ModuleInfo &m : d.addedModules) s += "- " + code(m.path) + moduleOrigin(m) + "\n";
  }
  if (!d.removedModules.empty()) {
    s += "\nModules no longer loaded:";
    for (const ModuleInfo &m : d.removedModules) s += " " + code(m.path);
    s += "\n";
  }
  std::vector<std::string> addedFiles, removedFiles;
  for (const FileUse &f : d.addedFiles) addedFiles.push_back(f.path);
  for (const FileUse &f : d.removedFiles) removedFiles.push_back(f.path);
  list("New files opened", addedFiles);
  list("Files no longer opened", removedFiles);
  if (!d.addedUnresolved.empty()) {
    s += "\nNew unresolved sites (a syscall made only there would be missed):\n";
    for (const Unresolved &u : d.addedUnresolved) s += "- " + code(u.kind) + ": " + u.why + "\n";
  }
  if (d.grew())
    s += "\nIf this growth is intended, regenerate the baseline with `bespoke analyze` and commit it with this change.\n";
  return s;
}

// ---------------------------------------------------------------------------------------------------
// JSON

namespace {

llvm::json::Value evidenceJson(const std::vector<Evidence> &evidence) {
  llvm::json::Array a;
  for (const Evidence &e : evidence) {
    llvm::json::Array chain;
    for (const Frame &f : e.chain) chain.push_back(frameString(f));
    a.push_back(llvm::json::Object{{"root", e.root}, {"chain", std::move(chain)}});
  }
  return a;
}

llvm::json::Array strings(const std::vector<std::string> &v) { return llvm::json::Array(v); }

llvm::json::Array modulesJson(const std::vector<ModuleInfo> &v) {
  llvm::json::Array a;
  for (const ModuleInfo &m : v) {
    llvm::json::Object o{{"name", m.name}, {"path", m.path}, {"sha256", m.sha256}, {"kind", m.kind}, {"loaded", m.loaded}};
    if (!m.by.empty()) o["by"] = m.by;
    if (m.site) o["site"] = frameString(*m.site);
    if (!m.target.empty()) o["target"] = m.target;
    if (!m.config.empty()) o["config"] = m.config;
    if (!m.flag.empty()) o["flag"] = m.flag;
    a.push_back(std::move(o));
  }
  return a;
}

llvm::json::Array filesJson(const std::vector<FileUse> &v) {
  llvm::json::Array a;
  for (const FileUse &f : v) a.push_back(llvm::json::Object{{"path", f.path}, {"evidence", evidenceJson({f.evidence})}});
  return a;
}

llvm::json::Array unresolvedJson(const std::vector<Unresolved> &v) {
  llvm::json::Array a;
  for (const Unresolved &u : v)
    a.push_back(llvm::json::Object{{"kind", u.kind}, {"why", u.why}, {"evidence", evidenceJson({u.evidence})}});
  return a;
}

} // namespace

std::string renderDiffJson(const ManifestDiff &d, const DiffLabels &l) {
  llvm::json::Array added, removed, args;
  for (const SyscallUse &u : d.addedSyscalls)
    added.push_back(llvm::json::Object{{"name", u.name}, {"nr", u.nr}, {"evidence", evidenceJson(u.evidence)}});
  for (const SyscallUse &u : d.removedSyscalls) removed.push_back(llvm::json::Object{{"name", u.name}, {"nr", u.nr}});
  for (const ArgChange &c : d.argChanges)
    args.push_back(llvm::json::Object{{"syscall", c.syscall},
                                      {"arg", c.arg},
                                      {"now_any", c.nowAny},
                                      {"was_any", c.wasAny},
                                      {"added", strings(c.added)},
                                      {"removed", strings(c.removed)},
                                      {"grew", c.grew()}});
  llvm::json::Object root{{"before", l.before},
                          {"after", l.after},
                          {"grew", d.grew()},
                          {"identical", d.empty()},
                          {"added_syscalls", std::move(added)},
                          {"removed_syscalls", std::move(removed)},
                          {"argument_changes", std::move(args)},
                          {"added_paths", strings(d.addedPaths)},
                          {"removed_paths", strings(d.removedPaths)},
                          {"added_network", strings(d.addedNetwork)},
                          {"removed_network", strings(d.removedNetwork)},
                          {"added_features", strings(d.addedFeatures)},
                          {"removed_features", strings(d.removedFeatures)},
                          {"added_modules", modulesJson(d.addedModules)},
                          {"removed_modules", modulesJson(d.removedModules)},
                          {"added_files", filesJson(d.addedFiles)},
                          {"removed_files", filesJson(d.removedFiles)},
                          {"added_unresolved", unresolvedJson(d.addedUnresolved)},
                          {"removed_unresolved", unresolvedJson(d.removedUnresolved)}};
  return llvm::formatv("{0:2}", llvm::json::Value(std::move(root))).str() + "\n";
}

// ---------------------------------------------------------------------------------------------------
// SARIF 2.1.0: one result per growth, located at the deepest source frame of its evidence when there is
// one (a code-scanning UI annotates that line), else at the binary, with the call chains as code flows.

namespace {

struct SarifRule {
  const char *id, *name, *text;
};

const SarifRule kRules[] = {
    {"BSPK001", "NewSyscall", "The application can now make a system call its baseline manifest does not list."},
    {"BSPK002", "NewArgumentValue", "A system call can now be made with argument values the baseline does not list."},
    {"BSPK003", "NewKernelPath", "The application now opens a /proc, /sys or /dev path the baseline does not list."},
    {"BSPK004", "NewKernelFeature", "The application now needs a kernel feature the baseline does not list."},
    {"BSPK005", "NewUnresolvedSite", "A new site the analysis could not resolve: a system call made only there is "
                                     "missing from the footprint."},
    {"BSPK006", "NewModule", "The application now loads a library or executes a program its baseline does not list."},
    {"BSPK007", "NewFile", "The application now opens a file by a constant path the baseline does not list."},
};

// file:// URI of an absolute path (RFC 8089), percent-encoding what a URI path may not hold.
std::string fileUri(const std::string &path) {
  std::string s = "file://";
  for (unsigned char c : path) {
    if (isalnum(c) || std::strchr("/-._~!$&'()*+,;=:@", c)) s += char(c);
    else s += llvm::formatv("%{0:X-2}", unsigned(c)).str();
  }
  return s;
}

struct SarifWriter {
  const DiffLabels &labels;
  const Footprint &after;

  llvm::json::Object artifact(const std::string &path) const {
    const std::string &root = labels.sourceRoot;
    if (!root.empty() && path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
        path[root.size()] == '/')
      return llvm::json::Object{{"uri", fileUri(path.substr(root.size() + 1)).substr(7)}, {"uriBaseId", "SRCROOT"}};
    return llvm::json::Object{{"uri", fileUri(path)}};
  }

  llvm::json::Object frameLocation(const Frame &f) const {
    llvm::json::Object loc;
    if (f.isSource()) {
      loc["physicalLocation"] =
          llvm::json::Object{{"artifactLocation", artifact(f.file)}, {"region", llvm::json::Object{{"startLine", int64_t(f.line)}}}};
    } else {
      std::string path;
      for (const ModuleInfo &m : after.modules)
        if (m.name == f.module) path = m.path;
      llvm::json::Object physical{{"address", llvm::json::Object{{"absoluteAddress", int64_t(f.address)},
                                                                 {"name", f.symbol}}}};
      if (!path.empty()) {
        llvm::SmallString<256> abs(path);
        llvm::sys::fs::make_absolute(abs);
        physical["artifactLocation"] = artifact(std::string(abs));
      }
      loc["physicalLocation"] = std::move(physical);
    }
    loc["logicalLocations"] = llvm::json::Array{llvm::json::Object{
        {"name", f.symbol}, {"fullyQualifiedName", frameString(f)}, {"kind", "function"}}};
    return loc;
  }

  // Where a result is shown: the deepest source frame, else the program's last frame before the
  // library (the call a reviewer can act on), else the application binary.
  llvm::json::Array primaryLocations(const std::vector<Evidence> &evidence) const {
    if (const Frame *f = deepestSourceFrame(evidence)) return llvm::json::Array{frameLocation(*f)};
    if (!evidence.empty() && !evidence.front().chain.empty())
      return llvm::json::Array{frameLocation(evidence.front().chain[lastProgramFrame(evidence.front())])};
    if (llvm::sys::path::is_absolute(after.app.path))
      return llvm::json::Array{llvm::json::Object{
          {"physicalLocation", llvm::json::Object{{"artifactLocation", artifact(after.app.path)}}}}};
    return llvm::json::Array{};
  }

  llvm::json::Array codeFlows(const std::vector<Evidence> &evidence) const {
    llvm::json::Array flows;
    for (const Evidence &e : evidence) {
      llvm::json::Array locs;
      for (size_t i = 0; i < e.chain.size(); ++i) {
        llvm::json::Object loc = frameLocation(e.chain[i]);
        loc["message"] = llvm::json::Object{{"text", i == 0 ? "entry point (" + e.root + ")" : "calls"}};
        locs.push_back(llvm::json::Object{{"location", std::move(loc)}, {"nestingLevel", int64_t(i)}});
      }
      if (locs.empty()) continue;
      flows.push_back(llvm::json::Object{
          {"message", llvm::json::Object{{"text", e.root}}},
          {"threadFlows", llvm::json::Array{llvm::json::Object{{"locations", std::move(locs)}}}}});
    }
    return flows;
  }

  llvm::json::Object result(int rule, const std::string &text, const std::string &fingerprint,
                            const std::vector<Evidence> &evidence) const {
    llvm::json::Object r{{"ruleId", kRules[rule].id},
                         {"ruleIndex", rule},
                         {"level", "error"},
                         {"message", llvm::json::Object{{"text", text}}},
                         {"partialFingerprints", llvm::json::Object{{"bespokeFootprint/v1", fingerprint}}}};
    llvm::json::Array locations = primaryLocations(evidence);
    if (!locations.empty()) r["locations"] = std::move(locations);
    llvm::json::Array flows = codeFlows(evidence);
    if (!flows.empty()) r["codeFlows"] = std::move(flows);
    return r;
  }
};

} // namespace

std::string renderDiffSarif(const ManifestDiff &d, const DiffLabels &l, const Footprint &after) {
  SarifWriter w{l, after};
  const std::string &app = after.app.name;
  llvm::json::Array results;
  for (const SyscallUse &u : d.addedSyscalls)
    results.push_back(w.result(0, llvm::formatv("{0} can now call {1} (x86-64 nr {2}), which {3} does not list", app,
                                                u.name, u.nr, l.before).str(),
                               "syscall:" + u.name, u.evidence));
  for (const ArgChange &c : d.argChanges) {
    if (!c.grew()) continue;
    results.push_back(w.result(1, app + " calls " + c.syscall + " with new values of " + c.arg + ": " + valuesText(c),
                               "arg:" + c.syscall + ":" + c.arg, c.evidence));
  }
  for (const std::string &p : d.addedPaths)
    results.push_back(w.result(2, app + " now opens " + p, "path:" + p, {}));
  for (const std::string &f : d.addedFeatures)
    results.push_back(w.result(3, app + " now needs kernel feature " + f, "feature:" + f, {}));
  for (const ModuleInfo &m : d.addedModules) {
    std::vector<Evidence> where;
    if (m.site) where.push_back(Evidence{m.loaded, {*m.site}});
    results.push_back(w.result(5, app + " now loads " + m.path + moduleOrigin(m), "module:" + m.path, where));
  }
  for (const FileUse &f : d.addedFiles)
    results.push_back(w.result(6, app + " now opens " + f.path, "file:" + f.path, {f.evidence}));
  for (const Unresolved &u : d.addedUnresolved)
    results.push_back(w.result(4, "new unresolved " + u.kind + " site: " + u.why,
                               "unresolved:" + std::get<0>(unresolvedKey(u)) + ":" + std::get<2>(unresolvedKey(u)),
                               {u.evidence}));

  llvm::json::Array rules;
  for (const SarifRule &r : kRules)
    rules.push_back(llvm::json::Object{{"id", r.id},
                                       {"name", r.name},
                                       {"shortDescription", llvm::json::Object{{"text", r.text}}},
                                       {"defaultConfiguration", llvm::json::Object{{"level", "error"}}}});
  llvm::json::Object run{
      {"tool", llvm::json::Object{{"driver", llvm::json::Object{{"name", "bespoke"},
                                                                {"version", l.toolVersion},
                                                                {"rules", std::move(rules)}}}}},
      {"results", std::move(results)}};
  if (!l.sourceRoot.empty())
    run["originalUriBaseIds"] = llvm::json::Object{{"SRCROOT", llvm::json::Object{{"uri", fileUri(l.sourceRoot + "/")}}}};
  llvm::json::Object log{{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                         {"version", "2.1.0"},
                         {"runs", llvm::json::Array{std::move(run)}}};
  return llvm::formatv("{0:2}", llvm::json::Value(std::move(log))).str() + "\n";
}

} // namespace bespoke
