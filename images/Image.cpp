// The image pipeline: footprint -> requirements -> config -> kernel; app + init -> initramfs.
#include "images/Image.h"

#include "analyzer/ElfModule.h"
#include "analyzer/Loader.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <set>
#include <unistd.h>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// `rootBytes`: the size of the root's file in the image directory.
std::string imageJson(const Image &img, uint64_t rootBytes) {
  llvm::json::Array options;
  for (const auto &[option, r] : img.config.required) {
    llvm::json::Array reasons;
    for (const std::string &why : r.reasons) reasons.push_back(why);
    options.push_back(llvm::json::Object{{"option", option}, {"value", r.value}, {"reasons", std::move(reasons)}});
  }
  llvm::json::Array args;
  for (const std::string &a : img.args) args.push_back(a);
  llvm::json::Array removable;
  for (const std::string &r : img.configProof.removable) removable.push_back(r);
  auto strings = [](const std::vector<std::string> &v) {
    llvm::json::Array out;
    for (const std::string &x : v) out.push_back(x);
    return out;
  };
  auto names = [](const std::map<std::string, std::string> &m) {
    llvm::json::Object out;
    for (const auto &[name, why] : m) out[name] = why;
    return out;
  };
  llvm::json::Array files;
  for (const ListedFile &f : img.files) {
    llvm::json::Object o{{"path", f.path}, {"why", strings(f.why)}};
    if (f.link) o["link"] = f.target;
    else {
      o["from"] = f.from.empty() ? llvm::json::Value(nullptr) : llvm::json::Value(f.from);
      o["bytes"] = (int64_t)f.bytes;
    }
    files.push_back(std::move(o));
  }
  auto fileList = [](const std::vector<std::pair<std::string, std::string>> &files) {
    llvm::json::Array out;
    for (const auto &[guest, host] : files) {
      uint64_t bytes = 0;
      llvm::sys::fs::file_size(host, bytes);
      out.push_back(llvm::json::Object{{"path", guest}, {"from", host}, {"bytes", (int64_t)bytes}});
    }
    return out;
  };
  llvm::json::Value seccomp = nullptr;
  if (!img.seccomp.bpf.empty()) {
    llvm::json::Array added;
    for (const std::string &a : img.seccomp.added) added.push_back(a);
    seccomp = llvm::json::Object{{"path", "/bespoke/seccomp.bpf"},
                                 {"instructions", (int64_t)(img.seccomp.bpf.size() / 8)},
                                 {"allowed_syscalls", (int64_t)img.seccomp.allowedSyscalls},
                                 {"added_to_policy", std::move(added)},
                                 {"proven_equivalent", true},
                                 {"prove_ms", int64_t(img.seccomp.proofSeconds * 1000 + 0.5)}};
  }
  uint64_t kernelBytes = 0;
  llvm::sys::fs::file_size(img.kernel.bzImage, kernelBytes);
  llvm::json::Object o{
      {"bespoke_image", 2},
      {"app", img.appName},
      {"app_path", "/app/" + img.appName},
      {"args", std::move(args)},
      {"manifest_matches_binary", img.manifestMatchesBinary},
      {"interpreter", img.interpreter.empty() ? llvm::json::Value(nullptr) : llvm::json::Value(img.interpreter)},
      {"libraries", fileList(img.libraries)},
      {"files", std::move(files)},
      {"accounts", llvm::json::Object{{"users", names(img.accounts.users)},
                                       {"groups", names(img.accounts.groups)},
                                       {"left_out", strings(img.accounts.leftOut)}}},
      {"warnings", strings(img.warnings)},
      {"skipped", strings(img.skipped)},
      {"files_not_carried", strings(img.notCarried)},
      {"seccomp", std::move(seccomp)},
      {"network", img.config.network},
      {"entropy", img.config.entropy.empty() ? llvm::json::Value(nullptr)
                                             : llvm::json::Object{{"device", "virtio-rng"}, {"why", img.config.entropy}}},
      {"mounts", llvm::json::Object{{"proc", img.config.procfs}, {"sys", img.config.sysfs}}},
      {"required_options", std::move(options)},
      {"kernel",
       llvm::json::Object{{"bzimage_bytes", (int64_t)kernelBytes},
                          {"config_sha256", sha256Hex(img.config.resolved)},
                          {"build_key", img.kernel.key},
                          {"cache_hit", img.kernel.cacheHit},
                          {"build_ms", int64_t(img.kernel.seconds * 1000 + 0.5)},
                          {"build_log", img.kernel.log}}},
      {"root", [&] {
         const RootFormat &f = rootFormat(img.root);
         llvm::json::Object r{{"kind", f.name}, {"file", f.file}, {"bytes", (int64_t)rootBytes}, {"why", img.rootWhy}};
         if (f.block()) {
           r["fstype"] = f.fstype;
           r["device"] = "virtio-blk";
           r["overlay"] = "tmpfs";
         }
         return r;
       }()},
      {"machine", [&] {
         const MachineFormat &m = machineFormat(img.machine);
         bool bus = needsVirtioBus(img.config.network, rootFormat(img.root).block(), !img.config.entropy.empty());
         return llvm::json::Object{{"kind", m.name},
                                   {"bus", bus ? llvm::json::Value(m.bus) : llvm::json::Value(nullptr)},
                                   {"why", img.machineWhy}};
       }()},
      {"initramfs", img.root == RootKind::Initramfs
                        ? llvm::json::Value(llvm::json::Object{{"cpio_bytes", (int64_t)img.initramfsBytes},
                                                               {"gzip_bytes", (int64_t)img.initramfsGz.size()}})
                        : llvm::json::Value(nullptr)},
      {"config_proof",
       llvm::json::Object{{"holds", true},
                          {"kconfig_files", (int64_t)img.configProof.files},
                          {"symbols", (int64_t)img.configProof.symbols},
                          {"constraints", (int64_t)img.configProof.constraints},
                          {"removable", std::move(removable)},
                          {"minimality_applied", [&] {
                             llvm::json::Array a;
                             for (const std::string &m : img.minimality) a.push_back(m);
                             return a;
                           }()},
                          {"cache_hit", img.configProof.cacheHit},
                          {"prove_ms", int64_t(img.configProof.seconds * 1000 + 0.5)},
                          {"semantics", "bool (MODULES off: m is n); see verify/ConfigProof.h"}}},
      {"rewrite_ms", int64_t(img.totalSeconds * 1000 + 0.5)},
  };
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(o))) << "\n";
  return out;
}

} // namespace

