// Tests of StackSymbols on real Debian 12 binaries: glibc's libc.so.6 as this process runs it (the build id
// from the loader's mapped notes, the file offset from /proc/self/maps, as the kernel computes both), as a
// file (offsets from its dynamic symbols and program headers), gcc's non-PIE collect2 (file offsets differ
// from addresses), and frames StackSymbols cannot name: unknown ids, ip and empty entries, skipped files.

#include "extension-gen/StackSymbols.h"

#include "analyzer/ElfModule.h"
#include "manifests/Manifest.h"
#include "manifests/ManifestFormat.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Object/ELF.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace bespoke;

namespace {

const char *const LibcPath = "/usr/lib/x86_64-linux-gnu/libc.so.6";

using BuildId = std::array<uint8_t, BPF_BUILD_ID_SIZE>;

std::string hex(uint64_t v) { return "0x" + llvm::utohexstr(v, /*LowerCase=*/true); }

bpf_stack_build_id validFrame(const BuildId &id, uint64_t offset) {
  bpf_stack_build_id f{};
  f.status = BPF_STACK_BUILD_ID_VALID;
  std::copy(id.begin(), id.end(), f.build_id);
  f.offset = offset;
  return f;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class TempDir {
public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/bespoke-stack-symbols-XXXXXX";
    if (!mkdtemp(tmpl.data())) std::abort();
    Path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(Path, ec);
  }
  std::string operator/(const std::string &name) const { return Path + "/" + name; }

private:
  std::string Path;
};

// The build id in the file's .note.gnu.build-id section, read by hand (StackSymbols reads PT_NOTE
// segments with LLVM's note iterator); all zeros when there is none.
BuildId sectionBuildId(const ElfModule &elf) {
  BuildId id{};
  for (const ElfSection &s : elf.sections()) {
    if (s.name != ".note.gnu.build-id") continue;
    llvm::ArrayRef<uint8_t> note = elf.contentsAt(s.addr, s.size);
    auto word = [&](size_t at) {
      return uint32_t(note[at]) | uint32_t(note[at + 1]) << 8 | uint32_t(note[at + 2]) << 16 |
             uint32_t(note[at + 3]) << 24;
    };
    if (note.size() < 16) break;
    uint32_t nameSize = word(0), descSize = word(4);
    size_t desc = 12 + ((nameSize + 3) & ~3u);
    if (word(8) != 3 /* NT_GNU_BUILD_ID */ || descSize > id.size() || desc + descSize > note.size()) break;
    std::copy(note.begin() + desc, note.begin() + desc + descSize, id.begin());
  }
  return id;
}

// A loaded object of this process as the kernel sees it: its load bias and the build id in its mapped
// PT_NOTE segments (the bytes the kernel reads), found by an address inside it.
struct RunningObject {
  uint64_t bias = 0;
  BuildId id{};
  bool found = false;
};

RunningObject runningObjectAt(const void *address) {
  struct Query {
    uintptr_t address;
    RunningObject out;
  } q{reinterpret_cast<uintptr_t>(address), {}};
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *data) -> int {
        Query &q = *static_cast<Query *>(data);
        bool inside = false;
        for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD && q.address - info->dlpi_addr - ph.p_vaddr < ph.p_memsz) inside = true;
        }
        if (!inside) return 0;
        q.out.found = true;
        q.out.bias = info->dlpi_addr;
        for (ElfW(Half) i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const size_t align = ph.p_align == 8 ? 8 : 4;
          auto up = [align](size_t n) { return (n + align - 1) & ~(align - 1); };
          const char *base = reinterpret_cast<const char *>(info->dlpi_addr + ph.p_vaddr);
          for (size_t off = 0; off + sizeof(ElfW(Nhdr)) <= ph.p_memsz;) {
            ElfW(Nhdr) n;
            memcpy(&n, base + off, sizeof n);
            size_t desc = up(off + sizeof n + n.n_namesz);
            if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && !memcmp(base + off + sizeof n, "GNU", 4) &&
                n.n_descsz <= BPF_BUILD_ID_SIZE) {
              memcpy(q.out.id.data(), base + desc, n.n_descsz);
              return 1;
            }
            off = up(desc + n.n_descsz);
          }
        }
        return 1;
      },
      &q);
  return q.out;
}

// The mapping of this process that holds `address`, from /proc/self/maps, and the file offset of the
// address in it: vm_pgoff * page size + address - vm_start, what the kernel's stack map reports.
struct Mapping {
  std::string path;
  uint64_t offset = 0;
  bool found = false;
};

