// Cached out-of-tree kernel builds with progress from the build log.
#include "images/KernelBuild.h"

#include "images/KernelConfig.h"
#include "support/Process.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

// The last kbuild step ("CC kernel/fork.o") in the log's tail.
std::string lastStep(const std::string &log) {
  int fd = open(log.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > 4096 ? size - 4096 : 0;
  std::string buf(size - from, '\0');
  ssize_t n = pread(fd, buf.data(), buf.size(), from);
  close(fd);
  if (n <= 0) return "";
  buf.resize(n);
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(buf).split(lines, '\n', -1, false);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    llvm::StringRef l = *it;
    if (!l.starts_with("  ")) continue;
    auto [verb, target] = l.trim().split(' ');
    if (verb.empty() || !llvm::all_of(verb, [](char c) { return (c >= 'A' && c <= 'Z') || c == '-'; })) continue;
    llvm::StringRef t = target.trim();
    if (size_t obj = t.find("/obj/"); obj != llvm::StringRef::npos) t = t.substr(obj + 5); // objtool's full paths
    return (verb + " " + t).str();
  }
  return "";
}

} // namespace

std::string kernelBuildKey(const KernelSource &src, llvm::StringRef config) {
  return sha256Hex("bespoke kernel v1\nARCH=x86_64 bzImage\nsource " + src.version + "\n" + config.str());
}

llvm::Expected<KernelBuild> buildKernel(const KernelSource &src, llvm::StringRef config, const std::string &cacheDir,
                                        unsigned jobs, llvm::raw_ostream &progress) {
  KernelBuild b;
  b.key = kernelBuildKey(src, config);
  std::string dir = cacheDir + "/kernels/" + b.key;
  b.bzImage = dir + "/bzImage";
  b.log = dir + "/build.log";
  if (llvm::sys::fs::exists(b.bzImage)) {
    b.cacheHit = true;
    return b;
  }
  if (std::error_code ec = llvm::sys::fs::create_directories(dir + "/obj")) return err(dir + ": " + ec.message());
  // One builder per key; a second rewrite of the same config waits and then hits the cache.
  int lockFd = open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lockFd < 0) return err(dir + "/lock: cannot open");
  struct Unlock {
    int fd;
    ~Unlock() { close(fd); }
  } unlock{lockFd};
  flock(lockFd, LOCK_EX);
  if (llvm::sys::fs::exists(b.bzImage)) {
    b.cacheHit = true;
    return b;
  }
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(dir + "/obj/.config", ec);
    if (ec) return err(dir + "/obj/.config: " + ec.message());
    os << config;
  }
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  llvm::sys::fs::remove(b.log);
  progress << "bespoke: building the kernel (" << jobs << " jobs; log " << b.log << ")\n";
  progress.flush();
  auto r = runProcess({"make", "-C", src.dir, "O=" + dir + "/obj", "ARCH=x86_64", "-j" + std::to_string(jobs), "bzImage"},
                      b.log, std::chrono::seconds(10), [&](double elapsed) {
                        progress << llvm::formatv("bespoke: building the kernel: {0}m{1:02}s {2}\n", int(elapsed) / 60,
                                                  int(elapsed) % 60, lastStep(b.log));
                        progress.flush();
                      });
  if (!r) return r.takeError();
  if (r->exitCode != 0)
    return err("kernel build failed (make exit " + llvm::Twine(r->exitCode) + "); see " + b.log);
  std::string built = dir + "/obj/arch/x86/boot/bzImage";
  if (std::error_code ec = llvm::sys::fs::copy_file(built, b.bzImage + ".tmp"))
    return err(built + ": " + ec.message() + " (see " + b.log + ")");
  if (std::error_code ec = llvm::sys::fs::rename(b.bzImage + ".tmp", b.bzImage)) return err(b.bzImage + ": " + ec.message());
  b.seconds = r->seconds;
  progress << llvm::formatv("bespoke: kernel built in {0:f1} s\n", b.seconds);
  progress.flush();
  return b;
}

} // namespace bespoke
