// Decision: blockers come from manifest facts (syscalls, kernel paths, unresolved sites); gains come
// from compiling the filter and from the syscall -> Kconfig table. See specializer/README.md.
#include "specializer/Decision.h"

#include "analyzer/SyscallTable.h"
#include "extension-gen/Compiler.h"
#include "extension-gen/ManifestPolicy.h"
#include "seccomp/Interpreter.h"
#include "specializer/KernelRequirements.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <set>

namespace bespoke {
namespace {

// Evidence shown per finding: enough to locate it, few enough to read.
constexpr size_t kEvidencePerFinding = 2;

const SyscallUse *findSyscall(const Footprint &fp, std::string_view name) {
  auto it = std::lower_bound(fp.syscalls.begin(), fp.syscalls.end(), name,
                             [](const SyscallUse &s, std::string_view n) { return s.name < n; });
  return it != fp.syscalls.end() && it->name == name ? &*it : nullptr;
}

std::vector<Evidence> firstEvidence(const std::vector<Evidence> &all) {
  return {all.begin(), all.begin() + std::min(all.size(), kEvidencePerFinding)};
}

// A frame for a one-line summary: "module!symbol" (no address) or "symbol@FILE:LINE".
std::string shortFrame(const Frame &f) { return f.isSource() ? frameString(f) : f.module + "!" + f.symbol; }

bool isPlt(const Frame &f) { return f.symbol.find("@plt") != std::string::npos; }
bool isNamed(const Frame &f) { return f.symbol.rfind("sub_", 0) != 0 && !isPlt(f); }

// Where a chain leaves the program: its deepest named function in the program's own code, the last
// program frame, the library function it enters and the site ("ngx_execute → sub_4ff00 → libc!execve").
// The full chain is in the finding's evidence.
std::string chainTail(const Evidence &e) {
  const auto &c = e.chain;
  if (c.empty()) return "";
  size_t k = lastProgramFrame(e); // frames 0..k are the program's own
  size_t j = k;
  for (size_t i = k + 1; i-- > 0;)
    if (isNamed(c[i])) { j = i; break; }
  std::vector<size_t> shown = {j};
  if (k != j) shown.push_back(k);
  size_t entry = k + 1;
  while (entry < c.size() && isPlt(c[entry])) ++entry;
  if (entry < c.size()) shown.push_back(entry);
  if (shown.back() != c.size() - 1) shown.push_back(c.size() - 1);
  std::string s = j > 0 ? "… → " : "";
  for (size_t i = 0; i < shown.size(); ++i) {
    if (i) s += shown[i] == shown[i - 1] + 1 || (shown[i] == entry && shown[i - 1] == k) ? " → " : " → … → ";
    s += shortFrame(c[shown[i]]);
  }
  return s;
}

bool rootedInInterpreter(const Evidence &e) { return e.root.rfind("interpreter entry", 0) == 0; }

// Syscall-backed blockers: the syscalls that make a single-application microVM the wrong home.
struct BlockingSyscalls {
  const char *kind;
  std::vector<const char *> syscalls;
  const char *what;
};

const std::vector<BlockingSyscalls> &blockingSyscalls() {
  static const std::vector<BlockingSyscalls> rules = {
      {"executes-programs", {"execve", "execveat"}, "executes programs (the image holds only the app and its libraries)"},
      {"ptrace", {"ptrace", "process_vm_readv", "process_vm_writev"}, "inspects other processes (ptrace)"},
      {"kernel-modules", {"init_module", "finit_module", "delete_module"}, "loads or unloads kernel modules"},
      {"mounts", {"mount", "umount2", "fsmount", "move_mount", "open_tree", "pivot_root", "mount_setattr"},
       "mounts filesystems (a microVM has no host filesystems to mount)"},
  };
  return rules;
}

// Device nodes the generated init provides in every image (devtmpfs and the standard links).
bool microVmHasDevice(const std::string &path) {
  static const char *const exact[] = {"/dev/console", "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                      "/dev/urandom", "/dev/tty", "/dev/ptmx", "/dev/stdin", "/dev/stdout",
                                      "/dev/stderr", "/dev/fd", "/dev/pts", "/dev/shm"};
  static const char *const prefixes[] = {"/dev/fd/", "/dev/pts/", "/dev/shm/"};
  for (const char *p : exact)
    if (path == p) return true;
  for (const char *p : prefixes)
    if (path.rfind(p, 0) == 0) return true;
  return false;
}

// `tracksExecs`: the manifest (version 2) lists the programs the app executes and every exec it could not
// resolve; then only an unresolved exec blocks (the image carries the resolved ones), not the syscall.
void findBlockers(const Footprint &fp, bool tracksExecs, std::vector<Finding> &blockers, std::vector<Finding> &caveats) {
  for (const BlockingSyscalls &rule : blockingSyscalls()) {
    if (tracksExecs && rule.kind == std::string("executes-programs")) continue;
    for (const char *name : rule.syscalls) {
      const SyscallUse *use = findSyscall(fp, name);
      if (!use) continue;
      // An execve reached only from the dynamic loader's entry is ld.so's own, not the program running
      // others. Fewer than three chains means the analyzer saw no other caller (it keeps three).
      if (rule.kind == std::string("executes-programs") && use->evidence.size() < 3 &&
          std::all_of(use->evidence.begin(), use->evidence.end(), rootedInInterpreter))
        continue;
      Finding f;
      f.kind = rule.kind;
      f.syscall = use->name;
      f.evidence = firstEvidence(use->evidence);
      f.detail = std::string(rule.what) + ": " + use->name;
      std::vector<const Evidence *> shown;
      for (const Evidence &e : use->evidence)
        if (!rootedInInterpreter(e)) shown.push_back(&e);
      if (!shown.empty()) f.detail += " via " + chainTail(*shown.front());
      auto pathFact = use->args.find("filename");
      if (pathFact != use->args.end() && !pathFact->second.any && !pathFact->second.values.empty())
        f.detail += " (" + llvm::join(pathFact->second.values, ", ") + ")";
      blockers.push_back(std::move(f));
    }
  }
  for (const std::string &path : fp.kernel.paths) {
    if (path.rfind("/dev/", 0) != 0 || microVmHasDevice(path)) continue;
    Finding f;
    f.kind = "host-device";
    f.path = path;
    f.detail = "opens " + path + ", a device the microVM does not have";
    blockers.push_back(std::move(f));
  }
  size_t unresolvedSyscalls = 0;
  for (const Unresolved &u : fp.unresolved) {
    Finding f;
    f.evidence = {u.evidence};
    if (u.kind == "dlopen") {
      f.kind = "dynamic-loading";
      f.detail = "loads code chosen at run time (dlopen), which the image would not contain: " + u.why;
    } else if (u.kind == "exec") {
      f.kind = "executes-programs";
      f.syscall = "execve";
      f.detail = "executes a program the analysis could not name, which the image would not contain: " + u.why;
    } else {
      f.kind = "unresolved-syscall";
      f.detail = "a system call site the analysis could not resolve (" + u.kind + ": " + u.why + ")";
      ++unresolvedSyscalls;
    }
    if (!u.evidence.chain.empty()) f.detail += " at " + chainTail(u.evidence);
    blockers.push_back(std::move(f));
  }
  if (unresolvedSyscalls) {
    Finding f;
    f.kind = "unresolved-sites";
    f.detail = std::to_string(unresolvedSyscalls) + " unresolved system call site" +
               (unresolvedSyscalls == 1 ? "" : "s") +
               ": a syscall made only there is missing from both the filter and the trimmed kernel; with "
               "extend, prefer --default-action errno:38 (ENOSYS) or log until they are resolved";
    caveats.push_back(std::move(f));
  }
}

llvm::Error computeExtendGains(const Manifest &m, ExtendGains &g) {
  Action kill{Action::KillProcess, 0};
  auto policy = policyFromManifest(m, kill);
  if (!policy) return policy.takeError();
  auto prog = compilePolicy(*policy);
  if (!prog) return prog.takeError();
  g.allowed = policy->allowed.size();
  g.denied = x86_64Syscalls().size() - g.allowed;
  // The filter extend builds by default: argument facts with values become conditions.
  g.argumentConstrained = size_t(std::count_if(policy->allowed.begin(), policy->allowed.end(),
                                               [](const SyscallRule &r) { return !r.unconditional(); }));
  g.instructions = prog->size();
  g.worstPath = pathLengths(*prog, *policy).worst;
  g.defaultAction = kill.name();
  return llvm::Error::success();
}

llvm::Expected<uint64_t> fileSize(const std::string &path) {
  uint64_t size = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, size))
    return llvm::createStringError(ec, "%s: %s", path.c_str(), ec.message().c_str());
  return size;
}

