// bespoke rewrite / bespoke boot: their option tables and the wiring of the images/ stage (the work is in
// images/: a trimmed kernel + initramfs for a static or dynamic app, booted in QEMU).
#include "cli/Cli.h"
#include "analyzer/ModelCache.h"
#include "extension-gen/Gate.h"
#include "extension-gen/ManifestPolicy.h"
#include "images/Boot.h"
#include "images/Image.h"
#include "manifests/Manifest.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cctype>
#include <cstdio>
#include <optional>

namespace bespoke::cli {

namespace {

llvm::Error inputErr(const std::string &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

// --add FILE[:GUEST]: the host file and where it goes in the image (default /data/NAME).
std::pair<std::string, std::string> addedFile(const std::string &spec) {
  size_t colon = spec.find(':');
  std::string host = spec.substr(0, colon);
  std::string guest = colon == std::string::npos ? "/data/" + llvm::sys::path::filename(host).str() : spec.substr(colon + 1);
  return {host, guest};
}

std::string checkAdd(const std::string &, const std::string &spec) {
  return addedFile(spec).first.empty() ? "--add needs FILE[:GUEST], not '" + spec + "'" : "";
}

std::string checkJobs(const std::string &, const std::string &v) {
  unsigned n = 0;
  return llvm::StringRef(v).getAsInteger(10, n) || n == 0 ? "--jobs needs a positive number, not '" + v + "'" : "";
}

std::string checkMem(const std::string &, const std::string &v) {
  return isdigit(static_cast<unsigned char>(v[0])) ? "" : "--mem needs a size like 64M";
}

std::string checkRoot(const std::string &, const std::string &v) {
  return parseRootKind(v) ? "" : "--root needs one of " + rootKindNames() + ", not '" + v + "'";
}

std::string checkMachine(const std::string &, const std::string &v) {
  return parseMachineKind(v) ? "" : "--machine needs one of " + machineKindNames() + ", not '" + v + "'";
}

std::string checkSize(const std::string &, const std::string &v) {
  return parseSize(v) ? "" : "--max-root-size needs a size like 512M or 4G, not '" + v + "'";
}

std::string checkTimeout(const std::string &, const std::string &v) {
  double s = 0;
  return llvm::StringRef(v).getAsDouble(s) || s < 0 ? "--timeout needs a number of seconds, not '" + v + "'" : "";
}

std::string checkForward(const std::string &, const std::string &v) {
  auto f = parseForward(v);
  return f ? "" : llvm::toString(f.takeError());
}

int runRewrite(const ParsedArgs &args) {
  std::optional<std::string> manifest = args.get("manifest"), binary = args.get("binary"),
                             output = args.get("output"), cacheDir = args.get("cache-dir"),
                             kernelSource = args.get("kernel-source"), tarball = args.get("kernel-tarball");
  bool quiet = args.has("quiet"), seccomp = args.has("seccomp");
  if (!manifest) return usageError("rewrite", "missing MANIFEST");
  if (!binary) return usageError("rewrite", "missing --binary APP");
  if (!output) return usageError("rewrite", "missing -o DIR");
  ImageRequest req;
  if (std::optional<std::string> jobs = args.get("jobs")) llvm::StringRef(*jobs).getAsInteger(10, req.jobs);
  if (!llvm::sys::fs::exists(*binary)) return inputError(inputErr(*binary + ": no such file (--binary)"));
  auto m = loadManifest(*manifest);
  if (!m) return inputError(m.takeError());
  req.manifestPath = *manifest;
  if (seccomp) {
    // The manifest's policy plus the one call the app's process makes before the app runs: init's execve.
    std::vector<std::string> notes;
    auto policy = policyFromManifest(*m, Action{Action::KillProcess, 0}, policyOptions(args), &notes);
    if (!policy) return inputError(inputErr(*manifest + ": " + llvm::toString(policy.takeError())));
    if (!quiet)
      for (const std::string &n : notes) llvm::errs() << "bespoke rewrite: note: " << *manifest << ": " << n << "\n";
    ExecveGrant grant = grantExecve(*policy);
    if (grant == ExecveGrant::Added)
      req.seccomp.added.push_back("execve: bespoke-init's exec of the app runs under the filter");
    else if (grant == ExecveGrant::Widened)
      req.seccomp.added.push_back("execve (any arguments): bespoke-init's exec of the app runs under the filter");
    auto proven = compileProven(*policy);
    if (!proven) return proofFailure("rewrite", proven.takeError());
    req.seccomp.bpf = writeBpf(proven->program);
    req.seccomp.allowedSyscalls = policy->allowed.size();
    req.seccomp.proofSeconds = proven->verdict.seconds;
  }
  req.footprint = std::move(m->footprint);
  for (const std::string &spec : args.all("add")) req.files.push_back(addedFile(spec));
  req.binary = *binary;
  req.args = args.rest;
  req.cacheDir = cacheDir.value_or(ModelCache::defaultDirectory());
  if (kernelSource) req.kernelSource = *kernelSource;
  if (tarball) req.tarball = *tarball;
  if (std::optional<std::string> root = args.get("root")) req.root = parseRootKind(*root);
  if (std::optional<std::string> limit = args.get("max-root-size")) req.maxRootBytes = *parseSize(*limit);
  if (std::optional<std::string> machine = args.get("machine")) req.machine = parseMachineKind(*machine);
  llvm::raw_ostream &progress = quiet ? llvm::nulls() : llvm::errs();
  auto img = buildImage(req, progress);
  if (!img) return inputError(img.takeError());
  // Warnings go out even with -q: each is a reason to re-run bespoke analyze.
  for (const std::string &w : img->warnings) llvm::errs() << "bespoke rewrite: warning: " << w << "\n";
  if (llvm::Error e = writeImage(*img, *output)) return inputError(std::move(e));
  if (!quiet) {
    uint64_t kernelBytes = 0;
    llvm::sys::fs::file_size(img->kernel.bzImage, kernelBytes);
    std::string extras = llvm::formatv(", machine {0} ({1})", machineFormat(img->machine).name, img->machineWhy).str();
    if (!img->libraries.empty()) extras += llvm::formatv(", {0} libraries", img->libraries.size()).str();
    uint64_t addedBytes = 0;
    for (const ListedFile &f : img->files) addedBytes += f.bytes;
    extras += llvm::formatv(", {0} more files and links ({1} KiB)", img->files.size(), addedBytes / 1024).str();
    if (!img->seccomp.bpf.empty())
      extras += llvm::formatv(", seccomp filter {0} instructions (proven)", img->seccomp.bpf.size() / 8).str();
    const RootFormat &root = rootFormat(img->root);
    uint64_t rootBytes = 0;
    llvm::sys::fs::file_size(*output + "/" + root.file, rootBytes);
    std::string rootText =
        root.block() ? llvm::formatv("root {0} {1} KiB on virtio-blk ({2})", root.name, rootBytes / 1024, img->rootWhy).str()
                     : llvm::formatv("initramfs {0} KiB gzip ({1} KiB cpio; {2})", img->initramfsGz.size() / 1024,
                                     img->initramfsBytes / 1024, img->rootWhy).str();
    llvm::errs() << llvm::formatv("bespoke: {0}: {1} options required ({2}{8}), bzImage {3} KiB ({4}), {5}, "
                                  "{6:f1} s -> {7}\n",
                                  img->appName, img->config.required.size(),
                                  img->config.network ? "network" : "no network", kernelBytes / 1024,
                                  img->kernel.cacheHit ? "cached" : llvm::formatv("built in {0:f0} s", img->kernel.seconds).str(),
                                  rootText, img->totalSeconds, *output, extras);
  }
  return ExitOk;
}

int runBoot(const ParsedArgs &args) {
  BootRequest req;
  std::optional<std::string> dir = args.get("dir"), mem = args.get("mem"), timeout = args.get("timeout");
  bool quiet = args.has("quiet");
  for (const std::string &spec : args.all("forward")) req.forwards.push_back(*parseForward(spec));
  req.direct = args.has("direct");
  req.probeSyscalls = args.has("probe-syscalls");
  if (!dir) return usageError("boot", "missing DIR");
  req.dir = *dir;
  if (mem) req.mem = *mem;
  if (timeout) llvm::StringRef(*timeout).getAsDouble(req.timeoutSeconds);
  auto r = bootImage(req, llvm::outs());
  llvm::outs().flush();
  if (!r) return inputError(r.takeError());
  if (llvm::Error e = writeOutput(req.dir + "/boot.json", bootJson(req, *r))) {
    fprintf(stderr, "bespoke boot: note: cannot write %s/boot.json: %s\n", req.dir.c_str(),
            llvm::toString(std::move(e)).c_str());
  }
  if (!quiet) {
    auto s = [](double v) { return v < 0 ? std::string("-") : llvm::formatv("{0:f3} s", v).str(); };
    std::string stopped = r->stoppedBySignal ? ", stopped: QEMU ended on signal " + std::to_string(r->stoppedBySignal) : "";
    fprintf(stderr, "bespoke boot: exit %d (%s, %s%s); init at %s guest uptime, %s host; first app output %s; total %s\n",
            r->exitCode, r->machine.c_str(), r->accel.c_str(), stopped.c_str(), s(r->guestInitSeconds).c_str(), s(r->hostInitSeconds).c_str(),
            s(r->hostFirstOutputSeconds).c_str(), s(r->wallSeconds).c_str());
    if (r->probe.probed)
      fprintf(stderr, "bespoke boot: %d syscalls implemented of %d probed (%zu ENOSYS), probe %s in the guest\n",
              r->probe.implemented, r->probe.total, r->probe.enosys.size(), s(r->probe.seconds).c_str());
  }
  return r->exitCode;
}

} // namespace

Command rewriteCommand() {
  return {"rewrite", "build a trimmed unikernel image for an application",
          {"usage: bespoke rewrite MANIFEST --binary APP -o DIR [options] [-- ARGS...]\n",
           "Builds a trimmed Linux 6.1 unikernel image for APP (an x86-64 program; a dynamic one brings its\n"
           "shared-library closure and loader, found as ld.so finds them here): a kernel config from\n"
           "the documented base (images/base.config, images/net.config when the app uses sockets) and the\n"
           "Kconfig options MANIFEST's footprint needs, resolved by the kernel's own Kconfig (allnoconfig with\n"
           "tinyconfig's fragments; every required option must survive), a bzImage (cached by the config's SHA-256; a cold\n"
           "build takes minutes and prints progress), and a root file system with bespoke-init, APP as /app/NAME,\n"
           "its arguments ARGS and everything APP loads, executes and reads: an initramfs (DIR/initramfs.cpio.gz;\n"
           "the default for a static APP) or a read-only EROFS image on virtio-blk (DIR/root.erofs, file pages read on\n"
           "demand; the default for a dynamic APP). Writes DIR/bzImage, the root, DIR/kernel.config and DIR/image.json\n"
           "(options and why, sizes, build time, cache hit, the config proof) atomically. Before any build, Z3 proves\n"
           "the resolved .config against the tree's Kconfig files and every required option on (else exit 2).\n",
           "exit status: 0 image written, 1 --seccomp's filter was not proven (nothing written), 2 bad input\n"
           "(missing binary, manifest, library or --add file, missing kernel source, a syscall or option no\n"
           "config provides, failed kernel build: nothing written)\n"},
          {operand("manifest", "MANIFEST")
               .tool({"manifest", "Path of the application's manifest.", true, McpPath::Operand}),
           value("binary", {"--binary"}, "APP", "a file name", "the program the image runs (required)")
               .tool({"binary", "Path of the application (an x86-64 ELF, static or dynamic).", true, McpPath::Operand}),
           value("output", {"-o", "--output"}, "DIR", "a directory",
                 "the image directory (required; replaced when it holds an earlier image)")
               .tool({"output", "Directory to write the image to (replaced only if it holds an earlier image).", true,
                      McpPath::Operand}),
           value("cache-dir", {"--cache-dir"}, "DIR", "a directory",
                 "unpacked kernel source, resolved configs and kernel builds (default:\n"
                 "$BESPOKE_CACHE_DIR, $XDG_CACHE_HOME/bespoke or ~/.cache/bespoke)")
               .tool({"cache_dir", "Where kernel sources, configs and builds are cached (default: bespoke's cache).",
                      false, McpPath::Operand}),
           value("kernel-source", {"--kernel-source"}, "DIR", "a directory",
                 "an unpacked linux-source-6.1 tree to use instead of CACHE/linux-source-6.1"),
           value("kernel-tarball", {"--kernel-tarball"}, "FILE", "a file name",
                 "the source tarball to unpack (default /usr/src/linux-source-6.1.tar.xz, from the\n"
                 "Debian package linux-source-6.1)"),
           flag("seccomp", {"--seccomp"},
                "install the app's seccomp filter (compiled from MANIFEST, default action\n"
                "kill-process, plus execve for init's exec of the app, proven equivalent by\n"
                "Z3) in the app's process right before its exec; adds SECCOMP, SECCOMP_FILTER\n"
                "(and so NET) to the kernel")
               .tool({"seccomp",
                      "Install the application's seccomp filter (from the manifest, proven by Z3) right before it "
                      "starts."}),
           noArgsOption(true), clone3EnosysOption(true),
           value("add", {"--add"}, "FILE[:GUEST]", "FILE[:GUEST]",
                 "put FILE in the image at the absolute path GUEST (default /data/NAME);\n"
                 "repeatable (scripts, data, config files the app reads)")
               .repeat()
               .check(checkAdd)
               .tool({"add", "Extra files for the image, each FILE or FILE:GUEST_PATH (default /data/NAME)."}),
           value("root", {"--root"}, "KIND", "initramfs or erofs",
                 "how the root reaches the guest: initramfs (unpacked into RAM) or erofs (a\n"
                 "read-only disk, demand-paged, with a tmpfs overlay for writes; needs mkfs.erofs).\n"
                 "Default: initramfs for a static APP, erofs for a dynamic one")
               .check(checkRoot)
               .tool({"root", "Root file system: initramfs or erofs (default: initramfs for static apps, erofs for "
                              "dynamic ones)."}),
           value("machine", {"--machine"}, "KIND", "pc or microvm",
                 "the QEMU machine the image boots on: pc (PCI; virtio-*-pci devices) or microvm\n"
                 "(no PCI, no ACPI; virtio-mmio devices). The kernel gets the machine's virtio\n"
                 "transport only when the image has a disk root or a NIC. Default: microvm\n"
                 "(it boots faster)")
               .check(checkMachine)
               .tool({"machine", "QEMU machine type: pc or microvm (default: microvm, which boots faster)."}),
           value("max-root-size", {"--max-root-size"}, "SIZE", "a size",
                 "refuse a block root image larger than SIZE (default 4G)")
               .check(checkSize),
           value("jobs", {"--jobs", "-j"}, "N", "a number", "kernel build jobs (default: one per core)").check(checkJobs),
           quietOption("no summary on standard error"),
           rest("args").tool({"args", "The application's arguments inside the image."})},
          runRewrite};
}

Command bootCommand() {
  return {"boot", "boot a rewritten image under QEMU",
          {"usage: bespoke boot DIR [--mem 64M] [--forward [HOSTADDR:]HOSTPORT:GUESTPORT ...] [options]\n",
           "Boots the image in DIR (from bespoke rewrite) with qemu-system-x86_64 on the machine it was made for\n"
           "(image.json's machine: pc or microvm; KVM when /dev/kvm is usable, else TCG), streams the guest's\n"
           "serial console to standard output and exits with the app's\n"
           "exit status (128+N when signal N ended it). Boot times (guest uptime at init, host wall time to init\n"
           "and to the app's first output line) go to standard error and DIR/boot.json.\n"
           "A server stopped from outside (SIGTERM or SIGINT to its QEMU) ends the boot with 128+N, the times\n"
           "kept and boot.json's stopped_by_signal N.\n"
           "With --probe-syscalls, bespoke-init first calls every syscall number 0..511 (all-zero arguments, each in\n"
           "a throwaway child) and reports the ones that return ENOSYS; boot.json's syscall_probe lists them and the\n"
           "names of the implemented ones (the app starts a few seconds later under TCG).\n",
           "exit status: the app's; 2 bad input (not an image, QEMU missing, timeout, no exit reported, no or a\n"
           "malformed probe report with --probe-syscalls)\n"},
          {operand("dir", "DIR"),
           value("mem", {"--mem", "-m"}, "SIZE", "a size", "guest memory (QEMU -m; default 64M)").check(checkMem),
           value("forward", {"--forward"}, "SPEC", "[HOSTADDR:]HOSTPORT:GUESTPORT",
                 "forward host TCP HOSTADDR:HOSTPORT (default address 127.0.0.1) to the app's\n"
                 "GUESTPORT, through bespoke-init's relay to 127.0.0.1:GUESTPORT in the guest\n"
                 "(so servers bound to loopback are reachable); repeatable")
               .repeat()
               .check(checkForward),
           flag("direct", {"--direct"}, "forward to the guest's address 10.0.2.15:GUESTPORT instead (no relay)"),
           flag("probe-syscalls", {"--probe-syscalls"},
                "probe which syscalls the booted kernel implements before the app starts"),
           value("timeout", {"--timeout"}, "S", "seconds", "kill QEMU and fail after S seconds (default 600; 0: none)")
               .check(checkTimeout),
           quietOption("no boot-time summary on standard error")},
          runBoot};
}

} // namespace bespoke::cli
