// MeasuredImage: reads a `bespoke rewrite` output directory — sizes, boot.json, mem_floor.json,
// kernel.config — for the decision. Only files; no clock, no boot.
#include "specializer/MeasuredImage.h"

#include "specializer/KernelRequirements.h"

#include "llvm/Support/Chrono.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <set>

namespace bespoke {

// Kernel features that matter to whoever runs the app, on in Debian's generic kernel (extend's), and
// often off in a trimmed one. specializer/README.md says how rows are chosen; keep it short.
const std::vector<OperatorFeature> &operatorFeatures() {
  static const std::vector<OperatorFeature> table = {
      {"MODULES", "loadable modules: no driver or file system can be added at run time (modprobe, insmod)"},
      {"SMP", "more than one CPU: the kernel runs on one vCPU whatever QEMU offers"},
      {"MULTIUSER", "users and groups: everything runs as root; setuid, setgid and capabilities fail with ENOSYS"},
      {"PROC_FS", "/proc: no ps, top or /proc/PID inspection"},
      {"PROC_SYSCTL", "/proc/sys: kernel settings cannot be tuned at run time (sysctl)"},
      {"SYSFS", "/sys: no view of devices and kernel objects"},
      {"IPV6", "IPv6: IPv4 only"},
      {"UNIX", "Unix domain sockets: no local sockets (/dev/log, admin sockets)"},
      {"PACKET", "packet sockets: no tcpdump or other raw-frame tools"},
      {"NETFILTER", "netfilter: no firewall or NAT inside the guest (iptables, nftables)"},
      {"NAMESPACES", "namespaces: no containers, unshare or setns inside the guest"},
      {"CGROUPS", "control groups: no cgroup resource limits or accounting inside the guest"},
      {"SECCOMP_FILTER", "seccomp filters: no process can install one (bespoke rewrite --seccomp adds them)"},
      {"SECURITY_APPARMOR", "AppArmor, Debian's default security module: no profile confines the app"},
      {"AUDIT", "audit: no audit trail of security events (auditd)"},
      {"BPF_SYSCALL", "eBPF: no bpf(), so no bpftrace, BCC tools or BPF-based monitoring"},
      {"PERF_EVENTS", "perf events: no perf or sampling profilers"},
      {"FTRACE", "kernel tracing: no ftrace, tracefs or trace events"},
      {"COREDUMP", "core dumps: a crashing app leaves no core file"},
      {"SWAP", "swap: nothing is paged out; the guest's memory is a hard limit"},
      {"BLOCK", "block devices: no disks; every file lives in RAM"},
      {"PRINTK", "kernel messages: no dmesg, and a panic prints nothing"},
  };
  return table;
}

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

std::string join(const std::string &dir, const char *name) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, name);
  return std::string(p);
}

llvm::Expected<uint64_t> fileSize(const std::string &path) {
  uint64_t size = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, size))
    return llvm::createStringError(ec, "%s: %s", path.c_str(), ec.message().c_str());
  return size;
}

// nullopt when the file does not exist.
std::optional<llvm::sys::TimePoint<>> modified(const std::string &path) {
  llvm::sys::fs::file_status st;
  if (llvm::sys::fs::status(path, st) || !llvm::sys::fs::exists(st)) return std::nullopt;
  return st.getLastModificationTime();
}

// A measurement file is stale when a file of the image it describes is newer: that image was rebuilt
// after it. Returns the newer file's name, or empty.
std::string newerImageFile(const std::string &measurement, const std::vector<std::string> &imageFiles) {
  std::optional<llvm::sys::TimePoint<>> m = modified(measurement);
  for (const std::string &f : imageFiles)
    if (std::optional<llvm::sys::TimePoint<>> t = modified(f); t && m && *t > *m) return f;
  return "";
}

llvm::Expected<llvm::json::Object> readJsonObject(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) return err(path + ": " + buf.getError().message());
  auto json = llvm::json::parse((*buf)->getBuffer());
  if (!json) return err(path + ": " + llvm::toString(json.takeError()));
  if (!json->getAsObject()) return err(path + ": not a JSON object");
  return std::move(*json->getAsObject());
}

// A field that must be an integer, or (nullable) an integer or null; -1 for null or absent-when-allowed.
llvm::Error intField(const llvm::json::Object &o, const std::string &path, llvm::StringRef key, bool nullable,
                     int64_t &out) {
  const llvm::json::Value *v = o.get(key);
  if (nullable && (!v || v->getAsNull())) {
    out = -1;
    return llvm::Error::success();
  }
  std::optional<int64_t> i = v ? v->getAsInteger() : std::nullopt;
  if (!i) return err(path + ": " + key + " is " + (v ? "not an integer" : "missing"));
  out = *i;
  return llvm::Error::success();
}

llvm::Error stringField(const llvm::json::Object &o, const std::string &path, llvm::StringRef key, std::string &out) {
  const llvm::json::Value *v = o.get(key);
  std::optional<llvm::StringRef> s = v ? v->getAsString() : std::nullopt;
  if (!s) return err(path + ": " + key + " is " + (v ? "not a string" : "missing"));
  out = s->str();
  return llvm::Error::success();
}

