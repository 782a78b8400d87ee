// Unit tests of analyzer/: module models, their serialization and the model cache.
#include "tests/analyzer/AnalyzerTestSupport.h"

using namespace bespoke;
using namespace bespoke::analyzertest;

namespace {

// ===================================================================================================
// Module models and their serialization

// Offset of the function count in a serialized model: magic, version, then four length-prefixed strings.
size_t functionCountOffset(const ModuleModel &m) {
  return 8 + 4 + 4 + m.fileName.size() + 4 + m.sha256.size() + 4 + m.libc.size() + 4 + m.libcVersion.size();
}

ModuleModel modelOf(const std::string &path) {
  auto elf = ElfModule::open(path);
  if (!elf) {
    ADD_FAILURE() << llvm::toString(elf.takeError());
    return {};
  }
  auto m = buildModuleModel(**elf);
  if (!m) {
    ADD_FAILURE() << llvm::toString(m.takeError());
    return {};
  }
  return std::move(*m);
}

class ModelSerialization : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    Model = new ModuleModel(modelOf("/bin/true"));
    Bytes = new std::string(serializeModel(*Model));
  }
  static void TearDownTestSuite() {
    delete Model;
    delete Bytes;
  }
  static ModuleModel *Model;
  static std::string *Bytes;

  // Deserialization of `d` fails with a message naming the input.
  static void expectRejected(const std::string &d, const std::string &what) {
    auto m = deserializeModel(d, "cache-entry");
    ASSERT_FALSE(bool(m)) << what << " was accepted";
    std::string msg = llvm::toString(m.takeError());
    EXPECT_EQ(msg.rfind("cache-entry: ", 0), 0u) << msg;
  }
  // Indices the deserializer promises to have checked.
  static void expectIndicesInRange(const ModuleModel &m) {
    int32_t nf = int32_t(m.functions.size()), ni = int32_t(m.imports.size());
    for (const Function &f : m.functions)
      for (const Edge &e : f.edges) {
        EXPECT_TRUE(e.local >= -1 && e.local < nf);
        EXPECT_TRUE(e.import >= -1 && e.import < ni);
      }
    for (auto &[n, i] : m.exports) EXPECT_TRUE(i >= 0 && i < nf);
    for (int32_t i : m.roots) EXPECT_TRUE(i >= 0 && i < nf);
    for (int32_t i : m.dataAddressTaken) EXPECT_TRUE(i >= 0 && i < nf);
    for (int32_t i : m.dataImports) EXPECT_TRUE(i >= 0 && i < ni);
    EXPECT_TRUE(m.entryFunction >= -1 && m.entryFunction < nf);
  }
};
ModuleModel *ModelSerialization::Model = nullptr;
std::string *ModelSerialization::Bytes = nullptr;

TEST_F(ModelSerialization, ModelOfBinTrueIsPlausible) {
  const ModuleModel &m = *Model;
  EXPECT_EQ(m.fileName, "true");
  EXPECT_GT(m.functions.size(), 10u);
  EXPECT_TRUE(std::is_sorted(m.functions.begin(), m.functions.end(),
                             [](const Function &a, const Function &b) { return a.addr < b.addr; }));
  ASSERT_GE(m.entryFunction, 0);
  auto elf = ElfModule::open("/bin/true");
  ASSERT_TRUE(bool(elf));
  EXPECT_EQ(m.sha256, (*elf)->sha256());
  EXPECT_EQ(m.functions[size_t(m.entryFunction)].addr, (*elf)->entry());
  EXPECT_NE(std::find(m.imports.begin(), m.imports.end(), "__libc_start_main"), m.imports.end());
  EXPECT_TRUE(m.libc.empty()) << "/bin/true is not a C library";
  expectIndicesInRange(m);
}

TEST_F(ModelSerialization, BuildIsDeterministic) {
  EXPECT_EQ(serializeModel(modelOf("/bin/true")), *Bytes);
}

TEST_F(ModelSerialization, RoundTrip) {
  auto m = deserializeModel(*Bytes, "true.model");
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  EXPECT_EQ(serializeModel(*m), *Bytes);
  EXPECT_EQ(m->fileName, Model->fileName);
  EXPECT_EQ(m->sha256, Model->sha256);
  EXPECT_EQ(m->functions.size(), Model->functions.size());
  EXPECT_EQ(m->imports, Model->imports);
  EXPECT_EQ(m->exports, Model->exports);
  EXPECT_EQ(m->entryFunction, Model->entryFunction);
}