llvm::Error measureImage(const Footprint &fp, const DecideOptions &opts, ImageSize &img) {
  if (opts.imageDir) {
    // The root is image.json's `root` (an initramfs, or a file system image on virtio-blk); images from
    // before it was recorded, or a directory without image.json, have initramfs.cpio.gz.
    std::string kind = "initramfs", file = "initramfs.cpio.gz";
    llvm::SmallString<256> meta(*opts.imageDir);
    llvm::sys::path::append(meta, "image.json");
    if (auto buf = llvm::MemoryBuffer::getFile(meta)) {
      auto json = llvm::json::parse((*buf)->getBuffer());
      if (!json) return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", meta.c_str(),
                                                llvm::toString(json.takeError()).c_str());
      if (const llvm::json::Object *o = json->getAsObject(); o && o->getObject("root")) {
        std::optional<llvm::StringRef> k = o->getObject("root")->getString("kind"),
                                       f = o->getObject("root")->getString("file");
        if (!k || !f || f->empty() || f->contains('/'))
          return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: root.kind or root.file is missing",
                                         meta.c_str());
        kind = k->str();
        file = f->str();
      }
    }
    llvm::SmallString<256> kernel(*opts.imageDir), root(*opts.imageDir);
    llvm::sys::path::append(kernel, "bzImage");
    llvm::sys::path::append(root, file);
    auto k = fileSize(std::string(kernel));
    if (!k) return k.takeError();
    auto r = fileSize(std::string(root));
    if (!r) return r.takeError();
    img.built = true;
    img.kernelBytes = *k;
    img.root = kind;
    img.rootBytes = *r;
    img.initramfsBytes = kind == "initramfs" ? *r : 0;
    img.note = "measured: " + std::string(kernel) + " and " + std::string(root);
    return llvm::Error::success();
  }
  // Estimate: the initramfs holds the files the app loads (its closure), uncompressed here.
  uint64_t total = 0;
  size_t missing = 0;
  for (const ModuleInfo &mod : fp.modules) {
    if (auto s = fileSize(mod.path)) total += *s;
    else { llvm::consumeError(s.takeError()); ++missing; }
  }
  img.initramfsBytes = total;
  img.note = "estimate: no image built (bespoke rewrite); initramfs = the sizes of the " +
             std::to_string(fp.modules.size() - missing) + " loaded files found on this machine, uncompressed" +
             (missing ? " (" + std::to_string(missing) + " not found)" : "") +
             "; kernel size unknown until built";
  return llvm::Error::success();
}