std::string renderInitConf(const KernelConfig &config, const std::string &appPath, const std::vector<std::string> &args,
                           const std::string &seccompPath, bool overlayRoot) {
  std::string out = "# bespoke-init configuration, written by bespoke rewrite (see images/README.md)\n";
  if (overlayRoot) out += std::string("overlay ") + OverlayUpperDir + " " + OverlayRootDir + "\n";
  out += "mount devtmpfs /dev\nmount tmpfs /tmp\n";
  if (config.procfs) out += "mount proc /proc\n";
  if (config.sysfs) out += "mount sysfs /sys\n";
  if (config.network) out += "ifup lo\nifup eth0 10.0.2.15 255.255.255.0 10.0.2.2\n";
  if (!seccompPath.empty()) out += "seccomp " + seccompPath + "\n";
  out += "arg " + appPath + "\n";
  for (const std::string &a : args) out += "arg " + a + "\n";
  return out;
}

std::string entropyReason(const Footprint &footprint) {
  for (const SyscallUse &u : footprint.syscalls)
    if (u.name == "getrandom") return "app: syscall getrandom";
  for (const std::string &p : footprint.kernel.paths)
    if (p == "/dev/random") return "app: path /dev/random";
  return "";
}

llvm::Error addDeviceFragments(KernelConfig &config, RootKind root, MachineKind machine) {
  auto rootFragment = parseFragment(rootFragmentText(root), std::string("images/root-") + rootFormat(root).name + ".config");
  if (!rootFragment) return rootFragment.takeError();
  addFragment(config, *rootFragment, "root");
  if (!config.entropy.empty()) {
    auto entropy = parseFragment(entropyFragmentText(), "images/entropy.config");
    if (!entropy) return entropy.takeError();
    addFragment(config, *entropy, "entropy");
  }
  if (!needsVirtioBus(config.network, rootFormat(root).block(), !config.entropy.empty())) return llvm::Error::success();
  auto machineFragment = parseFragment(machineFragmentText(machine),
                                       std::string("images/machine-") + machineFormat(machine).name + ".config");
  if (!machineFragment) return machineFragment.takeError();
  addFragment(config, *machineFragment, "machine");
  return llvm::Error::success();
}