TEST_F(ModelSerialization, RoundTripOfLibc) {
  // libc exercises every field: syscall sites, wrapper arguments, exports, ifunc roots, libc detection.
  auto mods = loadClosure("/bin/true", LoaderOptions{});
  ASSERT_TRUE(bool(mods)) << llvm::toString(mods.takeError());
  for (const LoadedModule &lm : *mods) {
    if (lm.elf->fileName() != "libc.so.6") continue;
    auto m = buildModuleModel(*lm.elf);
    ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
    EXPECT_EQ(m->libc, "glibc");
    EXPECT_FALSE(m->exports.empty());
    size_t sites = 0;
    for (const Function &f : m->functions) sites += f.syscalls.size();
    EXPECT_GT(sites, 100u);
    std::string s = serializeModel(*m);
    auto back = deserializeModel(s, "libc.model");
    ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
    EXPECT_EQ(serializeModel(*back), s);
    return;
  }
  FAIL() << "libc.so.6 not in the closure of /bin/true";
}

TEST_F(ModelSerialization, EmptyAndForeignData) {
  expectRejected("", "empty data");
  expectRejected("BSPKMODL", "magic only");
  expectRejected(std::string(64, '\0'), "zeros");
  expectRejected("#!/bin/sh\necho not a model\n", "text");
  std::string other = *Bytes;
  uint32_t v = ModuleModel::FormatVersion + 1;
  for (int i = 0; i < 4; ++i) other[8 + i] = char(v >> (8 * i));
  auto m = deserializeModel(other, "cache-entry");
  ASSERT_FALSE(bool(m));
  EXPECT_TRUE(contains(llvm::toString(m.takeError()), "another bespoke version"));
}

TEST_F(ModelSerialization, EveryTruncationIsRejected) {
  const std::string &b = *Bytes;
  std::set<size_t> lengths;
  for (size_t n = 0; n < std::min<size_t>(b.size(), 300); ++n) lengths.insert(n);
  for (size_t n = 0; n < b.size(); n += std::max<size_t>(1, b.size() / 211)) lengths.insert(n);
  for (size_t k = 1; k <= 64 && k <= b.size(); ++k) lengths.insert(b.size() - k);
  for (size_t n : lengths) expectRejected(b.substr(0, n), "a " + std::to_string(n) + "-byte prefix");
  expectRejected(b + std::string(1, '\0'), "trailing garbage");
}

TEST_F(ModelSerialization, EveryHeaderBitFlipIsRejected) {
  for (size_t i = 0; i < 12; ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string d = *Bytes;
      d[i] = char(d[i] ^ (1 << bit));
      expectRejected(d, "bit " + std::to_string(bit) + " of byte " + std::to_string(i) + " flipped");
    }
}

TEST_F(ModelSerialization, HugeCountsAreRejectedWithoutAllocating) {
  size_t off = functionCountOffset(*Model);
  ASSERT_LE(off + 4, Bytes->size());
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= uint32_t(uint8_t((*Bytes)[off + i])) << (8 * i);
  ASSERT_EQ(n, Model->functions.size()) << "serialized layout changed: update functionCountOffset";
  for (uint32_t huge : {0xffffffffu, 0x80000000u, 0x10000000u, uint32_t(n + 1)}) {
    std::string d = *Bytes;
    for (int i = 0; i < 4; ++i) d[off + i] = char(huge >> (8 * i));
    expectRejected(d, "function count " + std::to_string(huge));
  }
  // The first function's edge count: after its address (8), name (4 + size) and decode errors (4).
  size_t edgeOff = off + 4 + 8 + 4 + Model->functions[0].name.size() + 4;
  std::string d = *Bytes;
  for (int i = 0; i < 4; ++i) d[edgeOff + i] = char(0xff);
  expectRejected(d, "edge count 0xffffffff");
}

