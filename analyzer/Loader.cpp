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

std::string realPathOf(const std::string &p) {
  SmallString<256> r;
  if (sys::fs::real_path(p, r)) return p;
  return std::string(r);
}

std::string ClosureLoader::find(const std::string &name, const ElfModule &from) const {
  if (name.find('/') != std::string::npos)
    return isFile(name) ? name : "";
  auto inDirs = [&](const std::vector<std::string> &dirs, const ElfModule &owner) -> std::string {
    for (const std::string &d : dirs)
      if (std::string p = expandOrigin(d, owner) + "/" + name; isFile(p)) return p;
    return "";
  };
  if (from.runpath().empty()) {
    if (std::string p = inDirs(from.rpath(), from); !p.empty()) return p;
    // DT_RPATH of the objects that loaded `from` count too; the executable's is the one that matters.
    if (!Mods.empty() && Mods[0].elf.get() != &from && Mods[0].elf->runpath().empty())
      if (std::string p = inDirs(Mods[0].elf->rpath(), *Mods[0].elf); !p.empty()) return p;
  }
  if (std::string p = inDirs(from.runpath(), from); !p.empty()) return p;
  if (!CacheRead) { Cache = readLdSoCache(Opts.ldSoCache); CacheRead = true; }
  for (auto &[n, p] : Cache)
    if (n == name && isFile(p)) return p;
  for (const std::string &d : Opts.defaultDirs)
    if (std::string p = d + "/" + name; isFile(p)) return p;
  return "";
}

int ClosureLoader::indexOf(const std::string &path) const {
  auto it = LoadedReal.find(realPathOf(path));
  return it == LoadedReal.end() ? -1 : int(it->second);
}

Expected<std::shared_ptr<ElfModule>> ClosureLoader::open(const std::string &path) {
  std::string real = Files ? realPathOf(path) : "";
  if (Files)
    if (auto it = Files->find(real); it != Files->end() && it->second->path() == path) return it->second;
  auto elf = ElfModule::open(path);
  if (!elf) return elf.takeError();
  std::shared_ptr<ElfModule> shared(std::move(*elf));
  if (Files) Files->emplace(real, shared);
  return shared;
}

Expected<size_t> ClosureLoader::add(const std::string &path, const std::string &neededBy) {
  if (int i = indexOf(path); i >= 0) return size_t(i);
  auto first = open(path);
  if (!first)
    return first.takeError();
  const std::string interp = Mods.empty() ? (*first)->interpreter() : Mods[0].elf->interpreter();
  const std::string top = Mods.empty() ? path : Mods[0].elf->path(); // names the program in errors
  size_t start = Mods.size();
  std::set<std::string> names = LoadedNames;
  std::map<std::string, size_t> reals = LoadedReal;
  std::vector<LoadedModule> added;
  auto module = [&](size_t i) -> LoadedModule & { return i < start ? Mods[i] : added[i - start]; };
  if (!(*first)->soname().empty()) names.insert((*first)->soname());
  names.insert(sys::path::filename(path).str());
  reals.emplace(realPathOf(path), start);
  added.push_back({std::move(*first), neededBy, false});
  std::deque<size_t> queue{start};
  while (!queue.empty()) {
    size_t i = queue.front();
    queue.pop_front();
    std::vector<std::string> needed = module(i).elf->needed();
    for (const std::string &name : needed) {
      if (names.count(name)) continue;
      std::string p = find(name, *module(i).elf);
      if (p.empty())
        return createStringError(inconvertibleErrorCode(), "%s: shared library %s not found (needed by %s)",
                                 printable(top).c_str(), printable(name).c_str(),
                                 printable(module(i).elf->fileName()).c_str());
      names.insert(name);
      std::string real = realPathOf(p);
      if (reals.count(real)) continue;
      auto lib = open(p);
      if (!lib)
        return lib.takeError();
      if (!(*lib)->soname().empty()) names.insert((*lib)->soname());
      reals.emplace(real, start + added.size());
      bool isInterp = !interp.empty() && realPathOf(interp) == real;
      added.push_back({std::move(*lib), module(i).elf->fileName(), isInterp});
      queue.push_back(start + added.size() - 1);
    }
  }
  for (LoadedModule &m : added) Mods.push_back(std::move(m));
  LoadedNames = std::move(names);
  LoadedReal = std::move(reals);
  return start;
}

Error ClosureLoader::addInterpreter() {
  if (Mods.empty()) return Error::success();
  std::string interp = Mods[0].elf->interpreter();
  if (interp.empty() || LoadedReal.count(realPathOf(interp))) return Error::success();
  auto ld = open(interp);
  if (!ld)
    return ld.takeError();
  LoadedReal.emplace(realPathOf(interp), Mods.size());
  Mods.push_back({std::move(*ld), Mods[0].elf->fileName(), true});
  return Error::success();
}

Expected<std::vector<LoadedModule>> loadClosure(const std::string &executable, const LoaderOptions &opts) {
  ClosureLoader loader(opts);
  if (auto first = loader.add(executable, ""); !first)
    return first.takeError();
  if (Error e = loader.addInterpreter())
    return e;
  return loader.take();
}

} // namespace bespoke
