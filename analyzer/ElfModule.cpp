#include "analyzer/ElfModule.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Object/ELF.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include <openssl/sha.h>

#include <algorithm>
#include <map>

using namespace llvm;
using namespace llvm::object;

namespace bespoke {

namespace {
using ELFT = ELF64LE;

Error fail(const std::string &path, const Twine &why) {
  return createStringError(inconvertibleErrorCode(), "%s: %s", printable(path).c_str(), printable(why.str()).c_str());
}

const char *machineName(uint16_t m) {
  switch (m) {
  case ELF::EM_386: return "i386";
  case ELF::EM_ARM: return "arm";
  case ELF::EM_AARCH64: return "aarch64";
  case ELF::EM_RISCV: return "riscv";
  case ELF::EM_PPC64: return "ppc64";
  case ELF::EM_S390: return "s390";
  case ELF::EM_MIPS: return "mips";
  default: return nullptr;
  }
}

std::vector<std::string> splitPath(StringRef s) {
  SmallVector<StringRef, 8> parts;
  s.split(parts, ':', -1, false);
  return {parts.begin(), parts.end()};
}
} // namespace

std::string printable(StringRef text) {
  std::string out;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\x%02x", static_cast<unsigned char>(c));
      out += b;
    } else {
      out += c;
    }
  }
  return out;
}

std::string hexDigest(ArrayRef<uint8_t> data) {
  // OpenSSL's SHA-256 (SHA-NI or AVX2 where the CPU has them) hashes a large closure several times faster
  // than llvm::SHA256; every module of every analysis is hashed (cache key, manifest).
  std::array<uint8_t, 32> h;
  ::SHA256(data.data(), data.size(), h.data());
  static const char *digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : h) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

Expected<std::unique_ptr<ElfModule>> ElfModule::open(const std::string &path) {
  sys::fs::file_status st;
  if (std::error_code ec = sys::fs::status(path, st))
    return fail(path, "cannot open: " + ec.message());
  if (st.type() == sys::fs::file_type::directory_file)
    return fail(path, "is a directory, not an ELF file");
  if (st.type() != sys::fs::file_type::regular_file)
    return fail(path, "not a regular file");
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return fail(path, "cannot read: " + buf.getError().message());
  std::unique_ptr<ElfModule> m(new ElfModule());
  m->Path = path;
  m->Buffer = std::move(*buf);
  if (Error e = m->load())
    return e;
  return m;
}

std::string ElfModule::fileName() const { return sys::path::filename(Path).str(); }

ArrayRef<uint8_t> ElfModule::bytes() const {
  return {reinterpret_cast<const uint8_t *>(Buffer->getBufferStart()), Buffer->getBufferSize()};
}