llvm::Expected<Image> buildImage(const ImageRequest &req, llvm::raw_ostream &progress) {
  auto start = std::chrono::steady_clock::now();
  Image img;
  img.args = req.args;
  for (const std::string &a : req.args)
    if (a.find('\n') != std::string::npos) return err("app argument contains a newline: '" + a + "'");

  // The app and everything the image carries first: a bad binary, a missing module or --add file should
  // not cost a kernel build.
  auto elf = ElfModule::open(req.binary);
  if (!elf) return elf.takeError();
  img.appName = llvm::sys::path::filename(req.binary).str();
  ContentsRequest creq{req.manifestPath, &req.footprint, req.binary, req.args, req.files, ""};
  auto contents = composeContents(creq);
  if (!contents) return contents.takeError();
  img.interpreter = contents->interpreter;
  img.libraries = contents->libraries;
  img.accounts = contents->accounts;
  img.warnings = contents->warnings;
  img.notCarried = contents->notCarried;
  img.skipped = contents->skipped;
  img.seccomp = req.seccomp;
  img.manifestMatchesBinary = req.footprint.app.sha256.empty() || req.footprint.app.sha256 == (*elf)->sha256();
  // The root: as asked, else an initramfs for a static app (a few hundred KiB, unpacked at once) and a
  // block root for a dynamic one (its closure is mostly never read: demand paging keeps it out of RAM).
  if (req.root) {
    img.root = *req.root;
    img.rootWhy = std::string("--root ") + rootFormat(img.root).name;
  } else {
    img.root = img.interpreter.empty() ? RootKind::Initramfs : RootKind::Erofs;
    img.rootWhy = img.interpreter.empty() ? "default for a static app" : "default for a dynamic app";
  }
  img.maxRootBytes = req.maxRootBytes;
  img.machine = req.machine.value_or(DefaultMachine);
  img.machineWhy = req.machine ? std::string("--machine ") + machineFormat(img.machine).name : DefaultMachineWhy;
  if (auto tool = findRootTool(img.root); !tool) return tool.takeError(); // before the kernel build
  if (rootFormat(img.root).block()) {
    uint64_t treeBytes = 0;
    for (const auto &[path, e] : contents->tree.entries())
      if (e.kind == TreeEntry::File) treeBytes += e.data.size();
    if (llvm::Error e = checkRootLimit(treeBytes, req.maxRootBytes, req.manifestPath, "the image's files hold",
                                       std::string(" for its ") + rootFormat(img.root).name + " root"))
      return e;
  }
  if (!img.manifestMatchesBinary)
    progress << "bespoke: note: " << req.manifestPath << " describes " << req.footprint.app.name
             << " (another sha256 than " << req.binary << "); the kernel is built for the manifest\n";

  // The kernel config: base + what the app needs.
  KernelRequirements reqs = kernelRequirements(req.footprint);
  if (!reqs.unknownSyscalls.empty())
    return err(req.manifestPath + ": no kernel config can provide system call" +
               (reqs.unknownSyscalls.size() > 1 ? "s " : " ") + llvm::join(reqs.unknownSyscalls, ", ") +
               " (not in the Linux 6.1 x86-64 syscall table)");
  std::vector<std::string> neverBuilt; // no entry point on x86-64 (nfsservctl, uselib, ...)
  for (const SyscallUse &u : req.footprint.syscalls)
    if (const SyscallBuild *b = syscallBuild(u.name); b && b->alternatives.empty()) neverBuilt.push_back(u.name);
  if (!neverBuilt.empty())
    return err(req.manifestPath + ": no kernel config can provide system call" + (neverBuilt.size() > 1 ? "s " : " ") +
               llvm::join(neverBuilt, ", ") + " (Linux 6.1 builds no implementation of it for x86-64)");
  auto base = parseFragment(baseFragmentText(), "images/base.config");
  if (!base) return base.takeError();
  auto net = parseFragment(netFragmentText(), "images/net.config");
  if (!net) return net.takeError();
  img.config = composeConfig(*base, *net, reqs);
  img.config.entropy = entropyReason(req.footprint);
  if (llvm::Error e = addDeviceFragments(img.config, img.root, img.machine)) return e;
  if (!img.seccomp.bpf.empty()) {
    // SECCOMP_FILTER is def_bool y on HAVE_ARCH_SECCOMP_FILTER && SECCOMP && NET (arch/Kconfig): the
    // classic-BPF filter code lives in net/core/filter.c. NET alone adds no NIC and no ifup.
    const char *why = "seccomp: bespoke-init installs the app's proven filter (--seccomp)";
    for (const char *option : {"SECCOMP", "SECCOMP_FILTER", "NET"}) img.config.required[option].reasons.push_back(why);
  }

  // Absolute: make runs with -C in the source tree, where a relative O= would land.
  llvm::SmallString<256> cacheDir(req.cacheDir);
  if (std::error_code ec = llvm::sys::fs::make_absolute(cacheDir)) return err(req.cacheDir + ": " + ec.message());
  auto src = req.kernelSource.empty() ? prepareKernelSource(cacheDir.str().str(), progress, req.tarball)
                                      : existingKernelSource(req.kernelSource);
  if (!src) return src.takeError();
  auto configStart = std::chrono::steady_clock::now();
  if (llvm::Error e = resolveWithDependencies(*src, img.config, cacheDir.str().str())) return e;
  img.configSeconds = since(configStart);
  std::vector<std::string> unmet = unmetRequirements(img.config, img.config.resolved);
  if (!unmet.empty())
    return err(req.manifestPath + ": " + unmet.front() +
               (unmet.size() > 1 ? " (and " + std::to_string(unmet.size() - 1) + " more)" : std::string()));
  // The config proof (issue 5, point 4), before anything is built: the resolved .config against the
  // tree's Kconfig constraints, every requirement on, and the options that could still be turned off;
  // minimality turns those off, re-resolves and re-proves while that makes the config smaller.
  auto minimal = minimizeConfig(*src, img.config, cacheDir.str().str(), progress);
  if (!minimal) return err(req.manifestPath + ": " + llvm::toString(minimal.takeError()));
  img.minimality = std::move(minimal->applied);
  img.configProof = std::move(minimal->proof);

  auto kernel = buildKernel(*src, img.config.resolved, cacheDir.str().str(), req.jobs, progress);
  if (!kernel) return kernel.takeError();
  img.kernel = *kernel;

  // The initramfs: bespoke's own files, then the tree.
  bool block = rootFormat(img.root).block();
  img.initConf = renderInitConf(img.config, contents->appPath, req.args,
                                 img.seccomp.bpf.empty() ? "" : "/bespoke/seccomp.bpf", block);
  RootTree &tree = contents->tree;
  for (auto [guest, data] : {std::pair<std::string, std::string>{"/init", initBinary().str()},
                             {"/bespoke/init.conf", img.initConf}, {"/bespoke/seccomp.bpf", img.seccomp.bpf}}) {
    if (data.empty()) continue;
    auto added = tree.addData(guest, std::move(data), guest == "/init" ? 0755 : 0644, "bespoke-init");
    if (!added) return added.takeError();
    tree.markOwned(guest);
  }
  for (const std::string &dir : mountedDirectories())
    if (llvm::Error e = tree.addDirectory(dir)) return e;
  if (block) // the overlay's tmpfs and the overlay itself, before init moves it over /
    for (const char *dir : {OverlayUpperDir, OverlayRootDir})
      if (llvm::Error e = tree.addDirectory(dir)) return e;
  img.files = listAddedFiles(*contents);
  Initramfs fs = tree.takeInitramfs();
  if (block) {
    // The kernel opens /dev/console on its own initial root before it mounts the disk, so the disk
    // needs no device node.
    img.rootFiles = std::move(fs);
    img.totalSeconds = since(start);
    return img;
  }
  fs.addCharDevice("dev/console", 5, 1, 0600); // the kernel opens it for init before /dev is mounted
  std::string cpio = writeCpio(fs);
  img.initramfsBytes = cpio.size();
  auto gz = gzipCompress(cpio);
  if (!gz) return gz.takeError();
  img.initramfsGz = std::move(*gz);
  img.totalSeconds = since(start);
  return img;
}

