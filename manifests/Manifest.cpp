// Manifest: the public entry points over the manifest's text format — render, parse, load, and atomic
// saving. The format (versions 1 and 2) is in manifests/README.md; ManifestRender.cpp writes it and
// ManifestSchema.cpp reads it.

#include "manifests/Manifest.h"
#include "manifests/ManifestFormat.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace llvm;

namespace bespoke {

using manifest_format::Problem;
using manifest_format::parseText;
using manifest_format::render;

namespace {

// Far above any real manifest (a large application gives a few MB); keeps a wrong argument such as a
// disk image from being read into memory.
constexpr uint64_t kMaxManifestBytes = 256ull << 20;

Error errorf(const std::string &message) { return createStringError(inconvertibleErrorCode(), "%s", message.c_str()); }

std::string withInput(const std::string &inputName, const Problem &p) {
  return inputName + (p.line ? ":" + std::to_string(p.line) : std::string()) + ": " + p.message;
}

} // namespace

std::string renderManifest(const Manifest &m) { return render(m); }

Expected<Manifest> parseManifest(const std::string &text, const std::string &inputName) {
  Manifest m;
  if (std::optional<Problem> p = parseText(text, m)) return errorf(withInput(inputName, *p));
  return m;
}

Expected<Manifest> loadManifest(const std::string &path) try {
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(path, st)) return errorf(path + ": cannot open: " + ec.message());
  if (st.type() == sys::fs::file_type::directory_file) return errorf(path + ": is a directory, not a manifest");
  if (st.type() == sys::fs::file_type::regular_file && st.getSize() > kMaxManifestBytes)
    return errorf(path + ": too large for a manifest (" + std::to_string(st.getSize()) + " bytes)");
  ErrorOr<std::unique_ptr<MemoryBuffer>> buf =
      MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf) return errorf(path + ": cannot read: " + buf.getError().message());
  return parseManifest((*buf)->getBuffer().str(), path);
} catch (const std::exception &e) {
  return errorf(path + ": cannot read: " + e.what());
}

Error saveManifest(const Manifest &m, const std::string &path) {
  try {
    std::string text = render(m);
    // Never write a file that would not load back to the same text: an invalid Footprint (an unknown
    // syscall name, a syscall without evidence, ...) is an error here rather than at the reader.
    Manifest back;
    if (std::optional<Problem> p = parseText(text, back))
      return errorf(path + ": not written, the manifest is invalid: " +
                    (p->line ? "line " + std::to_string(p->line) + ": " : std::string()) + p->message);
    // The reasons written beside facts and features are comments, which no reader keeps: compare
    // without them.
    Manifest plain = m;
    for (SyscallUse &u : plain.footprint.syscalls)
      for (auto &[name, fact] : u.args) {
        fact.why.clear();
        fact.sites.clear();
      }
    plain.footprint.kernel.featureReasons.clear();
    if (render(back) != render(plain))
      return errorf(path + ": not written, the manifest does not read back identically");

    // An existing output that is not a regular file (/dev/null, /dev/stdout, a FIFO) is written in
    // place: renaming a temporary over it would replace the device node.
    sys::fs::file_status st;
    if (!sys::fs::status(path, st) && sys::fs::exists(st) && !sys::fs::is_regular_file(st) &&
        !sys::fs::is_directory(st)) {
      std::error_code ec;
      raw_fd_ostream os(path, ec);
      if (ec) return errorf(path + ": cannot write: " + ec.message());
      os << text;
      os.close();
      if (os.has_error()) {
        std::string msg = os.error().message();
        os.clear_error();
        return errorf(path + ": cannot write: " + msg);
      }
      return Error::success();
    }
    SmallString<256> dir(sys::path::parent_path(path));
    if (dir.empty()) dir = ".";
    // The temporary is beside the destination, so the rename stays within one file system.
    SmallString<256> tmp;
    int fd = -1;
    if (std::error_code ec = sys::fs::createUniqueFile(path + ".tmp.%%%%%%", fd, tmp))
      return errorf(path + ": cannot write: cannot create a temporary file in '" + std::string(dir) +
                    "': " + ec.message());
    std::error_code writeError;
    {
      raw_fd_ostream os(fd, /*shouldClose=*/true);
      os << text;
      os.close();
      if (os.has_error()) {
        writeError = os.error();
        os.clear_error(); // otherwise raw_fd_ostream aborts in its destructor
      }
    }
    if (!writeError) writeError = sys::fs::rename(tmp, path);
    if (writeError) {
      sys::fs::remove(tmp);
      return errorf(path + ": cannot write: " + writeError.message());
    }
    return Error::success();
  } catch (const std::exception &e) {
    return errorf(path + ": cannot write: " + e.what());
  }
}

size_t lastProgramFrame(const Evidence &e) {
  size_t last = 0;
  for (size_t i = 0; i < e.chain.size() && e.chain[i].module == e.chain.front().module; ++i)
    if (e.chain[i].symbol.find("@plt") == std::string::npos) last = i;
  return last;
}

std::string frameString(const Frame &f) {
  if (f.isSource()) return f.symbol + "@" + f.file + ":" + std::to_string(f.line);
  char addr[24];
  snprintf(addr, sizeof addr, "@0x%llx", static_cast<unsigned long long>(f.address));
  return f.module + "!" + f.symbol + addr;
}

} // namespace bespoke
