// Image: the images/ stage entry point. From a manifest's footprint and the app binary it composes the
// kernel config, resolves it with Kconfig, builds (or finds) the bzImage, and packs the initramfs (init,
// the app, init's configuration); writeImage() puts the result in a directory that `bespoke boot` and
// `bespoke decide --image` read: bzImage, initramfs.cpio.gz, kernel.config, image.json.
#pragma once

#include "analyzer/Footprint.h"
#include "images/Contents.h"
#include "images/Initramfs.h"
#include "images/KernelBuild.h"
#include "images/KernelConfig.h"
#include "images/Machine.h"
#include "images/RootImage.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace bespoke {

struct ImageRequest {
  std::string manifestPath;       // labels only
  Footprint footprint;            // what the kernel must provide
  std::string binary;             // the app (x86-64 ELF; a dynamic one brings its library closure and loader)
  std::vector<std::string> args;  // the app's arguments (after its name)
  // Extra files for the image (--add HOST[:GUEST]): host path -> absolute guest path.
  std::vector<std::pair<std::string, std::string>> files;
  // --seccomp: the app's filter, compiled and proven by the caller (extension-gen + verify), as raw
  // sock_filter bytes; bespoke-init installs it in the app's process right before its execve.
  struct Seccomp {
    std::string bpf;                 // empty: no filter
    size_t allowedSyscalls = 0;
    std::vector<std::string> added;  // syscalls the image adds to the manifest's policy, with why
    double proofSeconds = 0;
  } seccomp;
  std::string cacheDir;           // CACHE: linux-source-6.1/, kconfig/, kernels/
  std::string kernelSource;       // an unpacked tree to use instead of CACHE/linux-source-6.1
  std::string tarball = DefaultKernelTarball;
  unsigned jobs = 0;              // kernel build jobs (0: one per core)
  // How the root reaches the guest (--root); nullopt: the default, an initramfs for a static app and
  // an EROFS image on virtio-blk for a dynamic one (images/README.md: measured).
  std::optional<RootKind> root;
  uint64_t maxRootBytes = uint64_t(4) << 30; // --max-root-size: a block root image larger than this is an error
  // The QEMU machine the image boots on (--machine); nullopt: DefaultMachine.
  std::optional<MachineKind> machine;
};

struct Image {
  std::string appName;            // the binary's file name; it runs as /app/NAME
  std::vector<std::string> args;
  std::string interpreter;        // PT_INTERP of a dynamic app (empty: static)
  // The dynamic app's libraries: guest path -> host file (the loader's search result on this machine).
  std::vector<std::pair<std::string, std::string>> libraries;
  std::vector<ListedFile> files;  // every other file and link of the image but bespoke's own, with why
  Accounts accounts;              // /etc/passwd and /etc/group
  std::vector<std::string> warnings, notCarried, skipped; // see Contents
  ImageRequest::Seccomp seccomp;
  std::vector<std::string> minimality; // groups of options the minimality loop turned off
  bool manifestMatchesBinary = true; // the manifest's app.sha256 is the binary's
  KernelConfig config;
  ConfigProofSummary configProof; // the Z3 proof of config.resolved (it held, or there is no Image)
  KernelBuild kernel;
  std::string initConf;           // /bespoke/init.conf
  RootKind root = RootKind::Initramfs;
  std::string rootWhy;            // "--root erofs", "default for a dynamic app", ...
  MachineKind machine = DefaultMachine;
  std::string machineWhy;         // "--machine pc", or the default's measured reason
  // RootKind::Initramfs: the archive, written as initramfs.cpio.gz.
  std::string initramfsGz;        // initramfs.cpio.gz
  size_t initramfsBytes = 0;      // uncompressed cpio size
  // A block root: the tree writeImage turns into the file system image (rootFormat(root).file).
  Initramfs rootFiles;
  uint64_t maxRootBytes = 0;
  double configSeconds = 0, totalSeconds = 0;
};

// bespoke-init's configuration for this config and app (see images/init/bespoke-init.c).
// `seccompPath`: the filter's file in the image, or empty.
// `overlayRoot`: the root is a read-only block device; init first lays a tmpfs-backed overlay over it.
std::string renderInitConf(const KernelConfig &config, const std::string &appPath, const std::vector<std::string> &args,
                           const std::string &seccompPath = "", bool overlayRoot = false);

// The root's fragment (reasons "root: ..."), the entropy source's ("entropy: ...", when config.entropy says
// why), then the machine's ("machine: ...") when the image has a virtio device (config.network, a block root
// or the entropy source); an image without one gets the same kernel on every machine.
llvm::Error addDeviceFragments(KernelConfig &config, RootKind root, MachineKind machine);

// Why the image needs an entropy source, or "" when it does not: the footprint's getrandom syscall or its
// /dev/random path, both of which wait until the kernel's random pool is initialised.
std::string entropyReason(const Footprint &footprint);

// The embedded static init program (images/init/bespoke-init.c, built with musl-gcc).
llvm::StringRef initBinary();

llvm::Expected<Image> buildImage(const ImageRequest &req, llvm::raw_ostream &progress);

// Writes DIR/{bzImage,initramfs.cpio.gz or the block root's image,kernel.config,image.json} through a temporary directory beside
// DIR renamed into place; an existing DIR is replaced only when it holds an earlier image.
llvm::Error writeImage(const Image &img, const std::string &dir);

} // namespace bespoke