Error ElfModule::load() {
  StringRef data = Buffer->getBuffer();
  if (data.empty())
    return fail(Path, "empty file, not an ELF file");
  if (data.size() < 4 || !data.starts_with("\x7f" "ELF"))
    return fail(Path, "not an ELF file (bad magic)");
  if (data.size() > ELF::EI_CLASS && uint8_t(data[ELF::EI_CLASS]) == ELF::ELFCLASS32)
    return fail(Path, "32-bit ELF is not supported (bespoke analyzes x86-64 ELF only)");
  if (data.size() < sizeof(ELFT::Ehdr))
    return fail(Path, "truncated ELF header");
  if (uint8_t(data[ELF::EI_CLASS]) != ELF::ELFCLASS64 || uint8_t(data[ELF::EI_DATA]) != ELF::ELFDATA2LSB)
    return fail(Path, "unsupported ELF class or byte order (bespoke analyzes x86-64 ELF only)");
  auto fileOr = ELFFile<ELFT>::create(data);
  if (!fileOr)
    return fail(Path, "malformed ELF: " + toString(fileOr.takeError()));
  const ELFFile<ELFT> &elf = *fileOr;
  const auto &hdr = elf.getHeader();
  if (hdr.e_machine != ELF::EM_X86_64) {
    const char *n = machineName(hdr.e_machine);
    return fail(Path, Twine("ELF for ") + (n ? n : ("machine " + std::to_string(hdr.e_machine))) +
                          " is not supported (bespoke analyzes x86-64 ELF only)");
  }
  Type = hdr.e_type;
  if (Type != ELF::ET_EXEC && Type != ELF::ET_DYN)
    return fail(Path, "not an executable or shared object (ELF type " + Twine(Type) + ")");
  Entry = hdr.e_entry;
  Sha256 = hexDigest(bytes());

  auto phdrs = elf.program_headers();
  if (!phdrs)
    return fail(Path, "malformed program headers: " + toString(phdrs.takeError()));
  for (const auto &ph : *phdrs) {
    if (ph.p_type == ELF::PT_LOAD) {
      if (ph.p_offset > data.size() || ph.p_filesz > data.size() - ph.p_offset)
        return fail(Path, "truncated: a loadable segment extends past the end of the file");
      Loads.push_back({ph.p_vaddr, ph.p_memsz, ph.p_offset, std::min<uint64_t>(ph.p_filesz, ph.p_memsz)});
    } else if (ph.p_type == ELF::PT_INTERP) {
      if (ph.p_offset > data.size() || ph.p_filesz > data.size() - ph.p_offset)
        return fail(Path, "truncated: PT_INTERP past the end of the file");
      Interp = data.substr(ph.p_offset, ph.p_filesz).split('\0').first.str();
    }
  }
  if (Loads.empty())
    return fail(Path, "no loadable segments");

  auto secs = elf.sections();
  if (!secs)
    return fail(Path, "malformed section headers: " + toString(secs.takeError()));
  if (secs->empty())
    return fail(Path, "no section headers (stripped of them; bespoke needs section headers)");

  const ELFT::Shdr *dynsymSec = nullptr;
  for (const auto &sh : *secs) {
    ElfSection s;
    auto name = elf.getSectionName(sh);
    if (!name)
      return fail(Path, "malformed section name: " + toString(name.takeError()));
    s.name = name->str();
    s.addr = sh.sh_addr;
    s.size = sh.sh_size;
    s.type = sh.sh_type;
    s.alloc = sh.sh_flags & ELF::SHF_ALLOC;
    s.exec = sh.sh_flags & ELF::SHF_EXECINSTR;
    s.write = sh.sh_flags & ELF::SHF_WRITE;
    if (s.alloc && s.type != ELF::SHT_NOBITS && (sh.sh_offset > data.size() || sh.sh_size > data.size() - sh.sh_offset))
      return fail(Path, "truncated: section " + s.name + " extends past the end of the file");
    if (s.exec && s.alloc && s.size)
      ExecRanges.push_back({s.addr, s.addr + s.size});
    Sections.push_back(std::move(s));
    if (sh.sh_type == ELF::SHT_DYNSYM)
      dynsymSec = &sh;
  }

  auto readSymbols = [&](const ELFT::Shdr &sec, std::vector<ElfSymbol> &out, bool dynamic) -> Error {
    auto syms = elf.symbols(&sec);
    if (!syms)
      return fail(Path, "malformed symbol table: " + toString(syms.takeError()));
    auto strtab = elf.getStringTableForSymtab(sec);
    if (!strtab)
      return fail(Path, "malformed symbol string table: " + toString(strtab.takeError()));
    for (const auto &sym : *syms) {
      ElfSymbol s;
      auto name = sym.getName(*strtab);
      if (!name)
        return fail(Path, "malformed symbol name: " + toString(name.takeError()));
      s.name = name->str();
      s.value = sym.st_value;
      s.size = sym.st_size;
      s.ifunc = sym.getType() == ELF::STT_GNU_IFUNC;
      s.function = sym.getType() == ELF::STT_FUNC || s.ifunc;
      s.defined = sym.st_shndx != ELF::SHN_UNDEF;
      s.weak = sym.getBinding() == ELF::STB_WEAK;
      s.exported = dynamic && s.defined && sym.getBinding() != ELF::STB_LOCAL &&
                   sym.getVisibility() == ELF::STV_DEFAULT;
      out.push_back(std::move(s));
    }
    return Error::success();
  };
  for (const auto &sh : *secs)
    if (sh.sh_type == ELF::SHT_SYMTAB)
      if (Error e = readSymbols(sh, StaticSymbols, false))
        return e;
  if (dynsymSec)
    if (Error e = readSymbols(*dynsymSec, DynamicSymbols, true))
      return e;

  // Dynamic relocations (.rela.dyn, .rela.plt); static-pie and static binaries carry IRELATIVE/RELATIVE too.
  for (const auto &sh : *secs) {
    if (sh.sh_type != ELF::SHT_RELA || !(sh.sh_flags & ELF::SHF_ALLOC))
      continue;
    auto relas = elf.relas(sh);
    if (!relas)
      return fail(Path, "malformed relocations: " + toString(relas.takeError()));
    bool usesDynsym = dynsymSec && sh.sh_link < secs->size() && &(*secs)[sh.sh_link] == dynsymSec;
    for (const auto &r : *relas) {
      ElfReloc rel;
      rel.offset = r.r_offset;
      rel.type = r.getType(false);
      rel.addend = r.r_addend;
      uint32_t symIdx = r.getSymbol(false);
      if (symIdx != 0 && usesDynsym && symIdx < DynamicSymbols.size())
        rel.symbol = int(symIdx);
      Relocs.push_back(rel);
    }
  }
  // Packed relative relocations (DT_RELR, .relr.dyn; glibc 2.36's own libc.so.6, ld.so and tools use them):
  // each names a word that receives base + the value stored there, i.e. a RELATIVE relocation whose
  // addend is in the file. Missing them would hide every function pointer such a module keeps in data.
  for (const auto &sh : *secs) {
    if (sh.sh_type != ELF::SHT_RELR || !(sh.sh_flags & ELF::SHF_ALLOC))
      continue;
    auto relrs = elf.relrs(sh);
    if (!relrs)
      return fail(Path, "malformed packed relocations: " + toString(relrs.takeError()));
    for (const auto &r : elf.decode_relrs(*relrs)) {
      ElfReloc rel;
      rel.offset = r.r_offset;
      rel.type = ELF::R_X86_64_RELATIVE;
      std::optional<uint64_t> stored = readWord(rel.offset); // a word outside the file holds no pointer
      rel.addend = int64_t(stored.value_or(0));
      Relocs.push_back(rel);
    }
  }
  std::sort(Relocs.begin(), Relocs.end(), [](const ElfReloc &a, const ElfReloc &b) { return a.offset < b.offset; });

  // Dynamic section: needed libraries, search paths, init/fini functions.
  uint64_t initArr = 0, initArrSz = 0, finiArr = 0, finiArrSz = 0, preArr = 0, preArrSz = 0;
  for (const auto &sh : *secs) {
    if (sh.sh_type != ELF::SHT_DYNAMIC)
      continue;
    HasDynamic = true;
    auto dyns = elf.template getSectionContentsAsArray<ELFT::Dyn>(sh);
    if (!dyns)
      return fail(Path, "malformed dynamic section: " + toString(dyns.takeError()));
    if (sh.sh_link >= secs->size())
      return fail(Path, "malformed dynamic section: bad string table link");
    auto strtab = elf.getStringTable((*secs)[sh.sh_link]);
    if (!strtab)
      return fail(Path, "malformed dynamic string table: " + toString(strtab.takeError()));
    auto str = [&](uint64_t off) -> Expected<std::string> {
      if (off >= strtab->size())
        return fail(Path, "malformed dynamic section: string offset out of range");
      return std::string(strtab->data() + off);
    };
    for (const auto &d : *dyns) {
      uint64_t v = d.getVal();
      switch (d.getTag()) {
      case ELF::DT_NEEDED:
      case ELF::DT_SONAME:
      case ELF::DT_RUNPATH:
      case ELF::DT_RPATH: {
        auto s = str(v);
        if (!s)
          return s.takeError();
        if (d.getTag() == ELF::DT_NEEDED) Needed.push_back(*s);
        else if (d.getTag() == ELF::DT_SONAME) Soname = *s;
        else if (d.getTag() == ELF::DT_RUNPATH) Runpath = splitPath(*s);
        else Rpath = splitPath(*s);
        break;
      }
      case ELF::DT_INIT: InitFns.push_back(v); break;
      case ELF::DT_FINI: InitFns.push_back(v); break;
      case ELF::DT_INIT_ARRAY: initArr = v; break;
      case ELF::DT_INIT_ARRAYSZ: initArrSz = v; break;
      case ELF::DT_FINI_ARRAY: finiArr = v; break;
      case ELF::DT_FINI_ARRAYSZ: finiArrSz = v; break;
      case ELF::DT_PREINIT_ARRAY: preArr = v; break;
      case ELF::DT_PREINIT_ARRAYSZ: preArrSz = v; break;
      default: break;
      }
    }
  }
  // Static executables have no dynamic section: their arrays are found by section type.
  for (const ElfSection &s : Sections) {
    if (s.type == ELF::SHT_INIT_ARRAY && !initArr) { initArr = s.addr; initArrSz = s.size; }
    if (s.type == ELF::SHT_FINI_ARRAY && !finiArr) { finiArr = s.addr; finiArrSz = s.size; }
    if (s.type == ELF::SHT_PREINIT_ARRAY && !preArr) { preArr = s.addr; preArrSz = s.size; }
  }
  // A corrupt size must not make us walk the address space: stop at the first word not in the file.
  for (auto [arr, sz] : {std::pair{preArr, preArrSz}, {initArr, initArrSz}, {finiArr, finiArrSz}}) {
    for (uint64_t i = 0; arr && i < sz / 8; ++i) {
      auto p = pointerAt(arr + 8 * i);
      if (!p)
        break;
      if (*p && *p != ~0ULL)
        InitFns.push_back(*p);
    }
  }
  return Error::success();
}

