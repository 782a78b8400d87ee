#include "analyzer/ModelCache.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <link.h>

using namespace llvm;

namespace bespoke {

namespace {

// Little-endian, length-prefixed binary encoding; the reader checks every bound.
class Writer {
public:
  void u8(uint8_t v) { Out.push_back(char(v)); }
  void u32(uint32_t v) { for (int i = 0; i < 4; ++i) Out.push_back(char(v >> (8 * i))); }
  void u64(uint64_t v) { for (int i = 0; i < 8; ++i) Out.push_back(char(v >> (8 * i))); }
  void i32(int32_t v) { u32(uint32_t(v)); }
  void str(const std::string &s) { u32(uint32_t(s.size())); Out += s; }
  void value(const AbsValue &v) {
    u8(v.kind); u8(v.reg); u8(v.n);
    int count = v.kind == AbsValue::Const || v.kind == AbsValue::Derived ? v.n : (v.kind == AbsValue::Stack ? 1 : 0);
    for (int i = 0; i < count; ++i) u64(v.c[i]);
  }
  std::string Out;
};

class Reader {
public:
  explicit Reader(StringRef d) : D(d) {}
  bool ok() const { return Ok; }
  bool atEnd() const { return P == D.size(); }
  uint8_t u8() { if (!need(1)) return 0; return uint8_t(D[P++]); }
  uint32_t u32() { if (!need(4)) return 0; uint32_t v = 0; for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(D[P + i])) << (8 * i); P += 4; return v; }
  uint64_t u64() { if (!need(8)) return 0; uint64_t v = 0; for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(D[P + i])) << (8 * i); P += 8; return v; }
  int32_t i32() { return int32_t(u32()); }
  std::string str() { uint32_t n = u32(); if (!need(n)) return {}; std::string s = D.substr(P, n).str(); P += n; return s; }
  uint32_t count(size_t minElemSize) { uint32_t n = u32(); if (uint64_t(n) * minElemSize > D.size() - P) { Ok = false; return 0; } return n; }
  AbsValue value() {
    AbsValue v;
    uint8_t k = u8();
    if (k > AbsValue::Derived) { Ok = false; return v; }
    v.kind = AbsValue::Kind(k); v.reg = u8(); v.n = u8();
    if (v.n > AbsValue::MaxConsts) { Ok = false; return v; }
    if (v.kind == AbsValue::Derived && (v.n % 2 || v.reg >= NumGprs)) { Ok = false; return v; }
    int count = v.kind == AbsValue::Const || v.kind == AbsValue::Derived ? v.n : (v.kind == AbsValue::Stack ? 1 : 0);
    for (int i = 0; i < count; ++i) v.c[i] = u64();
    return v;
  }

private:
  bool need(size_t n) { if (!Ok || n > D.size() - P) { Ok = false; return false; } return true; }
  StringRef D;
  size_t P = 0;
  bool Ok = true;
};

const char Magic[8] = {'B', 'S', 'P', 'K', 'M', 'O', 'D', 'L'};

void writeIndices(Writer &w, const std::vector<int32_t> &v) { w.u32(uint32_t(v.size())); for (int32_t x : v) w.i32(x); }
std::vector<int32_t> readIndices(Reader &r) { std::vector<int32_t> v(r.count(4)); for (auto &x : v) x = r.i32(); return v; }
void writeStrings(Writer &w, const std::vector<std::string> &v) { w.u32(uint32_t(v.size())); for (auto &s : v) w.str(s); }
std::vector<std::string> readStrings(Reader &r) { std::vector<std::string> v(r.count(4)); for (auto &s : v) s = r.str(); return v; }

// The known registers of a call or syscall site.
void writeArgs(Writer &w, const ArgList &args) {
  w.u32(uint32_t(args.size()));
  for (const RegValue &rv : args) { w.u8(rv.reg); w.value(rv.value); }
}
void readArgs(Reader &r, ArgList &args) {
  for (uint32_t i = 0, n = r.count(4); i < n && r.ok(); ++i) {
    RegValue rv;
    rv.reg = r.u8();
    rv.value = r.value();
    if (r.ok()) args.push_back(rv); // a corrupt value (n over MaxConsts) is never packed
  }
}

} // namespace