Mapping mappingAt(const void *address) {
  const uint64_t a = reinterpret_cast<uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::istringstream in(line);
    std::string range, perms, offset, device, inode, path;
    in >> range >> perms >> offset >> device >> inode >> path;
    size_t dash = range.find('-');
    uint64_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    uint64_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (a >= start && a < end) return {path, std::stoull(offset, nullptr, 16) + (a - start), true};
  }
  return {};
}

// The file offset of a virtual address, through the program headers (read with LLVM, not StackSymbols).
std::optional<uint64_t> fileOffsetOf(const ElfModule &elf, uint64_t vaddr) {
  auto file = llvm::object::ELF64LEFile::create(llvm::toStringRef(elf.bytes()));
  if (!file) {
    llvm::consumeError(file.takeError());
    return std::nullopt;
  }
  auto phdrs = file->program_headers();
  if (!phdrs) {
    llvm::consumeError(phdrs.takeError());
    return std::nullopt;
  }
  // PT_LOAD is <elf.h>'s macro here (through <link.h>), which breaks the spelling llvm::ELF::PT_LOAD.
  for (const auto &ph : *phdrs)
    if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz)
      return vaddr - ph.p_vaddr + ph.p_offset;
  return std::nullopt;
}

const ElfSymbol *findFunction(const std::vector<ElfSymbol> &symbols, const std::string &name) {
  for (const ElfSymbol &s : symbols)
    if (s.name == name && s.function && s.defined && s.size) return &s;
  return nullptr;
}

// Names of the sized functions of `symbols` whose range contains `vaddr`.
std::vector<std::string> functionsContaining(const std::vector<ElfSymbol> &symbols, uint64_t vaddr) {
  std::vector<std::string> names;
  for (const ElfSymbol &s : symbols)
    if (s.function && s.defined && s.size && vaddr >= s.value && vaddr - s.value < s.size) names.push_back(s.name);
  return names;
}

} // namespace

// The kernel's view of a frame in write(): the build id from libc's notes as the loader mapped them and
// the offset computed from this process's mapping, as bpf_get_stack does; the address must come back as
// libc's own virtual address of the instruction.
TEST(StackSymbols, RunningLibcFrameAsTheKernelReportsIt) {
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(libc, nullptr);
  void *write = dlsym(libc, "write");
  ASSERT_NE(write, nullptr);
  const void *ip = static_cast<const char *>(write) + 4;
  RunningObject obj = runningObjectAt(ip);
  Mapping map = mappingAt(ip);
  ASSERT_TRUE(obj.found && map.found);
  ASSERT_NE(obj.id, BuildId{}) << "Debian's libc.so.6 carries a build id";

  StackSymbols symbols = StackSymbols::load({{"libc.so.6", map.path}});
  EXPECT_TRUE(symbols.skipped().empty()) << symbols.skipped().front();
  std::optional<Frame> f = symbols.symbolize(validFrame(obj.id, map.offset));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->module, "libc.so.6");
  EXPECT_EQ(f->symbol, "write");
  EXPECT_EQ(f->address, reinterpret_cast<uintptr_t>(ip) - obj.bias);
  EXPECT_TRUE(f->file.empty());

  auto elf = ElfModule::open(map.path);
  ASSERT_TRUE(bool(elf)) << llvm::toString(elf.takeError());
  EXPECT_EQ(sectionBuildId(**elf), obj.id) << "the section and the mapped PT_NOTE hold one build id";
}

// The offset of write's dynamic symbol in the file, through the PT_LOAD that holds it: the frame names
// a function containing the address (glibc aliases write as __write; the exported name without '_' wins).
TEST(StackSymbols, LibcWriteFromItsDynamicSymbol) {
  auto elf = ElfModule::open(LibcPath);
  ASSERT_TRUE(bool(elf)) << llvm::toString(elf.takeError());
  BuildId id = sectionBuildId(**elf);
  ASSERT_NE(id, BuildId{});
  const ElfSymbol *write = findFunction((*elf)->dynamicSymbols(), "write");
  ASSERT_NE(write, nullptr);
  ASSERT_GT(write->size, 3u);
  std::optional<uint64_t> offset = fileOffsetOf(**elf, write->value);
  ASSERT_TRUE(offset);

  StackSymbols symbols = StackSymbols::load({{"libc.so.6", LibcPath}});
  ASSERT_TRUE(symbols.skipped().empty()) << symbols.skipped().front();
  bpf_stack_build_id entry = validFrame(id, *offset + 3);
  std::optional<Frame> f = symbols.symbolize(entry);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->module, "libc.so.6");
  EXPECT_EQ(f->address, write->value + 3);
  std::vector<std::string> containing = functionsContaining((*elf)->dynamicSymbols(), f->address);
  EXPECT_NE(std::find(containing.begin(), containing.end(), f->symbol), containing.end()) << f->symbol;
  EXPECT_EQ(f->symbol, "write");

  std::string text = symbols.describe(entry);
  EXPECT_EQ(text, "libc.so.6!write@" + hex(write->value + 3));
  EXPECT_EQ(text, frameString(*f));
  std::optional<Frame> parsed = manifest_format::parseFrameString(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->module, f->module);
  EXPECT_EQ(parsed->symbol, f->symbol);
  EXPECT_EQ(parsed->address, f->address);
}

