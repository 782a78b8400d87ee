// StackSymbols: (build id, file offset) from the kernel's stack map -> module!symbol@0xADDRESS.
//
// For each module: the GNU build id from its PT_NOTE segments (the key the kernel reports), its PT_LOAD
// segments (file offset -> virtual address) and one sorted table of sized functions per symbol table.
// ElfModule reads the symbols; the notes and program headers, which it does not keep, are read here from
// its bytes with LLVM's ELF reader.

#include "extension-gen/StackSymbols.h"

#include "analyzer/ElfModule.h"
#include "manifests/Manifest.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Object/ELF.h"

#include <algorithm>

using namespace llvm;

namespace bespoke {

namespace {

using BuildIdBytes = std::array<uint8_t, BPF_BUILD_ID_SIZE>;

struct Segment {
  uint64_t offset = 0, fileSize = 0, vaddr = 0;
};

struct Function {
  uint64_t start = 0, end = 0; // [start, end)
  uint64_t reach = 0;          // the largest end of this function and of every one before it in its table
  std::string name;
};

Error fail(const std::string &path, const Twine &why) {
  return createStringError(inconvertibleErrorCode(), "%s: %s", printable(path).c_str(), printable(why.str()).c_str());
}

// The GNU build id as the kernel's stack map reports it: the first NT_GNU_BUILD_ID note of owner "GNU" in
// a PT_NOTE segment, zero-padded to 20 bytes. The kernel reports none for a longer one (it falls back to
// the ip), so such a file cannot be matched.
Expected<BuildIdBytes> gnuBuildId(const object::ELF64LEFile &elf, const std::string &path) {
  Expected<object::ELF64LEFile::Elf_Phdr_Range> phdrs = elf.program_headers();
  if (!phdrs) return fail(path, "malformed program headers: " + toString(phdrs.takeError()));
  for (const object::ELF64LEFile::Elf_Phdr &ph : *phdrs) {
    if (ph.p_type != ELF::PT_NOTE) continue;
    std::optional<ArrayRef<uint8_t>> desc;
    Error err = Error::success();
    for (const object::ELF64LEFile::Elf_Note &note : elf.notes(ph, err))
      if (note.getType() == ELF::NT_GNU_BUILD_ID && note.getName() == "GNU") {
        desc = note.getDesc(ph.p_align);
        break;
      }
    if (err) return fail(path, "malformed note segment: " + toString(std::move(err)));
    if (!desc) continue;
    if (desc->empty()) return fail(path, "empty GNU build id");
    if (desc->size() > BPF_BUILD_ID_SIZE)
      return fail(path, "GNU build id of " + Twine(desc->size()) + " bytes; the kernel reports ids of at most " +
                            Twine(BPF_BUILD_ID_SIZE));
    BuildIdBytes id{};
    std::copy(desc->begin(), desc->end(), id.begin());
    return id;
  }
  return fail(path, "no GNU build id (NT_GNU_BUILD_ID note)");
}

// PT_LOAD segments with file bytes, executable ones first: a frame is code, so should a file's segments
// share file bytes, the executable mapping is the one the kernel saw run.
Expected<std::vector<Segment>> loadSegments(const object::ELF64LEFile &elf, const std::string &path) {
  Expected<object::ELF64LEFile::Elf_Phdr_Range> phdrs = elf.program_headers();
  if (!phdrs) return fail(path, "malformed program headers: " + toString(phdrs.takeError()));
  std::vector<Segment> exec, other;
  for (const object::ELF64LEFile::Elf_Phdr &ph : *phdrs)
    if (ph.p_type == ELF::PT_LOAD && ph.p_filesz)
      ((ph.p_flags & ELF::PF_X) ? exec : other).push_back({ph.p_offset, std::min(ph.p_filesz, ph.p_memsz), ph.p_vaddr});
  exec.insert(exec.end(), other.begin(), other.end());
  return exec;
}

std::optional<uint64_t> virtualAddress(const std::vector<Segment> &segments, uint64_t offset) {
  for (const Segment &s : segments)
    if (offset >= s.offset && offset - s.offset < s.fileSize) return s.vaddr + (offset - s.offset);
  return std::nullopt;
}

bool leadingUnderscore(const std::string &name) { return !name.empty() && name[0] == '_'; }

// Among aliases (one [start, end)), the name a reader knows: exported, then without a leading '_' (glibc's
// write, not __write or __libc_write), then the shorter, then the smaller; so the choice is stable.
bool preferredName(const ElfSymbol &a, const ElfSymbol &b) {
  if (a.exported != b.exported) return a.exported;
  if (leadingUnderscore(a.name) != leadingUnderscore(b.name)) return !leadingUnderscore(a.name);
  if (a.name.size() != b.name.size()) return a.name.size() < b.name.size();
  return a.name < b.name;
}

// The defined, named functions with a size, sorted by start then end descending, one entry per
// [start, end). A binary search and a walk back bounded by `reach` then find the innermost function
// containing an address, even where ranges nest.
std::vector<Function> functionTable(const std::vector<ElfSymbol> &symbols) {
  std::vector<const ElfSymbol *> functions;
  for (const ElfSymbol &s : symbols)
    if (s.function && s.defined && s.size && !s.name.empty() && s.size <= UINT64_MAX - s.value)
      functions.push_back(&s);
  std::sort(functions.begin(), functions.end(), [](const ElfSymbol *a, const ElfSymbol *b) {
    if (a->value != b->value) return a->value < b->value;
    if (a->size != b->size) return a->size > b->size;
    return preferredName(*a, *b);
  });
  std::vector<Function> table;
  for (const ElfSymbol *s : functions) {
    uint64_t end = s->value + s->size;
    if (!table.empty() && table.back().start == s->value && table.back().end == end) continue; // an alias
    table.push_back({s->value, end, table.empty() ? end : std::max(table.back().reach, end), s->name});
  }
  return table;
}

const Function *containing(const std::vector<Function> &table, uint64_t address) {
  auto it = std::upper_bound(table.begin(), table.end(), address,
                             [](uint64_t a, const Function &f) { return a < f.start; });
  while (it != table.begin()) {
    --it;
    if (it->reach <= address) break; // neither this function nor any before it reaches the address
    if (it->end > address) return &*it;
  }
  return nullptr;
}

} // namespace

struct StackSymbols::Module {
  std::string name, path;
  std::vector<Segment> segments;
  std::vector<Function> staticFunctions, dynamicFunctions; // .symtab, .dynsym
};

StackSymbols StackSymbols::load(const std::vector<StackModule> &modules) {
  StackSymbols out;
  for (const StackModule &m : modules) {
    Error e = [&]() -> Error {
      Expected<std::unique_ptr<ElfModule>> elf = ElfModule::open(m.path);
      if (!elf) return elf.takeError();
      Expected<object::ELF64LEFile> file = object::ELF64LEFile::create(toStringRef((*elf)->bytes()));
      if (!file) return fail(m.path, "malformed ELF: " + toString(file.takeError()));
      Expected<BuildIdBytes> id = gnuBuildId(*file, m.path);
      if (!id) return id.takeError();
      if (auto same = out.Modules.find(*id); same != out.Modules.end())
        return fail(m.path, "the same build id as " + same->second->path + " (its frames are named after that module)");
      Expected<std::vector<Segment>> segments = loadSegments(*file, m.path);
      if (!segments) return segments.takeError();
      auto module = std::make_shared<Module>();
      module->name = m.name.empty() ? (*elf)->fileName() : m.name;
      module->path = m.path;
      module->segments = std::move(*segments);
      module->staticFunctions = functionTable((*elf)->staticSymbols());
      module->dynamicFunctions = functionTable((*elf)->dynamicSymbols());
      out.Modules.emplace(*id, std::move(module));
      return Error::success();
    }();
    if (e) out.Skipped.push_back(toString(std::move(e)));
  }
  return out;
}

std::optional<BuildIdBytes> StackSymbols::buildIdOf(const std::string &path) {
  Expected<std::unique_ptr<ElfModule>> elf = ElfModule::open(path);
  if (!elf) {
    consumeError(elf.takeError());
    return std::nullopt;
  }
  Expected<object::ELF64LEFile> file = object::ELF64LEFile::create(toStringRef((*elf)->bytes()));
  if (!file) {
    consumeError(file.takeError());
    return std::nullopt;
  }
  Expected<BuildIdBytes> id = gnuBuildId(*file, path);
  if (!id) {
    consumeError(id.takeError());
    return std::nullopt;
  }
  return *id;
}

std::optional<Frame> StackSymbols::symbolize(const bpf_stack_build_id &f) const {
  if (f.status != BPF_STACK_BUILD_ID_VALID) return std::nullopt;
  BuildIdBytes id;
  std::copy(std::begin(f.build_id), std::end(f.build_id), id.begin());
  auto it = Modules.find(id);
  if (it == Modules.end()) return std::nullopt;
  const Module &m = *it->second;
  std::optional<uint64_t> address = virtualAddress(m.segments, f.offset);
  if (!address) return std::nullopt;
  const Function *function = containing(m.staticFunctions, *address);
  if (!function) function = containing(m.dynamicFunctions, *address);
  Frame frame;
  frame.module = m.name;
  frame.symbol = function ? function->name : "?";
  frame.address = *address;
  return frame;
}

std::string StackSymbols::describe(const bpf_stack_build_id &f) const {
  switch (f.status) {
  case BPF_STACK_BUILD_ID_VALID:
    if (std::optional<Frame> frame = symbolize(f)) return frameString(*frame);
    return "build-id:" + toHex(ArrayRef<uint8_t>(f.build_id), /*LowerCase=*/true) + "+0x" +
           utohexstr(f.offset, /*LowerCase=*/true);
  case BPF_STACK_BUILD_ID_IP:
    return "ip:0x" + utohexstr(f.ip, /*LowerCase=*/true);
  default:
    return "?";
  }
}

} // namespace bespoke