std::string serializeModel(const ModuleModel &m) {
  Writer w;
  w.Out.append(Magic, 8);
  w.u32(ModuleModel::FormatVersion);
  w.str(m.fileName); w.str(m.sha256); w.str(m.libc); w.str(m.libcVersion);
  w.u32(uint32_t(m.functions.size()));
  for (const Function &f : m.functions) {
    w.u64(f.addr); w.str(f.name); w.u32(f.decodeErrors);
    w.u32(uint32_t(f.edges.size()));
    for (const Edge &e : f.edges) {
      w.u8(e.kind); w.u64(e.site); w.i32(e.local); w.i32(e.import); w.u8(e.indirect);
      writeArgs(w, e.args);
      w.str(e.stringArg);
    }
    w.u32(uint32_t(f.syscalls.size()));
    for (const SyscallSite &s : f.syscalls) {
      w.u8(s.kind); w.u64(s.site); w.value(s.nr);
      writeArgs(w, s.args);
    }
  }
  writeStrings(w, m.imports);
  w.u32(uint32_t(m.exports.size()));
  for (auto &[n, i] : m.exports) { w.str(n); w.i32(i); }
  writeIndices(w, m.roots);
  w.i32(m.entryFunction);
  writeIndices(w, m.dataAddressTaken);
  writeIndices(w, m.dataImports);
  writeStrings(w, m.weakImports);
  return std::move(w.Out);
}

Expected<ModuleModel> deserializeModel(StringRef data, const std::string &inputName) {
  auto bad = [&](const char *why) {
    return createStringError(inconvertibleErrorCode(), "%s: %s", inputName.c_str(), why);
  };
  if (data.size() < 12 || memcmp(data.data(), Magic, 8) != 0)
    return bad("not a bespoke module model");
  Reader r(data.substr(8));
  if (r.u32() != ModuleModel::FormatVersion)
    return bad("module model from another bespoke version");
  ModuleModel m;
  m.fileName = r.str(); m.sha256 = r.str(); m.libc = r.str(); m.libcVersion = r.str();
  m.functions.resize(r.count(16));
  for (Function &f : m.functions) {
    f.addr = r.u64(); f.name = r.str(); f.decodeErrors = r.u32();
    f.edges.resize(r.count(20));
    for (Edge &e : f.edges) {
      uint8_t k = r.u8();
      if (k > Edge::AddressTaken) return bad("corrupt module model (edge kind)");
      e.kind = Edge::Kind(k); e.site = r.u64(); e.local = r.i32(); e.import = r.i32(); e.indirect = r.u8();
      readArgs(r, e.args);
      e.stringArg = r.str();
    }
    f.syscalls.resize(r.count(12));
    for (SyscallSite &s : f.syscalls) {
      uint8_t k = r.u8();
      if (k > SyscallSite::Sysenter) return bad("corrupt module model (syscall kind)");
      s.kind = SyscallSite::Kind(k); s.site = r.u64(); s.nr = r.value();
      readArgs(r, s.args);
    }
    if (!r.ok()) return bad("truncated module model");
  }
  m.imports = readStrings(r);
  m.exports.resize(r.count(8));
  for (auto &[n, i] : m.exports) { n = r.str(); i = r.i32(); }
  m.roots = readIndices(r);
  m.entryFunction = r.i32();
  m.dataAddressTaken = readIndices(r);
  m.dataImports = readIndices(r);
  m.weakImports = readStrings(r);
  if (!r.ok() || !r.atEnd()) return bad("truncated or corrupt module model");
  // Indices must be in range: a corrupt cache must never crash the analysis.
  int32_t nf = int32_t(m.functions.size()), ni = int32_t(m.imports.size());
  auto inF = [&](int32_t i) { return i >= 0 && i < nf; };
  for (const Function &f : m.functions)
    for (const Edge &e : f.edges)
      if ((e.local >= 0 && !inF(e.local)) || (e.import >= ni) || e.local < -1 || e.import < -1) return bad("corrupt module model (edge target)");
  for (auto &[n, i] : m.exports) if (!inF(i)) return bad("corrupt module model (export)");
  for (int32_t i : m.roots) if (!inF(i)) return bad("corrupt module model (root)");
  for (int32_t i : m.dataAddressTaken) if (!inF(i)) return bad("corrupt module model (data reference)");
  for (int32_t i : m.dataImports) if (i < 0 || i >= ni) return bad("corrupt module model (data import)");
  if (m.entryFunction < -1 || m.entryFunction >= nf) return bad("corrupt module model (entry)");
  return m;
}