// A non-PIE executable loads at 0x400000, so file offsets and addresses differ: gcc's collect2 (Debian's
// gcc-12, which a C++ build has) exports a few sized functions.
TEST(StackSymbols, NonPieOffsetsMapThroughTheirSegment) {
  std::string path;
  for (const char *version : {"12", "13", "14"})
    if (std::filesystem::exists(std::string("/usr/lib/gcc/x86_64-linux-gnu/") + version + "/collect2"))
      path = std::string("/usr/lib/gcc/x86_64-linux-gnu/") + version + "/collect2";
  ASSERT_FALSE(path.empty()) << "gcc's collect2 (build-essential) is installed";
  auto elf = ElfModule::open(path);
  ASSERT_TRUE(bool(elf)) << llvm::toString(elf.takeError());
  ASSERT_FALSE((*elf)->isSharedObject());
  BuildId id = sectionBuildId(**elf);
  ASSERT_NE(id, BuildId{});
  const ElfSymbol *fn = findFunction((*elf)->dynamicSymbols(), "_obstack_free");
  ASSERT_NE(fn, nullptr);
  std::optional<uint64_t> offset = fileOffsetOf(**elf, fn->value);
  ASSERT_TRUE(offset);
  ASSERT_NE(*offset, fn->value) << "the test needs a file whose offsets are not its addresses";

  StackSymbols symbols = StackSymbols::load({{"collect2", path}});
  ASSERT_TRUE(symbols.skipped().empty()) << symbols.skipped().front();
  std::optional<Frame> f = symbols.symbolize(validFrame(id, *offset + 1));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->module, "collect2");
  EXPECT_EQ(f->symbol, "_obstack_free");
  EXPECT_EQ(f->address, fn->value + 1);
}

// An offset in libc's file that no sized function covers (its ELF header) is a frame with symbol "?",
// which the manifest's frame syntax accepts; no preceding symbol is guessed.
TEST(StackSymbols, NoContainingFunctionIsQuestionMark) {
  auto elf = ElfModule::open(LibcPath);
  ASSERT_TRUE(bool(elf)) << llvm::toString(elf.takeError());
  BuildId id = sectionBuildId(**elf);
  std::optional<uint64_t> headerAddress = 0x10;
  ASSERT_EQ(fileOffsetOf(**elf, 0x10), headerAddress) << "libc's first PT_LOAD maps its header at 0";
  ASSERT_TRUE(functionsContaining((*elf)->dynamicSymbols(), 0x10).empty());

  StackSymbols symbols = StackSymbols::load({{"libc.so.6", LibcPath}});
  bpf_stack_build_id entry = validFrame(id, 0x10);
  std::optional<Frame> f = symbols.symbolize(entry);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->module, "libc.so.6");
  EXPECT_EQ(f->symbol, "?");
  EXPECT_EQ(f->address, 0x10u);
  EXPECT_EQ(symbols.describe(entry), "libc.so.6!?@0x10");
  std::optional<Frame> parsed = manifest_format::parseFrameString(symbols.describe(entry));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->symbol, "?");
  EXPECT_EQ(parsed->address, 0x10u);

  // Just past write's last byte (alignment padding before the next function): write precedes the
  // address but does not contain it, so it is not named.
  const ElfSymbol *write = findFunction((*elf)->dynamicSymbols(), "write");
  ASSERT_NE(write, nullptr);
  uint64_t pastWrite = write->value + write->size;
  ASSERT_TRUE(functionsContaining((*elf)->dynamicSymbols(), pastWrite).empty())
      << "the test needs a gap after write in Debian 12's libc";
  std::optional<uint64_t> offset = fileOffsetOf(**elf, pastWrite);
  ASSERT_TRUE(offset);
  std::optional<Frame> gap = symbols.symbolize(validFrame(id, *offset));
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->symbol, "?");
  EXPECT_EQ(gap->address, pastWrite);
  std::optional<Frame> last = symbols.symbolize(validFrame(id, *offset - 1));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->symbol, "write") << "the last byte of write is still write";
}

