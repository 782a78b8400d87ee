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

llvm::Error measureImage(const Footprint &fp, const DecideOptions &opts, RewriteImage &img) {
  if (opts.imageDir) {
    auto measured = measureImageDirectory(*opts.imageDir);
    if (!measured) return measured.takeError();
    img = std::move(*measured);
    return llvm::Error::success();
  }
  // Estimate: the initramfs holds the files the app loads (its closure), uncompressed here.
  uint64_t total = 0;
  size_t missing = 0;
  for (const ModuleInfo &mod : fp.modules) {
    uint64_t size = 0;
    if (llvm::sys::fs::file_size(mod.path, size)) ++missing;
    else total += size;
  }
  img.initramfsBytes = total;
  img.note = "estimate: no image built (bespoke rewrite); initramfs = the sizes of the " +
             std::to_string(fp.modules.size() - missing) + " loaded files found on this machine, uncompressed" +
             (missing ? " (" + std::to_string(missing) + " not found)" : "") +
             "; kernel size unknown until built";
  return llvm::Error::success();
}

// How the app's exit status reads: 128+N is signal N (bespoke-init's convention).
std::string exitText(int64_t status) {
  if (status > 128 && status < 128 + 65)
    return "was ended by signal " + std::to_string(status - 128) + " (exit status " + std::to_string(status) + ")";
  return "exited with status " + std::to_string(status);
}

// A built image measured not to work weighs against rewrite as a manifest fact does: until it boots and
// runs, extend is the option known to run the app.
void findImageFailures(const RewriteImage &img, std::vector<Finding> &blockers) {
  if (img.boot.measured && !img.boot.ran()) {
    Finding f;
    f.kind = "image-failed";
    f.path = img.boot.file;
    f.detail = "the built image booted (" + img.boot.accel + ", " + img.boot.mem + ") but the app " +
               exitText(img.boot.exitCode) + "; fix the image or its arguments and boot it again";
    blockers.push_back(std::move(f));
  }
  if (img.memory.searched && !img.memory.floorMiB) {
    Finding f;
    f.kind = "image-failed";
    f.path = img.memory.file;
    f.detail = "the memory search found " + img.memory.note;
    blockers.push_back(std::move(f));
  }
}

// The memory a successful boot ran in: an upper bound on what the image needs, not its floor.
std::string ranIn(const RewriteImage &img) {
  return img.boot.ran() ? img.boot.mem : std::string();
}

std::string secondsText(int64_t ms) { return llvm::formatv("{0:f2} s", ms / 1000.0).str(); }