llvm::Error stringsField(const llvm::json::Object &o, const std::string &path, llvm::StringRef key,
                         std::vector<std::string> &out) {
  const llvm::json::Array *a = o.getArray(key);
  if (!a) return err(path + ": " + key + " is " + (o.get(key) ? "not an array" : "missing"));
  for (const llvm::json::Value &v : *a) {
    std::optional<llvm::StringRef> s = v.getAsString();
    if (!s) return err(path + ": " + key + " holds a value that is not a string");
    out.push_back(s->str());
  }
  return llvm::Error::success();
}

// boot.json as `bespoke boot` writes it (images/Boot.cpp bootJson). `implemented` gets the syscall
// probe's implemented names when it ran.
llvm::Error readBoot(const std::string &path, BootMeasurement &b, std::optional<std::set<std::string>> &implemented) {
  auto o = readJsonObject(path);
  if (!o) return o.takeError();
  if (o->getInteger("bespoke_boot") != 1)
    return err(path + ": bespoke_boot is not 1 (not a boot.json, or from another version of bespoke)");
  if (llvm::Error e = intField(*o, path, "exit_code", false, b.exitCode)) return e;
  if (o->get("stopped_by_signal")) // absent in boot.json from before it was recorded
    if (llvm::Error e = intField(*o, path, "stopped_by_signal", false, b.stoppedBySignal)) return e;
  if (llvm::Error e = stringField(*o, path, "accel", b.accel)) return e;
  if (llvm::Error e = stringField(*o, path, "mem", b.mem)) return e;
  if (llvm::Error e = intField(*o, path, "guest_init_ms", true, b.guestInitMs)) return e;
  if (llvm::Error e = intField(*o, path, "host_init_ms", true, b.hostInitMs)) return e;
  if (llvm::Error e = intField(*o, path, "host_first_output_ms", true, b.hostFirstOutputMs)) return e;
  if (llvm::Error e = intField(*o, path, "wall_ms", true, b.wallMs)) return e;
  if (const llvm::json::Value *p = o->get("syscall_probe")) {
    const llvm::json::Object *probe = p->getAsObject();
    if (!probe) return err(path + ": syscall_probe is not an object");
    std::vector<std::string> names;
    if (llvm::Error e = stringsField(*probe, path, "implemented_names", names)) return e;
    if (llvm::Error e = intField(*probe, path, "probe_ms", true, b.probeMs)) return e;
    implemented = std::set<std::string>(names.begin(), names.end());
  }
  b.measured = true;
  b.note = "one boot under " + b.accel + " on this machine; bench/images-bench.py takes medians of several";
  if (implemented) b.note += "; the syscall probe ran before the app, so the time to first output includes it";
  return llvm::Error::success();
}

// mem_floor.json as bench/images-bench.py writes it.
llvm::Error readFloor(const std::string &path, MemoryFloor &f) {
  auto o = readJsonObject(path);
  if (!o) return o.takeError();
  if (o->getInteger("bespoke_mem_floor") != 1)
    return err(path + ": bespoke_mem_floor is not 1 (not a mem_floor.json, or from another version)");
  int64_t floor = -1;
  if (llvm::Error e = intField(*o, path, "floor_mib", true, floor)) return e;
  if (o->get("floor_mib") == nullptr) return err(path + ": floor_mib is missing (null when nothing served)");
  if (floor == 0 || floor < -1) return err(path + ": floor_mib is not a positive number of MiB");
  if (floor > 0) f.floorMiB = floor;
  const llvm::json::Array *range = o->getArray("searched_mib");
  std::optional<int64_t> lo = range && range->size() == 2 ? (*range)[0].getAsInteger() : std::nullopt,
                         hi = range && range->size() == 2 ? (*range)[1].getAsInteger() : std::nullopt;
  if (!lo || !hi || *lo <= 0 || *lo > *hi) return err(path + ": searched_mib is not [LO, HI] with 0 < LO <= HI");
  f.loMiB = *lo;
  f.hiMiB = *hi;
  if (llvm::Error e = intField(*o, path, "step_mib", false, f.stepMiB)) return e;
  if (f.stepMiB <= 0) return err(path + ": step_mib is not positive");
  if (const llvm::json::Value *a = o->get("accel"); a && !a->getAsNull())
    if (llvm::Error e = stringField(*o, path, "accel", f.accel)) return e;
  if (o->get("criterion"))
    if (llvm::Error e = stringField(*o, path, "criterion", f.criterion)) return e;
  if (llvm::Error e = stringsField(*o, path, "command", f.command)) return e;
  if (f.floorMiB && f.accel.empty()) return err(path + ": accel is missing (the boot at the floor's)");
  f.searched = true;
  std::string what = f.criterion.empty() ? "booted and served" : "booted and " + f.criterion;
  f.note = f.floorMiB
               ? llvm::formatv("the smallest guest memory in {0}..{1} MiB ({2} MiB steps) in which the image {3}, "
                               "under {4} (bench/images-bench.py)", f.loMiB, f.hiMiB, f.stepMiB, what, f.accel).str()
               : llvm::formatv("no guest memory in {0}..{1} MiB in which the image {2} (bench/images-bench.py)",
                               f.loMiB, f.hiMiB, what).str();
  return llvm::Error::success();
}

