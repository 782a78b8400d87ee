// Unit tests of analyzer/: the syscall table, ElfModule error handling and the loader.
#include "tests/analyzer/AnalyzerTestSupport.h"

using namespace bespoke;
using namespace bespoke::analyzertest;

namespace {

// ===================================================================================================
// SyscallTable

TEST(SyscallTable, KnownNumbers) {
  EXPECT_EQ(syscallNumber("read"), 0);
  EXPECT_EQ(syscallNumber("getpid"), 39);
  EXPECT_EQ(syscallNumber("exit"), 60);
  EXPECT_EQ(syscallNumber("gettid"), 186);
  EXPECT_EQ(syscallNumber("exit_group"), 231);
  EXPECT_EQ(syscallNumber("openat"), 257);
  EXPECT_EQ(syscallName(24), "sched_yield");
  EXPECT_EQ(syscallName(41), "socket");
  EXPECT_FALSE(syscallNumber("no_such_syscall").has_value());
  EXPECT_FALSE(syscallNumber("").has_value());
  EXPECT_FALSE(syscallName(-1).has_value());
  EXPECT_FALSE(syscallName(100000).has_value());
}

TEST(SyscallTable, RoundTripsAndIsSorted) {
  const auto &all = x86_64Syscalls();
  ASSERT_GT(all.size(), 300u);
  for (size_t i = 0; i < all.size(); ++i) {
    if (i) {
      EXPECT_LT(all[i - 1].nr, all[i].nr);
    }
    EXPECT_EQ(syscallNumber(all[i].name), all[i].nr) << all[i].name;
    EXPECT_EQ(syscallName(all[i].nr), all[i].name);
  }
}

// ===================================================================================================
// ElfModule

TEST(ElfModule, OpensBinTrue) {
  auto m = ElfModule::open("/bin/true");
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  const ElfModule &e = **m;
  EXPECT_EQ(e.fileName(), "true");
  EXPECT_EQ(e.sha256().size(), 64u);
  EXPECT_EQ(e.sha256(), hexDigest(e.bytes()));
  EXPECT_EQ(e.bytes().size(), fs::file_size("/bin/true"));
  EXPECT_TRUE(contains(e.interpreter(), "ld-linux-x86-64.so.2")) << e.interpreter();
  EXPECT_NE(std::find(e.needed().begin(), e.needed().end(), "libc.so.6"), e.needed().end());
  EXPECT_TRUE(e.inExecutableSection(e.entry()));
  EXPECT_FALSE(e.sections().empty());
  EXPECT_FALSE(e.dynamicSymbols().empty());
}

TEST(ElfModule, HexDigestOfEmptyInput) {
  EXPECT_EQ(hexDigest({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ElfModule, NonexistentPath) {
  TempDir tmp;
  expectElfError(tmp / "does-not-exist", {"cannot open", "No such file"});
}

TEST(ElfModule, Directory) {
  TempDir tmp;
  fs::create_directory(tmp / "adir");
  expectElfError(tmp / "adir", {"directory"});
}

TEST(ElfModule, EmptyFile) {
  TempDir tmp;
  writeFile(tmp / "empty", "");
  expectElfError(tmp / "empty", {"empty"});
}

TEST(ElfModule, TextFile) {
  TempDir tmp;
  writeFile(tmp / "text.txt", "#!/bin/sh\necho hello\n");
  expectElfError(tmp / "text.txt", {"not an ELF"});
}

TEST(ElfModule, ShorterThanMagic) {
  TempDir tmp;
  writeFile(tmp / "three", std::string("\x7f" "EL", 3));
  expectElfError(tmp / "three", {"not an ELF"});
}

TEST(ElfModule, TruncatedTo64Bytes) {
  TempDir tmp;
  writeFile(tmp / "true.64", readFile("/bin/true").substr(0, 64));
  // The ELF header is whole, the program headers it points at are not.
  expectElfError(tmp / "true.64", {"malformed program headers"});
}

TEST(ElfModule, TruncatedTo2000Bytes) {
  TempDir tmp;
  writeFile(tmp / "true.2000", readFile("/bin/true").substr(0, 2000));
  expectElfError(tmp / "true.2000", {"truncated"});
}

TEST(ElfModule, TruncatedInsideHeader) {
  TempDir tmp;
  writeFile(tmp / "true.40", readFile("/bin/true").substr(0, 40));
  expectElfError(tmp / "true.40", {"truncated ELF header"});
}

TEST(ElfModule, EveryTruncationIsAnError) {
  // No prefix of a real executable is accepted, and none crashes the reader. /bin/true's last section
  // (.shstrtab) and the section header table are at its end, so every strict prefix is missing something.
  TempDir tmp;
  std::string bytes = readFile("/bin/true");
  std::vector<size_t> lengths;
  for (size_t n = 0; n < 256; ++n) lengths.push_back(n);
  for (size_t n = 256; n < bytes.size(); n += 997) lengths.push_back(n);
  for (size_t k = 1; k <= 64; ++k) lengths.push_back(bytes.size() - k);
  for (size_t n : lengths) {
    std::string p = tmp / ("true." + std::to_string(n));
    writeFile(p, bytes.substr(0, n));
    std::string msg = openError(p);
    EXPECT_FALSE(msg.empty()) << "a " << n << "-byte prefix of /bin/true was accepted";
    EXPECT_EQ(msg.rfind(p + ": ", 0), 0u) << msg;
    fs::remove(p);
  }
}

TEST(ElfModule, ThirtyTwoBitCopyOfBinTrue) {
  TempDir tmp;
  std::string p = patchedTrue(tmp, "true32", {{4, 1}}); // EI_CLASS = ELFCLASS32
  expectElfError(p, {"32-bit"});
}

TEST(ElfModule, HandMadeElf32Header) {
  // A complete 52-byte ELF32 header for i386 (ET_EXEC), nothing else: a 32-bit file, not a truncated one.
  std::string h(52, '\0');
  h[0] = 0x7f; h[1] = 'E'; h[2] = 'L'; h[3] = 'F';
  h[4] = 1; // ELFCLASS32
  h[5] = 1; // little-endian
  h[6] = 1; // EV_CURRENT
  h[16] = 2; // ET_EXEC
  h[18] = 3; // EM_386
  h[20] = 1; // e_version
  h[40] = 52; // e_ehsize
  TempDir tmp;
  writeFile(tmp / "elf32", h);
  std::string msg = openError(tmp / "elf32");
  ASSERT_FALSE(msg.empty());
  EXPECT_EQ(msg.rfind(tmp / "elf32" + ": ", 0), 0u) << msg;
  // A 52-byte ELF32 header is shorter than an ELF64 header; either diagnosis rejects the file. (Naming it
  // 32-bit would be better: see the report on ElfModule::load's check order.)
  EXPECT_TRUE(contains(msg, "32-bit") || contains(msg, "truncated ELF header")) << msg;
}

TEST(ElfModule, Aarch64CopyOfBinTrue) {
  TempDir tmp;
  std::string p = patchedTrue(tmp, "true-aarch64", {{18, 183}, {19, 0}}); // e_machine = EM_AARCH64
  expectElfError(p, {"aarch64", "not supported"});
}

TEST(ElfModule, UnknownMachine) {
  TempDir tmp;
  std::string p = patchedTrue(tmp, "true-m4660", {{18, 0x34}, {19, 0x12}});
  expectElfError(p, {"machine 4660", "not supported"});
}

TEST(ElfModule, BigEndian) {
  TempDir tmp;
  std::string p = patchedTrue(tmp, "true-be", {{5, 2}}); // EI_DATA = ELFDATA2MSB
  expectElfError(p, {"byte order"});
}

TEST(ElfModule, RelocatableObjectType) {
  TempDir tmp;
  std::string p = patchedTrue(tmp, "true-rel", {{16, 1}, {17, 0}}); // e_type = ET_REL
  expectElfError(p, {"not an executable or shared object"});
}

TEST(ElfModule, SectionHeadersPastEnd) {
  TempDir tmp;
  std::string bytes = readFile("/bin/true");
  uint64_t off = 0xfffffff0ull; // e_shoff far beyond the file
  for (int i = 0; i < 8; ++i) bytes[0x28 + i] = char(off >> (8 * i));
  writeFile(tmp / "true-shoff", bytes);
  expectElfError(tmp / "true-shoff", {"section"});
}

uint64_t le(const std::string &b, size_t off, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(b[off + size_t(i)]);
  return v;
}
void setLe(std::string &b, size_t off, int n, uint64_t v) {
  for (int i = 0; i < n; ++i) b[off + size_t(i)] = char(v >> (8 * i));
}

TEST(ElfModule, ErrorIsOneLineEvenWhenTheFileNamesThingsWithNewlines) {
  // Found by elf_fuzzer: a section name is copied into the message, so a name holding '\n' made a
  // multi-line error (and the CLI printed more than one "bespoke: error:" line). Here .interp is renamed
  // ".i\nterp" and made longer than the file.
  std::string b = readFile("/bin/true");
  uint64_t shoff = le(b, 0x28, 8), shentsize = le(b, 0x3a, 2), shnum = le(b, 0x3c, 2), shstrndx = le(b, 0x3e, 2);
  ASSERT_EQ(shentsize, 64u);
  ASSERT_LT(shstrndx, shnum);
  uint64_t strtab = le(b, size_t(shoff + shstrndx * 64 + 0x18), 8);
  bool patched = false;
  for (uint64_t i = 0; i < shnum && !patched; ++i) {
    size_t sh = size_t(shoff + i * 64);
    size_t name = size_t(strtab + le(b, sh, 4));
    if (b.compare(name, 8, std::string(".interp\0", 8)) != 0) continue;
    b[name + 2] = '\n';
    setLe(b, sh + 0x20, 8, b.size() * 2); // sh_size
    patched = true;
  }
  ASSERT_TRUE(patched) << "no .interp section in /bin/true";
  TempDir tmp;
  writeFile(tmp / "true-newline-section", b);
  expectElfError(tmp / "true-newline-section", {"truncated"});
}

// Runs `body` in a child process; fails the test if it crashes or does not finish in `seconds`.
void expectFinishesInChild(const char *what, int seconds, const std::function<void()> &body) {
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(unsigned(seconds)); // SIGALRM ends a child that hangs
    body();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    ADD_FAILURE() << what << ": did not finish within " << seconds << " s";
  else if (WIFSIGNALED(status))
    ADD_FAILURE() << what << ": killed by signal " << WTERMSIG(status);
  else
    EXPECT_EQ(WEXITSTATUS(status), 0) << what;
}

// /bin/true with the value of its dynamic entry `tag` replaced (the entry is found by its current value).
std::string withDynamicEntry(const TempDir &tmp, const std::string &name, uint64_t tag, uint64_t oldValue,
                             uint64_t newValue) {
  std::string bytes = readFile("/bin/true");
  std::string needle(16, '\0');
  for (int i = 0; i < 8; ++i) {
    needle[size_t(i)] = char(tag >> (8 * i));
    needle[size_t(8 + i)] = char(oldValue >> (8 * i));
  }
  size_t at = bytes.find(needle);
  if (at == std::string::npos || at % 8 != 0) return "";
  for (int i = 0; i < 8; ++i) bytes[at + 8 + size_t(i)] = char(newValue >> (8 * i));
  std::string p = tmp / name;
  writeFile(p, bytes);
  return p;
}

TEST(ElfModule, HugeInitArraySizesDoNotHang) {
  // Found by elf_fuzzer: DT_FINI_ARRAYSZ = 0x6f0000000000fc08 made ElfModule::load walk the array one
  // word at a time for ~10^18 iterations. Any answer (error or module) is fine; hanging is not.
  TempDir tmp;
  for (uint64_t tag : {uint64_t(0x1b) /* DT_INIT_ARRAYSZ */, uint64_t(0x1c) /* DT_FINI_ARRAYSZ */}) {
    for (uint64_t size : {0x6f0000000000fc08ull, 0xfffffffffffffff8ull}) {
      std::string p = withDynamicEntry(tmp, "true-arraysz", tag, 8, size);
      ASSERT_FALSE(p.empty()) << "no dynamic entry " << tag << " = 8 in /bin/true";
      std::string what = "ElfModule::open with dynamic tag " + std::to_string(tag) + " = " + std::to_string(size);
      expectFinishesInChild(what.c_str(), 5, [&] {
        auto m = ElfModule::open(p);
        if (!m) llvm::consumeError(m.takeError());
      });
    }
  }
}

// ===================================================================================================
// Loader

TEST(Loader, ClosureOfBinLs) {
  auto mods = loadClosure("/bin/ls", LoaderOptions{});
  ASSERT_TRUE(bool(mods)) << llvm::toString(mods.takeError());
  ASSERT_GE(mods->size(), 3u);
  EXPECT_EQ((*mods)[0].elf->path(), "/bin/ls");
  EXPECT_EQ((*mods)[0].neededBy, "");
  EXPECT_FALSE((*mods)[0].interpreter);
  std::map<std::string, const LoadedModule *> byName;
  for (const LoadedModule &m : *mods) {
    EXPECT_TRUE(byName.emplace(m.elf->fileName(), &m).second) << m.elf->fileName() << " loaded twice";
  }
  ASSERT_TRUE(byName.count("libc.so.6"));
  ASSERT_TRUE(byName.count("ld-linux-x86-64.so.2"));
  EXPECT_TRUE(byName["ld-linux-x86-64.so.2"]->interpreter);
  EXPECT_FALSE(byName["libc.so.6"]->interpreter);
  EXPECT_FALSE(byName["libc.so.6"]->neededBy.empty());
  for (size_t i = 1; i < mods->size(); ++i) EXPECT_FALSE((*mods)[i].neededBy.empty()) << (*mods)[i].elf->fileName();
}

TEST(Loader, MissingExecutable) {
  TempDir tmp;
  auto mods = loadClosure(tmp / "nothing", LoaderOptions{});
  ASSERT_FALSE(bool(mods));
  std::string msg = llvm::toString(mods.takeError());
  EXPECT_EQ(msg.rfind(tmp / "nothing" + ": ", 0), 0u) << msg;
}

TEST(Loader, MissingLibraryIsAnErrorNamingIt) {
  TempDir tmp;
  LoaderOptions opts;
  opts.ldSoCache = tmp / "no-ld.so.cache";
  std::string prog = data("need_missing");
  auto mods = loadClosure(prog, opts);
  ASSERT_FALSE(bool(mods)) << "the closure of need_missing loaded although libbespokemissing.so is not on the search path";
  std::string msg = llvm::toString(mods.takeError());
  EXPECT_TRUE(contains(msg, "libbespokemissing.so")) << msg;
  EXPECT_TRUE(contains(msg, "not found")) << msg;
  EXPECT_TRUE(contains(msg, prog)) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(Loader, MissingLibraryWithDefaultOptions) {
  // The system's ld.so.cache and default directories do not know the throwaway library either.
  auto mods = loadClosure(data("need_missing"), LoaderOptions{});
  ASSERT_FALSE(bool(mods));
  EXPECT_TRUE(contains(llvm::toString(mods.takeError()), "libbespokemissing.so"));
}

TEST(Loader, LibraryFoundInAnExtraDefaultDirectory) {
  // Control for the two tests above: the same program loads once its library's directory is searched.
  LoaderOptions opts;
  opts.defaultDirs.insert(opts.defaultDirs.begin(), data("missinglib"));
  auto mods = loadClosure(data("need_missing"), opts);
  ASSERT_TRUE(bool(mods)) << llvm::toString(mods.takeError());
  bool found = false;
  for (const LoadedModule &m : *mods)
    if (m.elf->fileName() == "libbespokemissing.so") {
      found = true;
      EXPECT_EQ(m.neededBy, "need_missing");
      EXPECT_EQ(m.elf->path(), data("missinglib") + "/libbespokemissing.so");
    }
  EXPECT_TRUE(found);
}

TEST(Loader, MissingLibraryErrorIsOneLineWhateverItsName) {
  // DT_NEEDED strings come from the file: a name holding '\n' must not break the one-line error.
  std::string b = readFile(data("need_missing"));
  size_t at = b.find(std::string("libbespokemissing.so\0", 21));
  ASSERT_NE(at, std::string::npos);
  b[at + 10] = '\n'; // "libbespoke\nissing.so"
  TempDir tmp;
  writeFile(tmp / "need-newline", b);
  LoaderOptions opts;
  opts.ldSoCache = tmp / "none";
  auto mods = loadClosure(tmp / "need-newline", opts);
  ASSERT_FALSE(bool(mods));
  std::string msg = llvm::toString(mods.takeError());
  EXPECT_TRUE(contains(msg, "not found")) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line error: " << msg;
}

TEST(Loader, ReadsLdSoCache) {
  auto entries = readLdSoCache("/etc/ld.so.cache");
  ASSERT_FALSE(entries.empty());
  bool libc = false;
  for (auto &[name, path] : entries)
    if (name == "libc.so.6") {
      libc = true;
      EXPECT_TRUE(fs::exists(path)) << path;
      EXPECT_EQ(fs::path(path).filename().string(), "libc.so.6");
    }
  EXPECT_TRUE(libc) << "libc.so.6 not in /etc/ld.so.cache";
}

TEST(Loader, BadLdSoCacheFilesAreEmptyNotFatal) {
  TempDir tmp;
  EXPECT_TRUE(readLdSoCache(tmp / "missing").empty());
  writeFile(tmp / "text", "not a cache\n");
  EXPECT_TRUE(readLdSoCache(tmp / "text").empty());
  std::string cache = readFile("/etc/ld.so.cache");
  size_t h = cache.find("glibc-ld.so.cache1.1");
  ASSERT_NE(h, std::string::npos);
  // Truncations and a huge entry count must never read out of bounds.
  for (size_t n : {h + 10, h + 47, h + 48, h + 60, cache.size() / 2, cache.size() - 1}) {
    writeFile(tmp / "cut", cache.substr(0, n));
    auto e = readLdSoCache(tmp / "cut");
    EXPECT_LE(e.size(), readLdSoCache("/etc/ld.so.cache").size());
  }
  std::string huge = cache;
  for (int i = 0; i < 4; ++i) huge[h + 20 + i] = char(0xff);
  writeFile(tmp / "huge", huge);
  EXPECT_EQ(readLdSoCache(tmp / "huge").size(), readLdSoCache("/etc/ld.so.cache").size());
}

} // namespace
