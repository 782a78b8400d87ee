// Unpacking the kernel source once: tar into a temporary directory beside the destination, stamp, rename.
#include "images/KernelSource.h"

#include "support/Process.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <sys/stat.h>
#include <unistd.h>

namespace bespoke {

namespace {

constexpr const char *Stamp = ".bespoke-unpacked";

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

// The stamp's lines as (first line, package version).
std::pair<std::string, std::string> readStamp(const std::string &dir) {
  auto buf = llvm::MemoryBuffer::getFile(dir + "/" + Stamp);
  if (!buf) return {};
  llvm::SmallVector<llvm::StringRef> lines;
  (*buf)->getBuffer().split(lines, '\n', -1, false);
  std::pair<std::string, std::string> r;
  if (!lines.empty()) r.first = lines[0].trim().str();
  for (llvm::StringRef l : lines)
    if (l.consume_front("package-version ")) r.second = l.trim().str();
  return r;
}

std::string tarballIdentity(const std::string &tarball) {
  struct stat st;
  if (stat(tarball.c_str(), &st) != 0) return "";
  return "tarball " + llvm::sys::path::filename(tarball).str() + " " + std::to_string((long long)st.st_size) + " " +
         std::to_string((long long)st.st_mtime);
}

std::string installedVersion() {
  // dpkg's status file is the source of truth; no need to spawn dpkg-query for one field.
  auto buf = llvm::MemoryBuffer::getFile("/var/lib/dpkg/status");
  if (!buf) return "unknown";
  llvm::StringRef text = (*buf)->getBuffer();
  size_t at = text.find(std::string("Package: ") + KernelSourcePackage + "\n");
  if (at == llvm::StringRef::npos) return "unknown";
  llvm::StringRef para = text.substr(at, text.find("\n\n", at) - at);
  size_t v = para.find("\nVersion: ");
  if (v == llvm::StringRef::npos) return "unknown";
  return para.substr(v + 10).split('\n').first.trim().str();
}

KernelSource fromTree(const std::string &dir, const std::string &identity) {
  auto [first, version] = readStamp(dir);
  return {dir, version.empty() || version == "unknown" ? (first.empty() ? identity : first) : version};
}

} // namespace

llvm::Expected<KernelSource> existingKernelSource(const std::string &dir) {
  if (!llvm::sys::fs::exists(dir + "/Makefile") || !llvm::sys::fs::exists(dir + "/arch/x86/Kconfig"))
    return err(dir + ": not a Linux source tree (no Makefile or arch/x86/Kconfig)");
  std::string real = dir;
  llvm::SmallString<256> abs;
  if (!llvm::sys::fs::real_path(dir, abs)) real = abs.str().str();
  return fromTree(real, "tree " + real);
}

llvm::Expected<KernelSource> prepareKernelSource(const std::string &cacheDir, llvm::raw_ostream &progress,
                                                 const std::string &tarball) {
  if (cacheDir.empty()) return err("no cache directory for the kernel source (set --cache-dir or HOME)");
  std::string dest = cacheDir + "/linux-source-6.1";
  std::string ident = tarballIdentity(tarball);
  auto [stamped, version] = readStamp(dest);
  if (ident.empty()) {
    if (!stamped.empty()) return fromTree(dest, stamped);
    return err(tarball + ": kernel source tarball not found (install the Debian package " + KernelSourcePackage +
               ": apt-get install " + KernelSourcePackage + ", or run scripts/bootstrap)");
  }
  if (stamped == ident) return fromTree(dest, ident);

  if (std::error_code ec = llvm::sys::fs::create_directories(cacheDir))
    return err(cacheDir + ": " + ec.message());
  progress << "bespoke: unpacking " << tarball << " into " << dest << " (once; about a minute)\n";
  progress.flush();
  llvm::SmallString<256> tmp;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(cacheDir + "/.linux-source-6.1", tmp))
    return err(cacheDir + ": " + ec.message());
  std::string tmpDir = tmp.str().str();
  auto cleanup = [&] { llvm::sys::fs::remove_directories(tmpDir); };
  auto r = runProcess({"tar", "-xJf", tarball, "-C", tmpDir}, tmpDir + ".log");
  if (!r) { cleanup(); return r.takeError(); }
  if (r->exitCode != 0) {
    cleanup();
    return err(tarball + ": tar failed (exit " + llvm::Twine(r->exitCode) + "; log " + tmpDir + ".log)");
  }
  llvm::sys::fs::remove(tmpDir + ".log");
  std::string tree = tmpDir + "/linux-source-6.1";
  if (!llvm::sys::fs::is_directory(tree)) {
    cleanup();
    return err(tarball + ": expected one top directory linux-source-6.1");
  }
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tree + "/" + Stamp, ec);
    if (ec) { cleanup(); return err(tree + ": " + ec.message()); }
    os << ident << "\npackage-version " << installedVersion() << "\n";
  }
  if (llvm::sys::fs::exists(dest)) {
    std::string old = dest + ".old." + std::to_string(getpid());
    if (std::error_code ec = llvm::sys::fs::rename(dest, old)) { cleanup(); return err(dest + ": " + ec.message()); }
    llvm::sys::fs::remove_directories(old);
  }
  if (std::error_code ec = llvm::sys::fs::rename(tree, dest)) { cleanup(); return err(dest + ": " + ec.message()); }
  cleanup();
  return fromTree(dest, ident);
}

} // namespace bespoke