void computeRewriteGains(const Footprint &fp, RewriteGains &g) {
  KernelRequirements req = kernelRequirements(fp);
  std::set<std::string> enabled;
  for (const auto &[option, reasons] : req.options) {
    g.kernelOptions.push_back({option, reasons});
    enabled.insert(option);
  }
  g.unknownSyscalls = req.unknownSyscalls;
  g.syscallsCompiledIn = syscallsBuiltWith(enabled).size();
  g.syscallsGeneric = size_t(std::count_if(syscallBuildTable().begin(), syscallBuildTable().end(),
                                           [](const SyscallBuild &b) { return b.inDebianGeneric; }));
}

std::string plural(size_t n, const char *one, const char *many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string summarize(const Decision &d) {
  const std::string &app = d.app.name.empty() ? std::string("the application") : d.app.name;
  std::string s;
  std::string extendLine = "The filter bespoke extend would prove and write allows " + std::to_string(d.extend.allowed) + " of " +
                           std::to_string(d.extend.allowed + d.extend.denied) + " x86-64 syscalls (worst path " +
                           std::to_string(d.extend.worstPath) + " BPF instructions).";
  std::string rewriteLine = "A trimmed kernel needs " + plural(d.rewrite.kernelOptions.size(), "option", "options") +
                            " beyond the always-built core and compiles in about " +
                            std::to_string(d.rewrite.syscallsCompiledIn) + " syscalls, against " +
                            std::to_string(d.rewrite.syscallsGeneric) + " in Debian's generic kernel.";
  if (d.recommendation == "rewrite") {
    s = "rewrite: nothing in " + app + "'s manifest needs more than one program in a microVM. " + rewriteLine +
        " " + extendLine;
  } else {
    std::set<std::string> kinds;
    for (const Finding &f : d.blockers) kinds.insert(f.kind);
    s = "extend: " + app + " cannot be rewritten as it stands (" + plural(d.blockers.size(), "blocker", "blockers") +
        ": " + llvm::join(kinds, ", ") + "). " + extendLine;
  }
  if (!d.caveats.empty()) s += " Caveat: " + d.caveats.front().detail + ".";
  return s;
}

llvm::json::Value evidenceJson(const Evidence &e) {
  llvm::json::Array chain;
  for (const Frame &f : e.chain) {
    llvm::json::Object o{{"symbol", f.symbol}};
    if (f.isSource()) {
      o["file"] = f.file;
      o["line"] = int64_t(f.line);
    } else {
      o["module"] = f.module;
      o["address"] = llvm::formatv("{0:x}", f.address).str();
    }
    chain.push_back(std::move(o));
  }
  return llvm::json::Object{{"root", e.root}, {"chain", std::move(chain)}};
}

llvm::json::Value findingJson(const Finding &f) {
  llvm::json::Object o{{"kind", f.kind}, {"detail", f.detail}};
  if (!f.syscall.empty()) o["syscall"] = f.syscall;
  if (!f.path.empty()) o["path"] = f.path;
  llvm::json::Array ev;
  for (const Evidence &e : f.evidence) ev.push_back(evidenceJson(e));
  o["evidence"] = std::move(ev);
  return o;
}

} // namespace

