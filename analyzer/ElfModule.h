// ElfModule: one x86-64 ELF file read with LLVM's Object library, reduced to what the analysis needs.
// Every malformed input is an llvm::Error naming the file, never a crash.
#pragma once

#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bespoke {

struct ElfSection {
  std::string name;
  uint64_t addr = 0, size = 0;
  uint32_t type = 0;
  bool alloc = false, exec = false, write = false;
};

struct ElfSymbol {
  std::string name;
  uint64_t value = 0, size = 0;
  bool function = false; // STT_FUNC or STT_GNU_IFUNC
  bool ifunc = false;
  bool defined = false;
  bool exported = false; // defined, global or weak, in .dynsym, default visibility
  bool weak = false;
};

// A dynamic relocation: the word at `offset` receives symbol + addend (or base + addend).
struct ElfReloc {
  uint64_t offset = 0;
  uint32_t type = 0;
  int64_t addend = 0;
  int symbol = -1; // index into ElfModule::dynamicSymbols, -1 when none
};

class ElfModule {
public:
  static llvm::Expected<std::unique_ptr<ElfModule>> open(const std::string &path);

  const std::string &path() const { return Path; }
  std::string fileName() const;
  const std::string &sha256() const { return Sha256; }
  llvm::ArrayRef<uint8_t> bytes() const;

  bool isSharedObject() const { return Type == 3; } // ET_DYN: PIE or library
  uint16_t type() const { return Type; }
  uint64_t entry() const { return Entry; }
  const std::string &interpreter() const { return Interp; }
  const std::vector<std::string> &needed() const { return Needed; }
  const std::string &soname() const { return Soname; }
  const std::vector<std::string> &runpath() const { return Runpath; }
  const std::vector<std::string> &rpath() const { return Rpath; }
  bool hasDynamicSection() const { return HasDynamic; }

  const std::vector<ElfSection> &sections() const { return Sections; }
  const std::vector<ElfSymbol> &staticSymbols() const { return StaticSymbols; }   // .symtab
  const std::vector<ElfSymbol> &dynamicSymbols() const { return DynamicSymbols; } // .dynsym
  const std::vector<ElfReloc> &relocations() const { return Relocs; }

  // Addresses run by the loader: DT_INIT, DT_FINI, DT_PREINIT/INIT/FINI_ARRAY entries.
  const std::vector<uint64_t> &initFunctions() const { return InitFns; }

  // File bytes backing [addr, addr+size) of the loaded image; empty when not fully in the file.
  llvm::ArrayRef<uint8_t> contentsAt(uint64_t addr, uint64_t size) const;
  std::optional<uint64_t> readWord(uint64_t addr) const;
  // Resolved pointer value stored at `addr`: its RELATIVE relocation, else the raw word.
  std::optional<uint64_t> pointerAt(uint64_t addr) const;
  std::optional<std::string> cStringAt(uint64_t addr) const;

  bool inExecutableSection(uint64_t addr) const;

private:
  llvm::Error load();

  std::string Path, Sha256, Interp, Soname;
  std::unique_ptr<llvm::MemoryBuffer> Buffer;
  uint16_t Type = 0;
  uint64_t Entry = 0;
  bool HasDynamic = false;
  std::vector<std::string> Needed, Runpath, Rpath;
  std::vector<ElfSection> Sections;
  std::vector<ElfSymbol> StaticSymbols, DynamicSymbols;
  std::vector<ElfReloc> Relocs;
  std::vector<uint64_t> InitFns;
  struct Segment {
    uint64_t vaddr, memsz, offset, filesz;
  };
  std::vector<Segment> Loads;
  std::vector<std::pair<uint64_t, uint64_t>> ExecRanges;
};

std::string hexDigest(llvm::ArrayRef<uint8_t> data);

// Control characters from file contents (section or library names) escaped as \xNN, so that an error
// message stays one line.
std::string printable(llvm::StringRef text);

} // namespace bespoke