std::string ModelCache::defaultDirectory() {
  if (const char *d = getenv("BESPOKE_CACHE_DIR"); d && *d) return d;
  if (const char *x = getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/bespoke";
  if (const char *h = getenv("HOME"); h && *h) return std::string(h) + "/.cache/bespoke";
  return "";
}

namespace {

// The GNU build ID of the running executable in hex, or empty when it has none.
std::string runningBuildId() {
  std::string id;
  // The first object dl_iterate_phdr reports is the executable; its notes are mapped, so nothing is read.
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *out) -> int {
        for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          // Offsets are aligned from the note's start, as glibc reads them (4 or 8, the segment's alignment).
          const size_t align = ph.p_align == 8 ? 8 : 4, size = ph.p_memsz;
          auto up = [align](size_t n) { return (n + align - 1) & ~(align - 1); };
          const char *base = reinterpret_cast<const char *>(info->dlpi_addr + ph.p_vaddr);
          for (size_t off = 0; size - off >= sizeof(ElfW(Nhdr));) {
            ElfW(Nhdr) n;
            memcpy(&n, base + off, sizeof n);
            size_t descOff = up(off + sizeof n + n.n_namesz);
            if (descOff > size || n.n_descsz > size - descOff) break;
            if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && memcmp(base + off + sizeof n, "GNU", 4) == 0 &&
                n.n_descsz > 0) {
              *static_cast<std::string *>(out) =
                  toHex(ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(base + descOff), n.n_descsz),
                        /*LowerCase=*/true);
              return 1;
            }
            size_t next = up(descOff + n.n_descsz);
            if (next > size) break;
            off = next;
          }
        }
        return 1; // only the executable
      },
      &id);
  return id;
}

} // namespace

ModelCache::ModelCache(std::string directory) : Dir(std::move(directory)) {
  if (Dir.empty())
    return;
  // Any change to the analysis code must change the key. The linker's build ID is a hash of the linked
  // executable (analyzer/CMakeLists.txt asks for --build-id=sha1), so it is as good a key as hashing the
  // file ourselves, which cost ~0.2 s of every run for the 50 MB executable. Without a build ID (another
  // linker, --build-id=none) we fall back to that hash.
  std::string id = runningBuildId();
  if (!id.empty())
    Build = "b" + id;
  else if (auto self = MemoryBuffer::getFile("/proc/self/exe", false, false))
    Build = hexDigest(ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>((*self)->getBufferStart()),
                                        (*self)->getBufferSize()))
                .substr(0, 16);
  else
    Build = "v" + std::to_string(ModuleModel::FormatVersion);
}

std::string ModelCache::pathFor(const std::string &sha256) const {
  return Dir + "/models/" + sha256 + "." + Build + ".model";
}

Expected<ModuleModel> ModelCache::get(const ElfModule &elf, bool &hit) const {
  hit = false;
  if (!Dir.empty()) {
    std::string p = pathFor(elf.sha256());
    if (auto buf = MemoryBuffer::getFile(p, false, false)) {
      auto m = deserializeModel((*buf)->getBuffer(), p);
      if (m && m->sha256 == elf.sha256()) {
        hit = true;
        m->fileName = elf.fileName(); // the same content may be known under another name
        return m;
      }
      consumeError(m.takeError()); // a stale or corrupt entry is rebuilt
    }
  }
  auto model = buildModuleModel(elf);
  if (!model || Dir.empty())
    return model;
  // Best effort: a cache that cannot be written only costs time.
  std::string dir = Dir + "/models";
  if (!sys::fs::create_directories(dir)) {
    SmallString<128> tmp;
    int fd;
    if (!sys::fs::createUniqueFile(dir + "/.tmp-%%%%%%%%", fd, tmp)) {
      raw_fd_ostream os(fd, /*shouldClose=*/true);
      os << serializeModel(*model);
      os.close();
      if (os.has_error() || sys::fs::rename(tmp, pathFor(elf.sha256()))) {
        os.clear_error();
        sys::fs::remove(tmp);
      }
    }
  }
  return model;
}

} // namespace bespoke
