// bespoke rewrite / bespoke boot: flag parsing and wiring of the images/ stage.
#include "cli/Images.h"

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

#include <algorithm>
#include <cstdio>
#include <optional>

namespace bespoke::cli {

const char *const RewriteUsage =
    "usage: bespoke rewrite MANIFEST --binary APP -o DIR [options] [-- ARGS...]\n"
    "\n"
    "Builds a trimmed Linux 6.1 unikernel image for APP (an x86-64 program; a dynamic one brings its\n"
    "shared-library closure and loader, found as ld.so finds them here): a kernel config from\n"
    "the documented base (images/base.config, images/net.config when the app uses sockets) and the\n"
    "Kconfig options MANIFEST's footprint needs, resolved by the kernel's own Kconfig (allnoconfig with\n"
    "tinyconfig's fragments; every required option must survive), a bzImage (cached by the config's SHA-256; a cold\n"
    "build takes minutes and prints progress), and an initramfs with bespoke-init, APP as /app/NAME and\n"
    "its arguments ARGS. Writes DIR/bzImage, DIR/initramfs.cpio.gz, DIR/kernel.config and DIR/image.json\n"
    "(options and why, sizes, build time, cache hit, the config proof) atomically. Before any build, Z3 proves\n"
    "the resolved .config against the tree's Kconfig files and every required option on (else exit 2).\n"
    "\n"
    "options:\n"
    "  --binary APP          the program the image runs (required)\n"
    "  -o, --output DIR      the image directory (required; replaced when it holds an earlier image)\n"
    "  --cache-dir DIR       unpacked kernel source, resolved configs and kernel builds (default:\n"
    "                        $BESPOKE_CACHE_DIR, $XDG_CACHE_HOME/bespoke or ~/.cache/bespoke)\n"
    "  --kernel-source DIR   an unpacked linux-source-6.1 tree to use instead of CACHE/linux-source-6.1\n"
    "  --kernel-tarball FILE the source tarball to unpack (default /usr/src/linux-source-6.1.tar.xz, from the\n"
    "                        Debian package linux-source-6.1)\n"
    "  --add FILE[:GUEST]    put FILE in the image at the absolute path GUEST (default /data/NAME);\n"
    "                        repeatable (scripts, data, config files the app reads)\n"
    "  --seccomp             install the app's seccomp filter (compiled from MANIFEST, default action\n"
    "                        kill-process, plus execve for init's exec of the app, proven equivalent by\n"
    "                        Z3) in the app's process right before its exec; adds SECCOMP, SECCOMP_FILTER\n"
    "                        (and so NET) to the kernel\n"
    "  -j, --jobs N          kernel build jobs (default: one per core)\n"
    "  -q, --quiet           no summary on standard error\n"
    "  -h, --help            show this help\n"
    "\n"
    "exit status: 0 image written, 1 --seccomp's filter was not proven (nothing written), 2 bad input\n"
    "(missing binary, manifest, library or --add file, missing kernel source, a syscall or option no\n"
    "config provides, failed kernel build: nothing written)\n";

const char *const BootUsage =
    "usage: bespoke boot DIR [--mem 64M] [--forward [HOSTADDR:]HOSTPORT:GUESTPORT ...] [options]\n"
    "\n"
    "Boots the image in DIR (from bespoke rewrite) with qemu-system-x86_64 -M pc (KVM when /dev/kvm is\n"
    "usable, else TCG), streams the guest's serial console to standard output and exits with the app's\n"
    "exit status (128+N when signal N ended it). Boot times (guest uptime at init, host wall time to init\n"
    "and to the app's first output line) go to standard error and DIR/boot.json.\n"
    "With --probe-syscalls, bespoke-init first calls every syscall number 0..511 (all-zero arguments, each in\n"
    "a throwaway child) and reports the ones that return ENOSYS; boot.json's syscall_probe lists them and the\n"
    "names of the implemented ones (the app starts a few seconds later under TCG).\n"
    "\n"
    "options:\n"
    "  -m, --mem SIZE        guest memory (QEMU -m; default 64M)\n"
    "  --forward SPEC        forward host TCP HOSTADDR:HOSTPORT (default address 127.0.0.1) to the app's\n"
    "                        GUESTPORT, through bespoke-init's relay to 127.0.0.1:GUESTPORT in the guest\n"
    "                        (so servers bound to loopback are reachable); repeatable\n"
    "  --direct              forward to the guest's address 10.0.2.15:GUESTPORT instead (no relay)\n"
    "  --probe-syscalls      probe which syscalls the booted kernel implements before the app starts\n"
    "  --timeout S           kill QEMU and fail after S seconds (default 600; 0: none)\n"
    "  -q, --quiet           no boot-time summary on standard error\n"
    "  -h, --help            show this help\n"
    "\n"
    "exit status: the app's; 2 bad input (not an image, QEMU missing, timeout, no exit reported, no or a\n"
    "malformed probe report with --probe-syscalls)\n";

namespace {

llvm::Error inputErr(const std::string &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

} // namespace

int runRewrite(const std::vector<std::string> &args) {
  std::optional<std::string> manifest, binary, output, cacheDir, kernelSource, tarball, jobs;
  std::vector<std::string> appArgs;
  std::vector<std::pair<std::string, std::string>> files;
  bool quiet = false, seccomp = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--") { appArgs.assign(args.begin() + i + 1, args.end()); break; }
    if (a == "-h" || a == "--help") { fputs(RewriteUsage, stdout); return ExitOk; }
    else if (a == "--add") {
      std::optional<std::string> spec;
      if (!takeValue(args, i, spec)) return usageError("rewrite", "--add needs FILE[:GUEST]");
      size_t colon = spec->find(':');
      std::string host = spec->substr(0, colon);
      std::string guest = colon == std::string::npos ? "/data/" + llvm::sys::path::filename(host).str() : spec->substr(colon + 1);
      if (host.empty()) return usageError("rewrite", "--add needs FILE[:GUEST], not '" + *spec + "'");
      files.push_back({host, guest});
    }
    else if (a == "--seccomp") seccomp = true;
    else if (a == "--binary") { if (!takeValue(args, i, binary)) return usageError("rewrite", "--binary needs a file name"); }
    else if (a == "-o" || a == "--output") { if (!takeValue(args, i, output)) return usageError("rewrite", a + " needs a directory"); }
    else if (a == "--cache-dir") { if (!takeValue(args, i, cacheDir)) return usageError("rewrite", "--cache-dir needs a directory"); }
    else if (a == "--kernel-source") { if (!takeValue(args, i, kernelSource)) return usageError("rewrite", "--kernel-source needs a directory"); }
    else if (a == "--kernel-tarball") { if (!takeValue(args, i, tarball)) return usageError("rewrite", "--kernel-tarball needs a file name"); }
    else if (a == "-j" || a == "--jobs") { if (!takeValue(args, i, jobs)) return usageError("rewrite", a + " needs a number"); }
    else if (a == "-q" || a == "--quiet") quiet = true;
    else if (a.size() > 1 && a[0] == '-') return usageError("rewrite", "unknown option '" + a + "'");
    else if (manifest) return usageError("rewrite", "more than one MANIFEST given ('" + *manifest + "' and '" + a + "')");
    else manifest = a;
  }
  if (!manifest) return usageError("rewrite", "missing MANIFEST");
  if (!binary) return usageError("rewrite", "missing --binary APP");
  if (!output) return usageError("rewrite", "missing -o DIR");
  ImageRequest req;
  if (jobs && (llvm::StringRef(*jobs).getAsInteger(10, req.jobs) || req.jobs == 0))
    return usageError("rewrite", "--jobs needs a positive number, not '" + *jobs + "'");
  if (!llvm::sys::fs::exists(*binary)) return inputError(inputErr(*binary + ": no such file (--binary)"));
  auto m = loadManifest(*manifest);
  if (!m) return inputError(m.takeError());
  req.manifestPath = *manifest;
  if (seccomp) {
    // The manifest's policy plus the one call the app's process makes before the app runs: init's execve.
    auto policy = policyFromManifest(*m, Action{Action::KillProcess, 0});
    if (!policy) return inputError(inputErr(*manifest + ": " + llvm::toString(policy.takeError())));
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
  req.files = std::move(files);
  req.binary = *binary;
  req.args = appArgs;
  req.cacheDir = cacheDir.value_or(ModelCache::defaultDirectory());
  if (kernelSource) req.kernelSource = *kernelSource;
  if (tarball) req.tarball = *tarball;
  llvm::raw_ostream &progress = quiet ? llvm::nulls() : llvm::errs();
  auto img = buildImage(req, progress);
  if (!img) return inputError(img.takeError());
  if (llvm::Error e = writeImage(*img, *output)) return inputError(std::move(e));
  if (!quiet) {
    uint64_t kernelBytes = 0;
    llvm::sys::fs::file_size(img->kernel.bzImage, kernelBytes);
    std::string extras;
    if (!img->libraries.empty()) extras += llvm::formatv(", {0} libraries", img->libraries.size()).str();
    if (!img->seccomp.bpf.empty())
      extras += llvm::formatv(", seccomp filter {0} instructions (proven)", img->seccomp.bpf.size() / 8).str();
    llvm::errs() << llvm::formatv("bespoke: {0}: {1} options required ({2}{9}), bzImage {3} KiB ({4}), initramfs "
                                  "{5} KiB gzip ({6} KiB cpio), {7:f1} s -> {8}\n",
                                  img->appName, img->config.required.size(),
                                  img->config.network ? "network" : "no network", kernelBytes / 1024,
                                  img->kernel.cacheHit ? "cached" : llvm::formatv("built in {0:f0} s", img->kernel.seconds).str(),
                                  img->initramfsGz.size() / 1024, img->initramfsBytes / 1024, img->totalSeconds, *output,
                                  extras);
  }
  return ExitOk;
}

int runBoot(const std::vector<std::string> &args) {
  BootRequest req;
  std::optional<std::string> dir, mem, timeout, forward;
  bool quiet = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "-h" || a == "--help") { fputs(BootUsage, stdout); return ExitOk; }
    else if (a == "-m" || a == "--mem") { if (!takeValue(args, i, mem)) return usageError("boot", a + " needs a size"); }
    else if (a == "--timeout") { if (!takeValue(args, i, timeout)) return usageError("boot", "--timeout needs seconds"); }
    else if (a == "--forward") {
      if (!takeValue(args, i, forward)) return usageError("boot", "--forward needs [HOSTADDR:]HOSTPORT:GUESTPORT");
      auto f = parseForward(*forward);
      if (!f) return usageError("boot", llvm::toString(f.takeError()));
      req.forwards.push_back(*f);
    }
    else if (a == "--direct") req.direct = true;
    else if (a == "--probe-syscalls") req.probeSyscalls = true;
    else if (a == "-q" || a == "--quiet") quiet = true;
    else if (a.size() > 1 && a[0] == '-') return usageError("boot", "unknown option '" + a + "'");
    else if (dir) return usageError("boot", "more than one DIR given ('" + *dir + "' and '" + a + "')");
    else dir = a;
  }
  if (!dir) return usageError("boot", "missing DIR");
  req.dir = *dir;
  if (mem) {
    if (mem->empty() || !isdigit((unsigned char)(*mem)[0])) return usageError("boot", "--mem needs a size like 64M");
    req.mem = *mem;
  }
  if (timeout && (llvm::StringRef(*timeout).getAsDouble(req.timeoutSeconds) || req.timeoutSeconds < 0))
    return usageError("boot", "--timeout needs a number of seconds, not '" + *timeout + "'");
  auto r = bootImage(req, llvm::outs());
  llvm::outs().flush();
  if (!r) return inputError(r.takeError());
  if (llvm::Error e = writeOutput(req.dir + "/boot.json", bootJson(req, *r))) {
    fprintf(stderr, "bespoke boot: note: cannot write %s/boot.json: %s\n", req.dir.c_str(),
            llvm::toString(std::move(e)).c_str());
  }
  if (!quiet) {
    auto s = [](double v) { return v < 0 ? std::string("-") : llvm::formatv("{0:f3} s", v).str(); };
    fprintf(stderr, "bespoke boot: exit %d (%s); init at %s guest uptime, %s host; first app output %s; total %s\n",
            r->exitCode, r->accel.c_str(), s(r->guestInitSeconds).c_str(), s(r->hostInitSeconds).c_str(),
            s(r->hostFirstOutputSeconds).c_str(), s(r->wallSeconds).c_str());
    if (r->probe.probed)
      fprintf(stderr, "bespoke boot: %d syscalls implemented of %d probed (%zu ENOSYS), probe %s in the guest\n",
              r->probe.implemented, r->probe.total, r->probe.enosys.size(), s(r->probe.seconds).c_str());
  }
  return r->exitCode;
}

} // namespace bespoke::cli