// Frames StackSymbols cannot name: another build id, an offset past libc's file bytes, the kernel's
// ip fallback and the empty entries that end a stack.
TEST(StackSymbols, UnknownFramesAreDescribedNotNamed) {
  auto elf = ElfModule::open(LibcPath);
  ASSERT_TRUE(bool(elf)) << llvm::toString(elf.takeError());
  BuildId id = sectionBuildId(**elf);
  StackSymbols symbols = StackSymbols::load({{"libc.so.6", LibcPath}});

  BuildId other = id;
  other[0] ^= 0xff;
  bpf_stack_build_id unknown = validFrame(other, 0x1234);
  EXPECT_FALSE(symbols.symbolize(unknown));
  EXPECT_EQ(symbols.describe(unknown), "build-id:" + llvm::toHex(other, /*LowerCase=*/true) + "+0x1234");
  EXPECT_EQ(symbols.describe(unknown).size(), std::string("build-id:").size() + 40 + std::string("+0x1234").size());

  uint64_t past = (*elf)->bytes().size() + 0x1000;
  bpf_stack_build_id outside = validFrame(id, past);
  EXPECT_FALSE(symbols.symbolize(outside));
  EXPECT_EQ(symbols.describe(outside), "build-id:" + llvm::toHex(id, /*LowerCase=*/true) + "+" + hex(past));

  bpf_stack_build_id ip{};
  ip.status = BPF_STACK_BUILD_ID_IP;
  std::copy(id.begin(), id.end(), ip.build_id); // ignored: an IP entry's build id means nothing
  ip.ip = 0x7f0012345678;
  EXPECT_FALSE(symbols.symbolize(ip));
  EXPECT_EQ(symbols.describe(ip), "ip:0x7f0012345678");

  bpf_stack_build_id empty{};
  EXPECT_EQ(empty.status, BPF_STACK_BUILD_ID_EMPTY);
  EXPECT_FALSE(symbols.symbolize(empty));
  EXPECT_EQ(symbols.describe(empty), "?");
}

// Files that cannot give frames are skipped with a reason, never an error, and the others still load:
// text, a missing path, libc with its build-id note's type changed, a second copy of libc (same id).
TEST(StackSymbols, UnusableModulesAreSkipped) {
  TempDir tmp;
  std::string text = tmp / "notes.txt", missing = tmp / "missing.so", noId = tmp / "libnoid.so",
              copy = tmp / "libc-copy.so";
  writeFile(text, "not an ELF file\n");
  std::string libc = readFile(LibcPath);
  writeFile(copy, libc);
  auto elf = ElfModule::open(LibcPath);
  ASSERT_TRUE(bool(elf)) << llvm::toString(elf.takeError());
  BuildId id = sectionBuildId(**elf);
  // The note: n_namesz 4, n_descsz 20, n_type NT_GNU_BUILD_ID (3), "GNU\0", the id.
  std::string note = std::string("\4\0\0\0\x14\0\0\0\3\0\0\0GNU\0", 16) + std::string(id.begin(), id.end());
  size_t at = libc.find(note);
  ASSERT_NE(at, std::string::npos);
  libc[at + 8] = 0x7f; // no longer NT_GNU_BUILD_ID
  writeFile(noId, libc);

  StackSymbols symbols = StackSymbols::load(
      {{"notes.txt", text}, {"libc.so.6", LibcPath}, {"missing.so", missing}, {"libnoid.so", noId},
       {"libc-copy.so", copy}});
  const std::vector<std::string> &skipped = symbols.skipped();
  ASSERT_EQ(skipped.size(), 4u) << ::testing::PrintToString(skipped);
  auto expectSkipped = [&](size_t i, const std::string &path, const std::string &why) {
    EXPECT_EQ(skipped[i].rfind(path + ": ", 0), 0u) << skipped[i];
    EXPECT_NE(skipped[i].find(why), std::string::npos) << skipped[i];
  };
  expectSkipped(0, text, "not an ELF file");
  expectSkipped(1, missing, "cannot open");
  expectSkipped(2, noId, "no GNU build id");
  expectSkipped(3, copy, "the same build id as " + std::string(LibcPath));

  const ElfSymbol *write = findFunction((*elf)->dynamicSymbols(), "write");
  ASSERT_NE(write, nullptr);
  std::optional<uint64_t> offset = fileOffsetOf(**elf, write->value);
  ASSERT_TRUE(offset);
  std::optional<Frame> f = symbols.symbolize(validFrame(id, *offset));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->module, "libc.so.6") << "the first module with a build id names its frames";
  EXPECT_EQ(f->symbol, "write");
}