llvm::Expected<Decision> decide(const Manifest &m, const DecideOptions &opts) {
  const Footprint &fp = m.footprint;
  Decision d;
  d.app = fp.app;
  d.syscalls = fp.syscalls.size();
  const bool tracksExecs = std::any_of(fp.modules.begin(), fp.modules.end(), [](const ModuleInfo &mod) { return !mod.loaded.empty(); });
  findBlockers(fp, tracksExecs, d.blockers, d.caveats);
  if (llvm::Error e = computeExtendGains(m, d.extend)) return e;
  computeRewriteGains(fp, d.rewrite);
  if (llvm::Error e = measureImage(fp, opts, d.rewrite.image)) return e;
  if (!d.rewrite.unknownSyscalls.empty()) {
    Finding f;
    f.kind = "unknown-syscall";
    f.syscall = d.rewrite.unknownSyscalls.front();
    f.detail = "the Linux 6.1 Kconfig table has no entry for " + llvm::join(d.rewrite.unknownSyscalls, ", ") +
               ", so no kernel config can be derived for it";
    d.blockers.push_back(std::move(f));
  }
  d.recommendation = d.blockers.empty() ? "rewrite" : "extend";
  d.summary = summarize(d);
  return d;
}

std::string renderDecisionText(const Decision &d) {
  std::string s = "recommendation: " + d.recommendation + "\n\n" + d.summary + "\n";
  auto findings = [&](const char *title, const std::vector<Finding> &list) {
    if (list.empty()) return;
    s += std::string("\n") + title + ":\n";
    for (const Finding &f : list) s += "  - [" + f.kind + "] " + f.detail + "\n";
  };
  findings("blockers for rewrite", d.blockers);
  findings("caveats", d.caveats);
  const ExtendGains &e = d.extend;
  s += llvm::formatv("\nextend (stock kernel + seccomp filter, default {0}):\n"
                     "  syscalls allowed {1}, denied {2}, argument-constrained {3}\n"
                     "  filter {4} BPF instructions, worst path {5}\n",
                     e.defaultAction, e.allowed, e.denied, e.argumentConstrained, e.instructions, e.worstPath)
           .str();
  const RewriteGains &r = d.rewrite;
  std::vector<std::string> names;
  for (const KernelOption &o : r.kernelOptions) names.push_back(o.name);
  s += llvm::formatv("\nrewrite (trimmed unikernel):\n"
                     "  kernel options required {0}: {1}\n"
                     "  syscalls compiled in ~{2} (estimate) vs {3} in Debian's generic kernel\n",
                     r.kernelOptions.size(), names.empty() ? std::string("none") : llvm::join(names, " "),
                     r.syscallsCompiledIn, r.syscallsGeneric)
           .str();
  if (r.image.built)
    s += llvm::formatv("  image: kernel {0} bytes, root {1} {2} bytes ({3})\n", r.image.kernelBytes, r.image.root,
                       r.image.rootBytes, r.image.note)
             .str();
  else
    s += llvm::formatv("  image: initramfs ~{0} bytes ({1})\n", r.image.initramfsBytes, r.image.note).str();
  return s;
}