TEST_F(ModelSerialization, OutOfRangeIndicesAreRejected) {
  const ModuleModel &good = *Model;
  int32_t nf = int32_t(good.functions.size()), ni = int32_t(good.imports.size());
  auto reject = [&](const char *what, auto mutate) {
    ModuleModel m = good;
    mutate(m);
    expectRejected(serializeModel(m), what);
  };
  reject("entry = #functions", [&](ModuleModel &m) { m.entryFunction = nf; });
  reject("entry = -2", [&](ModuleModel &m) { m.entryFunction = -2; });
  reject("root out of range", [&](ModuleModel &m) { m.roots.push_back(nf + 3); });
  reject("negative root", [&](ModuleModel &m) { m.roots.push_back(-1); });
  reject("export out of range", [&](ModuleModel &m) { m.exports.push_back({"zzz", nf}); });
  reject("data reference out of range", [&](ModuleModel &m) { m.dataAddressTaken.push_back(nf); });
  reject("data import out of range", [&](ModuleModel &m) { m.dataImports.push_back(ni); });
  reject("negative data import", [&](ModuleModel &m) { m.dataImports.push_back(-1); });
  auto firstEdge = [](ModuleModel &m) -> Edge & {
    for (Function &f : m.functions)
      if (!f.edges.empty()) return f.edges[0];
    m.functions[0].edges.push_back({});
    return m.functions[0].edges[0];
  };
  reject("edge to function #functions", [&](ModuleModel &m) { firstEdge(m).local = nf; });
  reject("edge to function -5", [&](ModuleModel &m) { firstEdge(m).local = -5; });
  reject("edge to import #imports", [&](ModuleModel &m) { firstEdge(m).import = ni; });
  reject("edge to import -7", [&](ModuleModel &m) { firstEdge(m).import = -7; });
  reject("edge kind 9", [&](ModuleModel &m) { firstEdge(m).kind = Edge::Kind(9); });
  reject("syscall kind 7", [&](ModuleModel &m) { m.functions[0].syscalls.push_back({SyscallSite::Kind(7), 0, {}, {}}); });
  reject("abstract value kind 9", [&](ModuleModel &m) {
    SyscallSite s;
    s.nr.kind = AbsValue::Kind(9);
    m.functions[0].syscalls.push_back(s);
  });
  reject("constant count 200", [&](ModuleModel &m) {
    SyscallSite s;
    s.nr = AbsValue::entry(7);
    s.nr.n = 200; // not written for Entry values, but read back and checked
    m.functions[0].syscalls.push_back(s);
  });
}

TEST_F(ModelSerialization, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(20240611);
  const std::string &b = *Bytes;
  int accepted = 0, rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string d = b;
    int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      size_t pos = size_t(rng() % d.size());
      switch (rng() % 3) {
      case 0: d[pos] = char(d[pos] ^ (1 << (rng() % 8))); break;
      case 1: d[pos] = char(rng()); break;
      default: d[pos] = char(0xff); break;
      }
    }
    if (rng() % 4 == 0) d.resize(size_t(rng() % d.size()));
    auto m = deserializeModel(d, "cache-entry");
    if (!m) {
      ++rejected;
      std::string msg = llvm::toString(m.takeError());
      ASSERT_EQ(msg.rfind("cache-entry: ", 0), 0u) << msg;
      continue;
    }
    ++accepted; // a flip in an address or a name can leave a well-formed model
    expectIndicesInRange(*m);
    if (HasFailure()) return;
    EXPECT_EQ(serializeModel(*m).size(), d.size()) << "an accepted model must re-serialize to its input size";
  }
  EXPECT_GT(rejected, 0);
  std::cout << "[   INFO   ] corrupted models: " << rejected << " rejected, " << accepted << " accepted (well-formed)\n";
}

// ===================================================================================================
// Model cache

std::vector<std::string> cacheFiles(const std::string &dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir + "/models", ec)) return out;
  for (auto &e : fs::directory_iterator(dir + "/models")) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ModelCache, MissThenHit) {
  TempDir tmp;
  std::string dir = tmp / "cache";
  auto elf = ElfModule::open("/bin/true");
  ASSERT_TRUE(bool(elf));
  std::string fresh = serializeModel(modelOf("/bin/true"));

  bool hit = true;
  auto first = ModelCache(dir).get(**elf, hit);
  ASSERT_TRUE(bool(first)) << llvm::toString(first.takeError());
  EXPECT_FALSE(hit) << "a fresh cache directory cannot hit";
  EXPECT_EQ(serializeModel(*first), fresh);
  auto files = cacheFiles(dir);
  ASSERT_EQ(files.size(), 1u) << "expected one model file and no temporaries";
  EXPECT_EQ(files[0].rfind((*elf)->sha256(), 0), 0u) << files[0];

  hit = false;
  auto second = ModelCache(dir).get(**elf, hit);
  ASSERT_TRUE(bool(second)) << llvm::toString(second.takeError());
  EXPECT_TRUE(hit);
  EXPECT_EQ(serializeModel(*second), fresh) << "the cached model differs from a freshly built one";
  EXPECT_EQ(cacheFiles(dir), files);
}

