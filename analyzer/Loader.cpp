#include "analyzer/Loader.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <deque>
#include <map>
#include <set>

using namespace llvm;

namespace bespoke {

std::vector<std::pair<std::string, std::string>> readLdSoCache(const std::string &path) {
  std::vector<std::pair<std::string, std::string>> out;
  auto buf = MemoryBuffer::getFile(path, false, false);
  if (!buf)
    return out;
  StringRef d = (*buf)->getBuffer();
  // glibc >= 2.32 writes only the new format: "glibc-ld.so.cache1.1" header, 24-byte entries, string
  // offsets relative to the header.
  size_t h = d.find("glibc-ld.so.cache1.1");
  if (h == StringRef::npos || d.size() - h < 48)
    return out;
  auto u32 = [&](size_t p) -> uint32_t {
    if (p + 4 > d.size()) return 0;
    uint32_t v; memcpy(&v, d.data() + p, 4); return v;
  };
  uint32_t nlibs = u32(h + 20);
  size_t entries = h + 48;
  for (uint32_t i = 0; i < nlibs; ++i) {
    size_t e = entries + size_t(i) * 24;
    if (e + 24 > d.size()) break;
    int32_t flags = int32_t(u32(e));
    uint32_t key = u32(e + 4), value = u32(e + 8);
    // FLAG_ELF_LIBC6 (3) with FLAG_X8664_LIB64 (0x300).
    if ((flags & 0xff) != 3 || (flags & 0xff00) != 0x300) continue;
    if (h + key >= d.size() || h + value >= d.size()) continue;
    out.push_back({std::string(d.data() + h + key), std::string(d.data() + h + value)});
  }
  return out;
}

namespace {
bool isFile(const std::string &p) {
  sys::fs::file_status st;
  return !sys::fs::status(p, st) && st.type() == sys::fs::file_type::regular_file;
}
std::string expandOrigin(const std::string &dir, const ElfModule &from) {
  std::string origin = sys::path::parent_path(from.path()).str();
  std::string out = dir;
  for (const char *tok : {"$ORIGIN", "${ORIGIN}"}) {
    size_t p;
    while ((p = out.find(tok)) != std::string::npos) out.replace(p, strlen(tok), origin);
  }
  return out;
}
} // namespace

Expected<std::vector<LoadedModule>> loadClosure(const std::string &executable, const LoaderOptions &opts) {
  std::vector<LoadedModule> mods;
  auto app = ElfModule::open(executable);
  if (!app)
    return app.takeError();
  std::string interp = (*app)->interpreter();
  mods.push_back({std::move(*app), "", false});

  std::vector<std::pair<std::string, std::string>> cache;
  bool cacheRead = false;
  std::set<std::string> loadedNames, loadedReal;
  auto realOf = [](const std::string &p) {
    SmallString<256> r;
    if (sys::fs::real_path(p, r)) return p;
    return std::string(r);
  };
  loadedReal.insert(realOf(executable));

  auto find = [&](const std::string &name, const ElfModule &from) -> std::string {
    if (name.find('/') != std::string::npos)
      return isFile(name) ? name : "";
    if (from.runpath().empty())
      for (const std::string &d : from.rpath())
        if (std::string p = expandOrigin(d, from) + "/" + name; isFile(p)) return p;
    for (const std::string &d : from.runpath())
      if (std::string p = expandOrigin(d, from) + "/" + name; isFile(p)) return p;
    if (!cacheRead) { cache = readLdSoCache(opts.ldSoCache); cacheRead = true; }
    for (auto &[n, p] : cache)
      if (n == name && isFile(p)) return p;
    for (const std::string &d : opts.defaultDirs)
      if (std::string p = d + "/" + name; isFile(p)) return p;
    return "";
  };

  std::deque<size_t> queue{0};
  while (!queue.empty()) {
    size_t i = queue.front();
    queue.pop_front();
    std::vector<std::string> needed = mods[i].elf->needed();
    for (const std::string &name : needed) {
      if (loadedNames.count(name)) continue;
      std::string p = find(name, *mods[i].elf);
      if (p.empty())
        return createStringError(inconvertibleErrorCode(), "%s: shared library %s not found (needed by %s)",
                                 printable(executable).c_str(), printable(name).c_str(),
                                 printable(mods[i].elf->fileName()).c_str());
      loadedNames.insert(name);
      std::string real = realOf(p);
      if (loadedReal.count(real)) continue;
      auto lib = ElfModule::open(p);
      if (!lib)
        return lib.takeError();
      if (!(*lib)->soname().empty()) loadedNames.insert((*lib)->soname());
      loadedReal.insert(real);
      bool isInterp = !interp.empty() && realOf(interp) == real;
      mods.push_back({std::move(*lib), mods[i].elf->fileName(), isInterp});
      queue.push_back(mods.size() - 1);
    }
  }
  if (!interp.empty()) {
    std::string real = realOf(interp);
    if (!loadedReal.count(real)) {
      auto ld = ElfModule::open(interp);
      if (!ld)
        return ld.takeError();
      mods.push_back({std::move(*ld), mods[0].elf->fileName(), true});
    }
  }
  return mods;
}

} // namespace bespoke