std::string renderDecisionJson(const Decision &d) {
  llvm::json::Array blockers, caveats, options;
  for (const Finding &f : d.blockers) blockers.push_back(findingJson(f));
  for (const Finding &f : d.caveats) caveats.push_back(findingJson(f));
  for (const KernelOption &o : d.rewrite.kernelOptions) {
    llvm::json::Array reasons;
    for (const std::string &r : o.reasons) reasons.push_back(r);
    options.push_back(llvm::json::Object{{"name", o.name}, {"reasons", std::move(reasons)}});
  }
  llvm::json::Array unknown;
  for (const std::string &n : d.rewrite.unknownSyscalls) unknown.push_back(n);
  const ImageSize &img = d.rewrite.image;
  llvm::json::Object image{{"built", img.built}, {"initramfs_bytes", int64_t(img.initramfsBytes)}, {"note", img.note}};
  image["kernel_bytes"] = img.built ? llvm::json::Value(int64_t(img.kernelBytes)) : llvm::json::Value(nullptr);
  if (img.built) {
    image["root"] = img.root;
    image["root_bytes"] = int64_t(img.rootBytes);
  }
  llvm::json::Object root{
      {"bespoke_decision", kDecisionVersion},
      {"app", llvm::json::Object{{"name", d.app.name},
                                 {"path", d.app.path},
                                 {"sha256", d.app.sha256},
                                 {"linkage", d.app.linkage},
                                 {"libc", d.app.libc}}},
      {"syscalls", int64_t(d.syscalls)},
      {"recommendation", d.recommendation},
      {"summary", d.summary},
      {"blockers", std::move(blockers)},
      {"caveats", std::move(caveats)},
      {"extend", llvm::json::Object{{"default_action", d.extend.defaultAction},
                                    {"allowed", int64_t(d.extend.allowed)},
                                    {"denied", int64_t(d.extend.denied)},
                                    {"argument_constrained", int64_t(d.extend.argumentConstrained)},
                                    {"filter_instructions", int64_t(d.extend.instructions)},
                                    {"worst_path", int64_t(d.extend.worstPath)}}},
      {"rewrite", llvm::json::Object{{"kernel_options", std::move(options)},
                                     {"unknown_syscalls", std::move(unknown)},
                                     {"syscalls_compiled_in", int64_t(d.rewrite.syscallsCompiledIn)},
                                     {"syscalls_compiled_in_estimated", true},
                                     {"syscalls_generic_kernel", int64_t(d.rewrite.syscallsGeneric)},
                                     {"image", std::move(image)}}},
  };
  return llvm::formatv("{0:2}", llvm::json::Value(std::move(root))).str() + "\n";
}

} // namespace bespoke