ArrayRef<uint8_t> ElfModule::contentsAt(uint64_t addr, uint64_t size) const {
  for (const Segment &s : Loads) {
    if (addr >= s.vaddr && addr - s.vaddr < s.filesz && size <= s.filesz - (addr - s.vaddr))
      return bytes().slice(s.offset + (addr - s.vaddr), size);
  }
  return {};
}

std::optional<uint64_t> ElfModule::readWord(uint64_t addr) const {
  ArrayRef<uint8_t> b = contentsAt(addr, 8);
  if (b.size() != 8)
    return std::nullopt;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | b[i];
  return v;
}

std::optional<uint64_t> ElfModule::pointerAt(uint64_t addr) const {
  auto it = std::lower_bound(Relocs.begin(), Relocs.end(), addr,
                             [](const ElfReloc &r, uint64_t a) { return r.offset < a; });
  if (it != Relocs.end() && it->offset == addr && it->type == ELF::R_X86_64_RELATIVE)
    return uint64_t(it->addend);
  return readWord(addr);
}

std::optional<std::string> ElfModule::cStringAt(uint64_t addr) const {
  std::string out;
  for (uint64_t a = addr; out.size() < 4096; ++a) {
    ArrayRef<uint8_t> b = contentsAt(a, 1);
    if (b.empty())
      return std::nullopt;
    if (b[0] == 0)
      return out;
    out += char(b[0]);
  }
  return std::nullopt;
}

bool ElfModule::inExecutableSection(uint64_t addr) const {
  for (auto [lo, hi] : ExecRanges)
    if (addr >= lo && addr < hi)
      return true;
  return false;
}

} // namespace bespoke