std::vector<std::string> debianGenericLacking(const std::set<std::string> &have) {
  std::vector<std::string> out;
  for (const SyscallBuild &b : syscallBuildTable())
    if (b.inDebianGeneric && !have.count(b.name)) out.push_back(b.name);
  return out; // the table is sorted
}

} // namespace

llvm::Expected<RewriteImage> measureImageDirectory(const std::string &dir) {
  RewriteImage img;
  img.dir = dir;
  // The root is image.json's `root` (an initramfs, or a file system image on virtio-blk); images from
  // before it was recorded, or a directory without image.json, have initramfs.cpio.gz.
  std::string kind = "initramfs", file = "initramfs.cpio.gz";
  std::string meta = join(dir, "image.json");
  if (llvm::sys::fs::exists(meta)) {
    auto o = readJsonObject(meta);
    if (!o) return o.takeError();
    if (const llvm::json::Object *root = o->getObject("root")) {
      std::optional<llvm::StringRef> k = root->getString("kind"), f = root->getString("file");
      if (!k || !f || f->empty() || f->contains('/')) return err(meta + ": root.kind or root.file is missing");
      kind = k->str();
      file = f->str();
    }
  }
  std::string kernel = join(dir, "bzImage"), root = join(dir, file.c_str());
  auto k = fileSize(kernel);
  if (!k) return k.takeError();
  auto r = fileSize(root);
  if (!r) return r.takeError();
  img.built = true;
  img.kernelBytes = *k;
  img.root = kind;
  img.rootBytes = *r;
  img.initramfsBytes = kind == "initramfs" ? *r : 0;
  img.note = "measured: " + kernel + " and " + root;

  const std::vector<std::string> imageFiles = {meta, kernel, root};
  std::optional<std::set<std::string>> implemented; // the syscall probe's, when boot.json has one
  std::string bootPath = img.boot.file = join(dir, "boot.json");
  if (!llvm::sys::fs::exists(bootPath)) {
    img.boot.note = "not booted: bespoke boot " + dir + " measures boot time and writes boot.json";
  } else if (std::string newer = newerImageFile(bootPath, imageFiles); !newer.empty()) {
    img.boot.note = bootPath + " is older than " + newer + ", so it describes an earlier image: ignored " +
                    "(bespoke boot " + dir + " measures this one)";
  } else if (llvm::Error e = readBoot(bootPath, img.boot, implemented)) {
    return e;
  }

  std::string floorPath = img.memory.file = join(dir, "mem_floor.json");
  if (!llvm::sys::fs::exists(floorPath)) {
    img.memory.note = "floor not searched (bench/images-bench.py searches it for the images it builds and writes "
                      "mem_floor.json beside them)";
  } else if (std::string newer = newerImageFile(floorPath, imageFiles); !newer.empty()) {
    img.memory.note = floorPath + " is older than " + newer + ", so it describes an earlier image: ignored";
  } else if (llvm::Error e = readFloor(floorPath, img.memory)) {
    return e;
  }

  ImageLacks &lacks = img.lacks;
  std::string configPath = join(dir, "kernel.config");
  std::set<std::string> enabled;
  if (llvm::sys::fs::exists(configPath)) {
    auto buf = llvm::MemoryBuffer::getFile(configPath);
    if (!buf) return err(configPath + ": " + buf.getError().message());
    std::map<std::string, std::string> config = parseDotConfig((*buf)->getBuffer());
    if (config.empty()) return err(configPath + ": no CONFIG_ lines (not a kernel .config)");
    for (const auto &[option, value] : config)
      if (value == "y") enabled.insert(option);
    // An option the .config does not list had its dependencies unmet: it is off too.
    for (const OperatorFeature &f : operatorFeatures())
      if (!enabled.count(f.option)) lacks.features.push_back(f);
    lacks.featuresKnown = true;
  }
  if (implemented) {
    lacks.syscalls = debianGenericLacking(*implemented);
    lacks.syscallsKnown = true;
    lacks.syscallsFrom = "syscall probe";
    lacks.note = "syscalls measured by boot.json's syscall probe: the numbers that returned ENOSYS in the "
                 "booted kernel";
  } else if (lacks.featuresKnown) {
    std::vector<std::string> built = syscallsBuiltWith(enabled);
    lacks.syscalls = debianGenericLacking(std::set<std::string>(built.begin(), built.end()));
    lacks.syscallsKnown = true;
    lacks.syscallsFrom = "kernel.config";
    lacks.note = "syscalls derived from kernel.config with the syscall -> Kconfig table (bespoke boot " + dir +
                 " --probe-syscalls measures them)";
  } else {
    lacks.note = "no kernel.config in " + dir + " and no syscall probe: what the kernel lacks is unknown";
  }
  if (!lacks.featuresKnown && lacks.syscallsKnown) lacks.note += "; no kernel.config: features unknown";
  return img;
}

} // namespace bespoke