// The rewrite's measured image in one sentence for the summary (empty for an estimate).
std::string measuredSentence(const RewriteImage &img) {
  if (!img.built) return "";
  const BootMeasurement &b = img.boot;
  if (!b.measured) return "Its built image has no current boot measurement (bespoke boot " + img.dir + ").";
  if (!b.ran()) return "";
  std::string s = "Its built image boots under " + b.accel + ": ";
  if (b.hostInitMs >= 0) s += "init " + secondsText(b.hostInitMs) + " after QEMU started, ";
  s += b.hostFirstOutputMs < 0 ? std::string("the app printed nothing")
                               : "the app's first output at " + secondsText(b.hostFirstOutputMs);
  if (b.probeMs >= 0) s += " (after the syscall probe)";
  s += ", in " + b.mem + " of guest memory";
  if (img.memory.floorMiB) s += " (memory floor " + std::to_string(*img.memory.floorMiB) + " MiB)";
  return s + ".";
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
    if (std::string measured = measuredSentence(d.rewrite.image); !measured.empty()) s += " " + measured;
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

// Names as indented lines of at most about 100 columns.
std::string wrapped(const std::vector<std::string> &names, const std::string &indent) {
  std::string out, line;
  for (const std::string &n : names) {
    if (!line.empty() && line.size() + 1 + n.size() > 100 - indent.size()) {
      out += indent + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + n;
  }
  if (!line.empty()) out += indent + line + "\n";
  return out;
}

std::string renderMeasuredText(const RewriteImage &img) {
  std::string s;
  const BootMeasurement &b = img.boot;
  if (b.measured) {
    auto ms = [](int64_t v) { return v < 0 ? std::string("-") : secondsText(v); };
    std::string status = std::to_string(b.exitCode);
    if (b.stoppedBySignal) status += " (stopped from outside by signal " + std::to_string(b.stoppedBySignal) + ")";
    s += llvm::formatv("  boot: {0}, {1}, exit status {2}; init at {3} guest uptime, {4} host; first app output {5}; "
                       "wall {6}{7} ({8})\n",
                       b.accel, b.mem, status, ms(b.guestInitMs), ms(b.hostInitMs), ms(b.hostFirstOutputMs),
                       ms(b.wallMs), b.probeMs < 0 ? std::string() : "; syscall probe " + ms(b.probeMs), b.note)
             .str();
  } else {
    s += "  boot: " + b.note + "\n";
  }
  const MemoryFloor &m = img.memory;
  std::string ran = ranIn(img);
  if (m.floorMiB)
    s += "  memory: floor " + std::to_string(*m.floorMiB) + " MiB, " + m.note +
         (ran.empty() ? "" : "; the boot above ran in " + ran) + "\n";
  else if (m.searched)
    s += "  memory: " + m.note + "\n";
  else if (!ran.empty())
    s += "  memory: ran in " + ran + ", an upper bound on what it needs, not its floor; " + m.note + "\n";
  else
    s += "  memory: unknown; " + m.note + "\n";
  const ImageLacks &l = img.lacks;
  s += "  lacks, against Debian's generic kernel (the one extend keeps):\n";
  if (l.featuresKnown) {
    if (l.features.empty()) s += "    every feature of the operator table (specializer/README.md)\n";
    for (const OperatorFeature &f : l.features) s += llvm::formatv("    {0,-18} {1}\n", f.option, f.meaning).str();
  }
  if (l.syscallsKnown) {
    s += "    " + plural(l.syscalls.size(), "syscall", "syscalls") + " (" + l.syscallsFrom + ")" +
         (l.syscalls.empty() ? "" : ":") + "\n";
    s += wrapped(l.syscalls, "      ");
  }
  s += "    (" + l.note + ")\n";
  return s;
}

// The built image's measurements into rewrite.image (decision.schema.json).
void addMeasuredJson(const RewriteImage &img, llvm::json::Object &image) {
  auto ms = [](int64_t v) { return v < 0 ? llvm::json::Value(nullptr) : llvm::json::Value(v); };
  const BootMeasurement &b = img.boot;
  llvm::json::Object boot{{"measured", b.measured}, {"note", b.note}};
  if (b.measured) {
    boot["accel"] = b.accel;
    boot["exit_code"] = b.exitCode;
    boot["stopped_by_signal"] = b.stoppedBySignal;
    boot["mem"] = b.mem;
    boot["guest_init_ms"] = ms(b.guestInitMs);
    boot["host_init_ms"] = ms(b.hostInitMs);
    boot["host_first_output_ms"] = ms(b.hostFirstOutputMs);
    boot["wall_ms"] = ms(b.wallMs);
    boot["syscall_probe_ms"] = ms(b.probeMs);
  }
  const MemoryFloor &m = img.memory;
  std::string ran = ranIn(img);
  llvm::json::Object memory{{"floor_searched", m.searched},
                            {"floor_mib", m.floorMiB ? llvm::json::Value(*m.floorMiB) : llvm::json::Value(nullptr)},
                            {"ran_in", ran.empty() ? llvm::json::Value(nullptr) : llvm::json::Value(ran)},
                            {"note", m.note}};
  if (m.searched) {
    memory["searched_mib"] = llvm::json::Array{m.loMiB, m.hiMiB};
    memory["step_mib"] = m.stepMiB;
    memory["accel"] = m.accel.empty() ? llvm::json::Value(nullptr) : llvm::json::Value(m.accel);
    memory["criterion"] = m.criterion;
    llvm::json::Array command;
    for (const std::string &w : m.command) command.push_back(w);
    memory["command"] = std::move(command);
  }
  const ImageLacks &l = img.lacks;
  llvm::json::Array features, syscalls;
  for (const OperatorFeature &f : l.features)
    features.push_back(llvm::json::Object{{"option", f.option}, {"meaning", f.meaning}});
  for (const std::string &n : l.syscalls) syscalls.push_back(n);
  image["dir"] = img.dir;
  image["boot"] = std::move(boot);
  image["memory"] = std::move(memory);
  image["lacks"] = llvm::json::Object{
      {"features_known", l.featuresKnown},
      {"features", std::move(features)},
      {"syscalls_known", l.syscallsKnown},
      {"syscall_count", int64_t(l.syscalls.size())},
      {"syscalls", std::move(syscalls)},
      {"syscalls_from", l.syscallsFrom.empty() ? llvm::json::Value(nullptr) : llvm::json::Value(l.syscallsFrom)},
      {"note", l.note}};
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
  findImageFailures(d.rewrite.image, d.blockers);
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
  if (r.image.built) {
    s += llvm::formatv("  image: kernel {0} bytes, root {1} {2} bytes ({3})\n", r.image.kernelBytes, r.image.root,
                       r.image.rootBytes, r.image.note)
             .str();
    s += renderMeasuredText(r.image);
  } else
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
  const RewriteImage &img = d.rewrite.image;
  llvm::json::Object image{{"built", img.built}, {"initramfs_bytes", int64_t(img.initramfsBytes)}, {"note", img.note}};
  image["kernel_bytes"] = img.built ? llvm::json::Value(int64_t(img.kernelBytes)) : llvm::json::Value(nullptr);
  if (img.built) {
    image["root"] = img.root;
    image["root_bytes"] = int64_t(img.rootBytes);
    addMeasuredJson(img, image);
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