TEST(ModelCache, SameContentUnderAnotherName) {
  TempDir tmp;
  std::string dir = tmp / "cache";
  fs::copy_file("/bin/true", tmp / "other-name");
  bool hit = true;
  auto a = ElfModule::open("/bin/true");
  ASSERT_TRUE(bool(a));
  ASSERT_TRUE(bool(ModelCache(dir).get(**a, hit)));
  EXPECT_FALSE(hit);
  auto b = ElfModule::open(tmp / "other-name");
  ASSERT_TRUE(bool(b));
  auto m = ModelCache(dir).get(**b, hit);
  ASSERT_TRUE(bool(m));
  EXPECT_TRUE(hit) << "the cache is keyed by content";
  EXPECT_EQ(m->fileName, "other-name");
}

TEST(ModelCache, CorruptEntryIsRebuilt) {
  TempDir tmp;
  std::string dir = tmp / "cache";
  auto elf = ElfModule::open("/bin/true");
  ASSERT_TRUE(bool(elf));
  bool hit = true;
  ASSERT_TRUE(bool(ModelCache(dir).get(**elf, hit)));
  auto files = cacheFiles(dir);
  ASSERT_EQ(files.size(), 1u);
  std::string entry = dir + "/models/" + files[0];
  std::string good = readFile(entry);
  std::string fresh = serializeModel(modelOf("/bin/true"));
  for (std::string bad : {good.substr(0, good.size() / 2), std::string("garbage"), std::string()}) {
    writeFile(entry, bad);
    auto m = ModelCache(dir).get(**elf, hit);
    ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
    EXPECT_FALSE(hit) << "a corrupt entry must not count as a hit";
    EXPECT_EQ(serializeModel(*m), fresh);
    EXPECT_EQ(readFile(entry), good) << "the corrupt entry was not replaced";
  }
}

// The GNU build ID of a file, read with LLVM's ELF reader (independently of ModelCache's in-memory read).
std::string buildIdOf(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path, false, false);
  if (!buf) return "";
  auto elf = llvm::object::ELF64LEFile::create((*buf)->getBuffer());
  if (!elf) { llvm::consumeError(elf.takeError()); return ""; }
  auto phdrs = elf->program_headers();
  if (!phdrs) { llvm::consumeError(phdrs.takeError()); return ""; }
  for (const auto &ph : *phdrs) {
    if (ph.p_type != llvm::ELF::PT_NOTE) continue;
    llvm::Error err = llvm::Error::success();
    for (const auto &note : elf->notes(ph, err))
      if (note.getType() == llvm::ELF::NT_GNU_BUILD_ID && note.getName() == "GNU")
        return llvm::toHex(note.getDesc(ph.p_align), /*LowerCase=*/true);
    llvm::consumeError(std::move(err));
  }
  return "";
}

// The key of the analyzer build is the linker's build ID (read from memory, not by hashing the 50 MB
// executable on every run), so a rebuilt analyzer never reads models written by another build.
TEST(ModelCache, KeyedByTheExecutablesBuildId) {
  std::string id = buildIdOf("/proc/self/exe");
  ASSERT_FALSE(id.empty()) << "analyzer/CMakeLists.txt links with --build-id";
  TempDir tmp;
  std::string dir = tmp / "cache";
  auto elf = ElfModule::open("/bin/true");
  ASSERT_TRUE(bool(elf));
  bool hit = true;
  ASSERT_TRUE(bool(ModelCache(dir).get(**elf, hit)));
  auto files = cacheFiles(dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], (*elf)->sha256() + ".b" + id + ".model");

  // The same entry under another build's key is not this build's: a miss, rebuilt under our key.
  std::string other = (*elf)->sha256() + ".b" + std::string(id.size(), '0') + ".model";
  fs::rename(dir + "/models/" + files[0], dir + "/models/" + other);
  auto m = ModelCache(dir).get(**elf, hit);
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  EXPECT_FALSE(hit) << "a model written by another build was used";
  std::vector<std::string> both{other, files[0]};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(cacheFiles(dir), both);
}

TEST(ModelCache, EmptyDirectoryDisablesIt) {
  auto elf = ElfModule::open("/bin/true");
  ASSERT_TRUE(bool(elf));
  ModelCache c("");
  for (int i = 0; i < 2; ++i) {
    bool hit = true;
    auto m = c.get(**elf, hit);
    ASSERT_TRUE(bool(m));
    EXPECT_FALSE(hit);
  }
}

TEST(ModelCache, UnwritableDirectoryOnlyCostsTime) {
  TempDir tmp;
  writeFile(tmp / "file", "x"); // a file where the cache directory should be
  auto elf = ElfModule::open("/bin/true");
  ASSERT_TRUE(bool(elf));
  bool hit = true;
  auto m = ModelCache(tmp / "file").get(**elf, hit);
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  EXPECT_FALSE(hit);
}

} // namespace