llvm::Error writeImage(const Image &img, const std::string &dirArg) {
  // Absolute: createUniqueDirectory puts relative names under the system temp directory.
  llvm::SmallString<256> abs(dirArg);
  if (std::error_code ec = llvm::sys::fs::make_absolute(abs)) return err(dirArg + ": " + ec.message());
  llvm::sys::path::remove_dots(abs, /*remove_dot_dot=*/true);
  std::string dir = abs.str().str();
  std::string parent = llvm::sys::path::parent_path(dir).str();
  if (parent.empty()) parent = ".";
  if (!llvm::sys::fs::is_directory(parent)) return err(dir + ": parent directory " + parent + " does not exist");
  if (llvm::sys::fs::exists(dir) &&
      (!llvm::sys::fs::is_directory(dir) ||
       (!llvm::sys::fs::exists(dir + "/image.json") && [&] {
         std::error_code ec;
         return llvm::sys::fs::directory_iterator(dir, ec) != llvm::sys::fs::directory_iterator();
       }())))
    return err(dir + ": exists and is not an image directory (no image.json); not replacing it");
  llvm::SmallString<256> tmp;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(dir + ".tmp", tmp)) return err(dir + ": " + ec.message());
  std::string t = tmp.str().str();
  auto fail = [&](llvm::Error e) {
    llvm::sys::fs::remove_directories(t);
    return e;
  };
  if (std::error_code ec = llvm::sys::fs::copy_file(img.kernel.bzImage, t + "/bzImage"))
    return fail(err(img.kernel.bzImage + ": " + ec.message()));
  const RootFormat &root = rootFormat(img.root);
  uint64_t rootBytes = img.initramfsGz.size();
  if (root.block()) {
    auto bytes = writeRootImage(img.rootFiles, img.root, t + "/" + root.file, img.maxRootBytes);
    if (!bytes) return fail(bytes.takeError());
    rootBytes = *bytes;
  } else if (llvm::Error e = writeFileBytes(t + "/" + root.file, img.initramfsGz)) {
    return fail(std::move(e));
  }
  if (llvm::Error e = writeFileBytes(t + "/kernel.config", img.config.resolved)) return fail(std::move(e));
  if (llvm::Error e = writeFileBytes(t + "/image.json", imageJson(img, rootBytes))) return fail(std::move(e));
  if (llvm::sys::fs::exists(dir)) {
    std::string old = t + ".old";
    if (std::error_code ec = llvm::sys::fs::rename(dir, old)) return fail(err(dir + ": " + ec.message()));
    llvm::sys::fs::remove_directories(old);
  }
  if (std::error_code ec = llvm::sys::fs::rename(t, dir)) return fail(err(dir + ": " + ec.message()));
  return llvm::Error::success();
}

} // namespace bespoke
