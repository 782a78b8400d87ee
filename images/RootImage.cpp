// Root file systems for images: the format table, the tool lookup and the block image writer.
#include "images/RootImage.h"

#include "support/Process.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

const RootFormat Formats[] = {
    {RootKind::Initramfs, "initramfs", "initramfs.cpio.gz", "", "", ""},
    {RootKind::Erofs, "erofs", "root.erofs", "erofs", "mkfs.erofs", "erofs-utils"},
};

// The tool's command line: fixed UUID and timestamps, every file root's, no xattrs from the staging
// directory, so the same tree gives the same bytes.
std::vector<std::string> toolCommand(RootKind kind, const std::string &tool, const std::string &out,
                                     const std::string &dir) {
  switch (kind) {
  case RootKind::Erofs:
    return {tool, "--quiet", "-T0", "-U", "6265736b-6500-4000-8000-726f6f746673", "--all-root", "-x", "-1", out, dir};
  case RootKind::Initramfs:
    break;
  }
  return {};
}

// The entries as files under `dir` (map order puts parents first).
llvm::Error stage(const Initramfs &fs, const std::string &dir) {
  for (const auto &[path, e] : fs.entries) {
    std::string p = dir + "/" + path;
    switch (e.kind) {
    case InitramfsEntry::Directory:
      if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return err(p + ": " + strerror(errno));
      break;
    case InitramfsEntry::File:
      if (llvm::Error e2 = writeFileBytes(p, e.data)) return e2;
      break;
    case InitramfsEntry::Symlink:
      if (symlink(e.data.c_str(), p.c_str()) != 0) return err(p + ": " + strerror(errno));
      continue; // a link has no mode of its own
    case InitramfsEntry::CharDevice:
      if (mknod(p.c_str(), S_IFCHR | (e.mode & 07777), makedev(e.devMajor, e.devMinor)) != 0)
        return err(p + ": device node: " + strerror(errno));
      break;
    }
    if (chmod(p.c_str(), e.mode & 07777) != 0) return err(p + ": " + strerror(errno));
  }
  return llvm::Error::success();
}

std::string lastLine(llvm::StringRef text) {
  text = text.rtrim();
  size_t nl = text.rfind('\n');
  return (nl == llvm::StringRef::npos ? text : text.drop_front(nl + 1)).trim().str();
}

} // namespace

const RootFormat &rootFormat(RootKind kind) {
  for (const RootFormat &f : Formats)
    if (f.kind == kind) return f;
  return Formats[0];
}

std::optional<RootKind> parseRootKind(llvm::StringRef name) {
  for (const RootFormat &f : Formats)
    if (name == f.name) return f.kind;
  return std::nullopt;
}

std::string rootKindNames() {
  std::vector<std::string> names;
  for (const RootFormat &f : Formats) names.push_back(f.name);
  return llvm::join(names, ", ");
}

llvm::Expected<std::string> findRootTool(RootKind kind) {
  const RootFormat &f = rootFormat(kind);
  if (!f.block()) return std::string();
  std::string path = findProgram(f.tool);
  if (path.empty())
    return err(llvm::Twine(f.tool) + ": not found in PATH (--root " + f.name + " needs it: install the Debian package " +
               f.package + ", or run scripts/bootstrap)");
  return path;
}

llvm::Error writeFileBytes(const std::string &path, llvm::StringRef data) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) return err(path + ": " + ec.message());
  os << data;
  os.close();
  if (os.has_error()) {
    std::error_code e = os.error();
    os.clear_error();
    return err(path + ": " + e.message());
  }
  return llvm::Error::success();
}

uint64_t fileBytes(const Initramfs &fs) {
  uint64_t total = 0;
  for (const auto &[p, e] : fs.entries)
    if (e.kind == InitramfsEntry::File) total += e.data.size();
  return total;
}

llvm::Error checkRootLimit(uint64_t bytes, uint64_t limitBytes, const std::string &label, const std::string &what,
                           const std::string &suffix) {
  if (bytes <= limitBytes) return llvm::Error::success();
  return err(label + ": " + what + " " + humanBytes(bytes) + ", over the limit of " + humanBytes(limitBytes) + suffix +
             " (--max-root-size)");
}

std::string humanBytes(uint64_t bytes) {
  if (bytes < 1024 * 1024) return llvm::formatv("{0:f1} KiB", bytes / 1024.0).str();
  if (bytes < (uint64_t(1) << 30)) return llvm::formatv("{0:f1} MiB", bytes / 1048576.0).str();
  return llvm::formatv("{0:f2} GiB", bytes / 1073741824.0).str();
}

std::optional<uint64_t> parseSize(llvm::StringRef text) {
  uint64_t shift = 0;
  llvm::StringRef digits = text;
  if (!text.empty()) switch (text.back()) {
    case 'K': case 'k': shift = 10; digits = text.drop_back(); break;
    case 'M': case 'm': shift = 20; digits = text.drop_back(); break;
    case 'G': case 'g': shift = 30; digits = text.drop_back(); break;
    default: break;
    }
  uint64_t n = 0;
  if (digits.empty() || digits.getAsInteger(10, n) || n == 0 || n > (UINT64_MAX >> shift)) return std::nullopt;
  return n << shift;
}

llvm::Expected<uint64_t> writeRootImage(const Initramfs &fs, RootKind kind, const std::string &path,
                                        uint64_t limitBytes) {
  const RootFormat &f = rootFormat(kind);
  if (!f.block()) return err(llvm::Twine("writeRootImage: ") + f.name + " is not a block root");
  if (llvm::Error e = checkRootLimit(fileBytes(fs), limitBytes, path, "the image's files hold")) return e;
  auto tool = findRootTool(kind);
  if (!tool) return tool.takeError();

  llvm::SmallString<256> staging;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(path + ".stage", staging))
    return err(path + ": staging directory: " + ec.message());
  std::string dir = staging.str().str();
  auto cleanup = llvm::make_scope_exit([&] { llvm::sys::fs::remove_directories(dir); });
  if (llvm::Error e = stage(fs, dir)) return e;
  std::string log = dir + ".log";
  auto r = runProcess(toolCommand(kind, *tool, path, dir), log);
  auto logText = llvm::MemoryBuffer::getFile(log);
  std::string last = logText ? lastLine((*logText)->getBuffer()) : "";
  llvm::sys::fs::remove(log);
  if (!r) return r.takeError();
  if (r->exitCode != 0) {
    llvm::sys::fs::remove(path);
    return err(path + ": " + f.tool + " failed (exit " + std::to_string(r->exitCode) + ")" +
               (last.empty() ? "" : ": " + last));
  }
  uint64_t bytes = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, bytes)) return err(path + ": " + ec.message());
  if (llvm::Error e = checkRootLimit(bytes, limitBytes, path, std::string("the ") + f.name + " image is")) {
    llvm::sys::fs::remove(path);
    return e;
  }
  return bytes;
}

} // namespace bespoke
