// Tests of manifest v1: the exact rendered layout, determinism, round trips, frame strings, every load
// error (fixtures in testdata/), and atomic saving.

#include "manifests/Manifest.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

using namespace bespoke;
namespace fs = std::filesystem;

namespace {

const std::string kShaA(64, 'a');
const std::string kShaB = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// The test sources sit beside testdata/ and two levels below manifests/README.md (CMake compiles them
// by absolute path).
fs::path sourceDir() { return fs::path(__FILE__).parent_path(); }
fs::path testdata(const std::string &name) { return sourceDir() / "testdata" / name; }

std::string readFile(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path &p, const std::string &text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<std::string> listDir(const fs::path &d) {
  std::vector<std::string> names;
  for (const auto &e : fs::directory_iterator(d)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A frame of machine code (no source file or line).
Frame machineFrame(std::string module, std::string symbol, uint64_t address) {
  Frame f;
  f.module = std::move(module);
  f.symbol = std::move(symbol);
  f.address = address;
  return f;
}

// Field-by-field equality, so a round trip is checked on content and not only on text.
bool same(const Frame &a, const Frame &b) { return std::tie(a.module, a.symbol, a.address) == std::tie(b.module, b.symbol, b.address); }
bool same(const Evidence &a, const Evidence &b) {
  return a.root == b.root && std::equal(a.chain.begin(), a.chain.end(), b.chain.begin(), b.chain.end(),
                                        [](const Frame &x, const Frame &y) { return same(x, y); });
}
bool same(const Footprint &a, const Footprint &b) {
  auto appKey = [](const AppInfo &x) { return std::tie(x.name, x.path, x.sha256, x.arch, x.linkage, x.libc, x.libcVersion); };
  if (appKey(a.app) != appKey(b.app)) return false;
  if (!std::equal(a.modules.begin(), a.modules.end(), b.modules.begin(), b.modules.end(), [](auto &x, auto &y) {
        return std::tie(x.name, x.path, x.sha256, x.kind, x.loaded, x.by, x.target, x.config, x.flag) ==
                   std::tie(y.name, y.path, y.sha256, y.kind, y.loaded, y.by, y.target, y.config, y.flag) &&
               x.site.has_value() == y.site.has_value() && (!x.site || same(*x.site, *y.site));
      }))
    return false;
  if (!std::equal(a.files.begin(), a.files.end(), b.files.begin(), b.files.end(),
                  [](auto &x, auto &y) { return x.path == y.path && same(x.evidence, y.evidence); }))
    return false;
  auto evidenceEq = [](const std::vector<Evidence> &x, const std::vector<Evidence> &y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](auto &p, auto &q) { return same(p, q); });
  };
  if (!std::equal(a.syscalls.begin(), a.syscalls.end(), b.syscalls.begin(), b.syscalls.end(), [&](auto &x, auto &y) {
        if (x.name != y.name || x.nr != y.nr || x.args.size() != y.args.size() || !evidenceEq(x.evidence, y.evidence))
          return false;
        for (const auto &[k, f] : x.args) {
          auto it = y.args.find(k);
          if (it == y.args.end() || it->second.any != f.any || it->second.values != f.values) return false;
        }
        return true;
      }))
    return false;
  if (a.kernel.paths != b.kernel.paths || a.kernel.features != b.kernel.features) return false;
  if (!std::equal(a.unresolved.begin(), a.unresolved.end(), b.unresolved.begin(), b.unresolved.end(), [](auto &x, auto &y) {
        return x.kind == y.kind && x.why == y.why && same(x.evidence, y.evidence);
      }))
    return false;
  auto statsKey = [](const AnalysisStats &s) {
    return std::tie(s.functions, s.reachableFunctions, s.indirectCallSites, s.addressTakenFunctions);
  };
  return statsKey(a.stats) == statsKey(b.stats);
}

// Already in canonical order, so parse(render(sample())) must equal it field by field.
Manifest sample() {
  Manifest m;
  Footprint &fp = m.footprint;
  fp.app = {"demo", "/usr/bin/demo", kShaA, "x86_64", "dynamic", "glibc", "2.36"};
  ModuleInfo demo, libc, nss;
  demo.name = "demo";
  demo.path = "/usr/bin/demo";
  demo.sha256 = kShaA;
  demo.kind = "program";
  demo.loaded = "executable";
  libc.name = "libc.so.6";
  libc.path = "/lib/x86_64-linux-gnu/libc.so.6";
  libc.sha256 = kShaB;
  libc.kind = "library";
  libc.loaded = "needed";
  libc.by = "demo";
  nss.name = "libnss_systemd.so.2";
  nss.path = "/lib/x86_64-linux-gnu/libnss_systemd.so.2";
  nss.sha256 = kShaB;
  nss.kind = "library";
  nss.loaded = "nss";
  nss.by = "libc.so.6";
  nss.config = "/etc/nsswitch.conf:7: passwd: files systemd";
  fp.modules = {demo, libc, nss};
  Frame fopen = machineFrame("libc.so.6", "fopen", 0x7f10);
  fp.files = {{"/etc/demo.conf", {"entry", {machineFrame("demo", "main", 0x40), fopen}}}};
  SyscallUse openat{"openat", 257, {},
                    {{"entry", {machineFrame("demo", "main", 0x10), machineFrame("libc.so.6", "__open64", 0xf7e2a)}}}};
  openat.args["flags"] = ArgFact::of({"O_CLOEXEC", "O_RDONLY"});
  openat.args["pathname"] = ArgFact::anyOf();
  SyscallUse write{"write", 1, {},
                   {{"entry", {machineFrame("demo", "_start", 0x1000), machineFrame("libc.so.6", "write@GLIBC_2.2.5", 0x2a)}},
                    {"init_array", {machineFrame("demo", "sub_1200", 0x1234)}}}};
  fp.syscalls = {openat, write};
  fp.kernel.paths = {"/dev/null", "/proc/self/maps"};
  fp.kernel.features = {"CONFIG_EPOLL"};
  fp.unresolved = {
      {"syscall-number", "eax is not a constant at the syscall instruction",
       {"address-taken", {machineFrame("libc.so.6", "sub_1234", 0x1240)}}},
      {"dlopen", "dlopen of a library chosen at run time",
       {"entry", {machineFrame("demo", "main", 0x30), machineFrame("libc.so.6", "dlopen", 0x9000)}}},
  };
  fp.stats = {123, 100, 7, 12};
  return m;
}

// sample() as a version 1 manifest (before modules said how they were loaded and files were recorded):
// still read, and saved back unchanged.
Manifest sampleV1() {
  Manifest m = sample();
  m.version = 1;
  m.footprint.files.clear();
  m.footprint.modules.pop_back();
  for (ModuleInfo &mod : m.footprint.modules) {
    ModuleInfo bare;
    bare.name = mod.name;
    bare.path = mod.path;
    bare.sha256 = mod.sha256;
    mod = bare;
  }
  return m;
}

// The exact text for sample(): key order, quoting, block and flow styles, indentation.
const char *kSampleText = R"(bespoke: 2
app:
  name: demo
  path: /usr/bin/demo
  sha256: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  arch: x86_64
  linkage: dynamic
  libc: glibc
  libc_version: "2.36"
modules:
  - name: demo
    path: /usr/bin/demo
    sha256: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    kind: program
    loaded: executable
  - name: libc.so.6
    path: /lib/x86_64-linux-gnu/libc.so.6
    sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    kind: library
    loaded: needed
    by: demo
  - name: libnss_systemd.so.2
    path: /lib/x86_64-linux-gnu/libnss_systemd.so.2
    sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    kind: library
    loaded: nss
    by: libc.so.6
    config: "/etc/nsswitch.conf:7: passwd: files systemd"
syscalls:
  - name: openat
    nr: 257
    args:
      flags: [O_CLOEXEC, O_RDONLY]
      pathname: any
    evidence:
      - root: entry
        chain:
          - "demo!main@0x10"
          - "libc.so.6!__open64@0xf7e2a"
  - name: write
    nr: 1
    args: {}
    evidence:
      - root: entry
        chain:
          - "demo!_start@0x1000"
          - "libc.so.6!write@GLIBC_2.2.5@0x2a"
      - root: init_array
        chain:
          - "demo!sub_1200@0x1234"
kernel:
  paths:
    - /dev/null
    - /proc/self/maps
  features:
    - CONFIG_EPOLL
files:
  - path: /etc/demo.conf
    root: entry
    chain:
      - "demo!main@0x40"
      - "libc.so.6!fopen@0x7f10"
unresolved:
  - kind: syscall-number
    why: "eax is not a constant at the syscall instruction"
    root: address-taken
    chain:
      - "libc.so.6!sub_1234@0x1240"
  - kind: dlopen
    why: "dlopen of a library chosen at run time"
    root: entry
    chain:
      - "demo!main@0x30"
      - "libc.so.6!dlopen@0x9000"
stats:
  functions: 123
  reachable_functions: 100
  indirect_call_sites: 7
  address_taken_functions: 12
)";

std::string errorOf(const std::string &text, const std::string &name = "m.yaml") {
  auto m = parseManifest(text, name);
  if (m) return "(no error)";
  return llvm::toString(m.takeError());
}

std::string replaceOnce(std::string s, const std::string &from, const std::string &to) {
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << "'" << from << "' not in the text";
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

// A fresh directory per test, removed afterwards.
class TempDir {
public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("bespoke-manifest-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path &path() const { return path_; }
  std::string operator/(const std::string &name) const { return (path_ / name).string(); }

private:
  fs::path path_;
};

} // namespace

// ---------------------------------------------------------------------------------------------------
// Rendering

TEST(ManifestRender, MatchesTheDocumentedLayoutExactly) {
  EXPECT_EQ(renderManifest(sample()), kSampleText);
}

TEST(ManifestRender, DependsOnlyOnContentNotOnInputOrder) {
  Manifest shuffled = sample();
  Footprint &fp = shuffled.footprint;
  std::reverse(fp.syscalls.begin(), fp.syscalls.end());
  std::reverse(fp.kernel.paths.begin(), fp.kernel.paths.end());
  std::reverse(fp.unresolved.begin(), fp.unresolved.end());
  fp.kernel.paths.push_back("/dev/null"); // a set: duplicates collapse
  fp.syscalls[1].args["flags"].values = {"O_RDONLY", "O_CLOEXEC", "O_RDONLY"};
  EXPECT_EQ(renderManifest(shuffled), kSampleText);
  EXPECT_EQ(renderManifest(sample()), renderManifest(sample()));
}

// Why an argument is `any` is written beside it as a comment for reviewers; no reader keeps a comment, so
// a manifest parsed back has no reason and renders without it.
TEST(ManifestRender, WritesTheReasonForAnyAsACommentThatIsNotReadBack) {
  Manifest m = sample();
  m.footprint.syscalls[0].args["pathname"].why = "libc.so.6!sub_1 passes a non-constant to libc.so.6!open64";
  const std::string text = renderManifest(m);
  EXPECT_NE(text.find("      pathname: any  # libc.so.6!sub_1 passes a non-constant to libc.so.6!open64\n"),
            std::string::npos);
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_TRUE(back->footprint.syscalls[0].args["pathname"].any);
  EXPECT_EQ(back->footprint.syscalls[0].args["pathname"].why, "");
  EXPECT_EQ(renderManifest(*back), kSampleText);
}

// So are the models behind a value list, the site passing each value (one value per line then) and the
// reasons for kernel features; saveManifest's read-back check compares without them.
TEST(ManifestRender, WritesModelsSitesAndFeatureReasonsAsCommentsThatSaveAccepts) {
  Manifest m = sample();
  m.footprint.kernel.featureReasons["CONFIG_EPOLL"] = "syscall epoll_wait";
  ArgFact &flags = m.footprint.syscalls[0].args["flags"];
  ASSERT_FALSE(flags.any);
  flags.why = "values from a model";
  flags.sites[flags.values[0]] = Frame{"libc.so.6", "open64", 0x1234, "", 0};
  const std::string text = renderManifest(m);
  EXPECT_NE(text.find("    - CONFIG_EPOLL  # syscall epoll_wait\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      flags:  # values from a model\n        - " + flags.values[0] + "  # libc.so.6!open64@0x1234\n"),
            std::string::npos) << text;
  TempDir d;
  ASSERT_FALSE(bool(saveManifest(m, d / "out.yaml")));
  auto back = loadManifest(d / "out.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_TRUE(back->footprint.kernel.featureReasons.empty());
  EXPECT_EQ(back->footprint.kernel.features, m.footprint.kernel.features);
  EXPECT_EQ(back->footprint.syscalls[0].args["flags"].values, flags.values);
  EXPECT_TRUE(back->footprint.syscalls[0].args["flags"].sites.empty());
}

TEST(ManifestRender, KeepsModulesInLoadOrderAndEvidenceInGivenOrder) {
  Manifest m = sample();
  std::reverse(m.footprint.modules.begin(), m.footprint.modules.end());
  std::reverse(m.footprint.syscalls[1].evidence.begin(), m.footprint.syscalls[1].evidence.end());
  std::string text = renderManifest(m);
  EXPECT_LT(text.find("  - name: libc.so.6"), text.find("  - name: demo"));
  EXPECT_LT(text.find("root: init_array"), text.find("demo!_start@0x1000"));
}

TEST(ManifestRender, EmptySectionsAreWrittenAsEmptyCollections) {
  Manifest m;
  m.footprint.app = {"a", "/a", kShaA, "x86_64", "static", "none", "none"};
  std::string text = renderManifest(m);
  for (const char *line : {"\nmodules: []\n", "\nsyscalls: []\n", "\n  paths: []\n", "\n  features: []\n",
                           "\nunresolved: []\n", "\n  functions: 0\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
}

TEST(ManifestRender, QuotesStringsThatWouldReadBackAsOtherTypes) {
  Manifest m = sample();
  m.footprint.app.libcVersion = "1.2.3";
  m.footprint.kernel.paths = {"", "-", "123", "2.36", "true", "No", "null", "~", ".inf", "a b", "a: b", "#x",
                              "line\nbreak", "tab\there", "\"quoted\"", "/proc/self/status"};
  std::string text = renderManifest(m);
  EXPECT_NE(text.find("libc_version: \"1.2.3\"\n"), std::string::npos);
  for (const char *quoted : {"\"\"", "\"-\"", "\"123\"", "\"2.36\"", "\"true\"", "\"No\"", "\"null\"", "\"~\"",
                             "\".inf\"", "\"a b\"", "\"a: b\"", "\"#x\"", "\"line\\nbreak\"", "\"tab\\there\""})
    EXPECT_NE(text.find(std::string("    - ") + quoted + "\n"), std::string::npos) << quoted << "\n" << text;
  EXPECT_NE(text.find("    - /proc/self/status\n"), std::string::npos); // safe strings stay plain
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  std::vector<std::string> expected = m.footprint.kernel.paths;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(back->footprint.kernel.paths, expected);
  EXPECT_EQ(back->footprint.app.libcVersion, "1.2.3");
}

// ---------------------------------------------------------------------------------------------------
// Round trips

TEST(ManifestRoundTrip, RenderParseRenderIsByteIdenticalAndFieldsAreEqual) {
  std::string text = renderManifest(sample());
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->version, 2);
  EXPECT_TRUE(same(back->footprint, sample().footprint));
  EXPECT_EQ(renderManifest(*back), text);
}

TEST(ManifestRoundTrip, Version1IsReadAndSavedBackUnchanged) {
  std::string text = renderManifest(sampleV1());
  EXPECT_EQ(text.rfind("bespoke: 1\n", 0), 0u) << text;
  EXPECT_EQ(text.find("    kind: program"), std::string::npos) << text;
  EXPECT_EQ(text.find("files:"), std::string::npos) << text;
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->version, 1);
  EXPECT_TRUE(same(back->footprint, sampleV1().footprint));
  EXPECT_EQ(renderManifest(*back), text);
  // Version 1 has neither `files` nor module origins: they are unknown keys there.
  EXPECT_EQ(errorOf(replaceOnce(text, "stats:", "files: []\nstats:")),
            "m.yaml:57: unknown top-level key 'files' (expected bespoke, app, modules, syscalls, kernel, unresolved, crosscheck, stats)");
  EXPECT_EQ(errorOf(replaceOnce(text, "    sha256: \"aaaa", "    kind: program\n    sha256: \"aaaa")),
            "m.yaml:13: modules[0]: unknown key 'kind' (expected name, path, sha256)");
  // A version 1 manifest given version 2 content is saved as version 2.
  Manifest grown = *back;
  grown.footprint.files = sample().footprint.files;
  EXPECT_EQ(renderManifest(grown).rfind("bespoke: 2\n", 0), 0u);
}

TEST(ManifestErrors, Version2ModuleOrigins) {
  std::string text = renderManifest(sample());
  EXPECT_EQ(errorOf(replaceOnce(text, "    loaded: needed\n    by: demo\n", "    loaded: needed\n")),
            "m.yaml:16: modules[1]: missing 'by' (a module loaded by needed has one)");
  EXPECT_EQ(errorOf(replaceOnce(text, "    loaded: executable\n", "    loaded: executable\n    by: init\n")),
            "m.yaml:16: modules[0]: 'by' does not apply to a module loaded by executable");
  EXPECT_EQ(errorOf(replaceOnce(text, "    loaded: needed\n", "    loaded: linked\n")),
            "m.yaml:20: modules[1]: 'loaded' must be executable, needed, interpreter, dlopen, exec, nss, gconv, pam, "
            "openssl, flag or observed, found 'linked'");
  EXPECT_EQ(errorOf(replaceOnce(text, "    kind: program\n", "    kind: daemon\n")),
            "m.yaml:14: modules[0]: 'kind' must be program or library, found 'daemon'");
  EXPECT_EQ(errorOf(replaceOnce(text, "    loaded: nss\n", "    loaded: dlopen\n    site: \"demo!main@0x30\"\n    target: libx.so\n")),
            "m.yaml:30: modules[2]: 'config' does not apply to a module loaded by dlopen");
  EXPECT_EQ(errorOf(replaceOnce(text, "    loaded: nss\n    by: libc.so.6\n    config: \"/etc/nsswitch.conf:7: passwd: files systemd\"\n",
                                "    loaded: dlopen\n    by: demo\n    site: main\n    target: libx.so\n")),
            "m.yaml:28: modules[2]: 'site' must be a frame module!symbol@0xADDRESS, found 'main'");
  EXPECT_EQ(errorOf(replaceOnce(text, "  - name: libnss_systemd.so.2\n", "  - name: libc.so.6\n")),
            "m.yaml:22: modules[2]: module name 'libc.so.6' is listed twice (first at line 16)");
  EXPECT_EQ(errorOf(replaceOnce(text, "  - path: /etc/demo.conf\n", "  - path: demo.conf\n")),
            "m.yaml:58: files[0]: 'path' must be an absolute path, found 'demo.conf'");
  // Every origin renders and reads back.
  Manifest m = sample();
  ModuleInfo dl = m.footprint.modules[2], ex = dl, fl = dl, ob = dl;
  dl.name = "libx.so";
  dl.loaded = "dlopen";
  dl.by = "demo";
  dl.config.clear();
  dl.site = machineFrame("demo", "main", 0x30);
  dl.target = "libx.so";
  ex = dl;
  ex.name = "sh";
  ex.kind = "program";
  ex.loaded = "exec";
  ex.target = "/bin/sh";
  fl = ex;
  fl.name = "xz";
  fl.loaded = "flag";
  fl.site.reset();
  fl.target.clear();
  fl.by.clear();
  fl.flag = "--exec xz";
  ob = fl;
  ob.name = "libnuma.so.1";
  ob.kind = "library";
  ob.loaded = "observed";
  ob.flag.clear();
  ob.by = "nginx";
  m.footprint.modules.insert(m.footprint.modules.end(), {dl, ex, fl, ob});
  std::string all = renderManifest(m);
  auto back = parseManifest(all, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError()) << "\n" << all;
  EXPECT_TRUE(same(back->footprint, m.footprint));
  EXPECT_EQ(renderManifest(*back), all);
}

TEST(ManifestRoundTrip, ParsedManifestIsInCanonicalOrder) {
  // A hand-edited file with syscalls out of order loads sorted, and renders canonically.
  std::string text = readFile(testdata("minimal.yaml"));
  std::string swapped = replaceOnce(text, "  - name: openat\n    nr: 257", "  - name: TMP\n    nr: 257");
  swapped = replaceOnce(swapped, "  - name: write\n    nr: 1", "  - name: openat\n    nr: 257");
  swapped = replaceOnce(swapped, "  - name: TMP\n    nr: 257", "  - name: write\n    nr: 1");
  auto a = parseManifest(text, "a.yaml"), b = parseManifest(swapped, "b.yaml");
  ASSERT_TRUE(bool(a)) << llvm::toString(a.takeError());
  ASSERT_TRUE(bool(b)) << llvm::toString(b.takeError());
  EXPECT_EQ(b->footprint.syscalls[0].name, "openat");
  EXPECT_EQ(b->footprint.syscalls[1].name, "write");
}

TEST(ManifestRoundTrip, FramesWithAtSignsAndBangsInSymbols) {
  Manifest m = sample();
  std::vector<Frame> chain = {machineFrame("libc.so.6", "memcpy@GLIBC_2.14", 0x1),
                              machineFrame("demo", "write@plt", 0x2),
                              machineFrame("demo", "odd@0x12", 0x3), // the last "@0x" separates the address
                              machineFrame("demo", "a!b", 0x4),      // the first '!' separates the module
                              machineFrame("ld-linux-x86-64.so.2", "_dl_start@@GLIBC_PRIVATE", 0xffffffffffffffff)};
  m.footprint.syscalls[0].evidence = {{"entry", chain}};
  std::string text = renderManifest(m);
  EXPECT_NE(text.find("\"demo!odd@0x12@0x3\""), std::string::npos);
  EXPECT_NE(text.find("\"ld-linux-x86-64.so.2!_dl_start@@GLIBC_PRIVATE@0xffffffffffffffff\""), std::string::npos);
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  const std::vector<Frame> &got = back->footprint.syscalls[0].evidence[0].chain;
  ASSERT_EQ(got.size(), chain.size());
  for (size_t i = 0; i < chain.size(); ++i)
    EXPECT_TRUE(same(got[i], chain[i])) << got[i].module << " | " << got[i].symbol << " | " << got[i].address;
  EXPECT_EQ(renderManifest(*back), text);
}

TEST(ManifestRoundTrip, FlowAndBlockChainsReadTheSame) {
  // Hand-written manifests may use either style; minimal.yaml uses flow chains.
  auto m = loadManifest(testdata("minimal.yaml").string());
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  const Frame &f = m->footprint.syscalls[1].evidence[0].chain[1];
  EXPECT_EQ(f.module, "libc.so.6");
  EXPECT_EQ(f.symbol, "write@GLIBC_2.2.5");
  EXPECT_EQ(f.address, 0x2au);
  auto again = parseManifest(renderManifest(*m), "again.yaml");
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  EXPECT_TRUE(same(again->footprint, m->footprint));
}

TEST(ManifestRoundTrip, MissingOptionalSectionsLoadAsEmpty) {
  auto m = loadManifest(testdata("minimal.yaml").string());
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  const Footprint &fp = m->footprint;
  EXPECT_TRUE(fp.modules.empty());
  EXPECT_TRUE(fp.kernel.paths.empty());
  EXPECT_TRUE(fp.kernel.features.empty());
  EXPECT_TRUE(fp.unresolved.empty());
  EXPECT_EQ(fp.stats.functions, 0u);
  EXPECT_EQ(fp.stats.addressTakenFunctions, 0u);
  ASSERT_EQ(fp.syscalls.size(), 2u);
  EXPECT_TRUE(fp.syscalls[0].args.empty());
  EXPECT_EQ(fp.syscalls[0].nr, 257);
  EXPECT_EQ(fp.app.libcVersion, "2.36");
}

TEST(ManifestRoundTrip, UnresolvedEntryWithoutChain) {
  Manifest m = sample();
  m.footprint.unresolved.push_back({"dlopen", "no site", {"entry", {}}});
  std::string text = renderManifest(m);
  EXPECT_NE(text.find("    root: entry\n    chain: []\n"), std::string::npos) << text;
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(renderManifest(*back), text);
}

TEST(ManifestRoundTrip, KernelIssuedSyscallWithoutChain) {
  Manifest m = sample();
  SyscallUse r;
  r.name = "restart_syscall";
  r.nr = 219;
  r.evidence.push_back({"kernel: signal restart", {}});
  m.footprint.syscalls.push_back(r);
  std::string text = renderManifest(m);
  EXPECT_NE(text.find("      - root: \"kernel: signal restart\"\n        chain: []\n"), std::string::npos) << text;
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(renderManifest(*back), text);
}

TEST(ManifestRoundTrip, ReadmeExampleIsAValidCanonicalManifest) {
  // Keeps manifests/README.md honest: its example loads and is exactly what bespoke would write.
  std::string readme = readFile(sourceDir() / ".." / ".." / "manifests" / "README.md");
  ASSERT_FALSE(readme.empty()) << "manifests/README.md not found from " << sourceDir();
  const std::string open = "```yaml\n";
  size_t start = readme.find(open);
  ASSERT_NE(start, std::string::npos);
  start += open.size();
  size_t end = readme.find("```", start);
  ASSERT_NE(end, std::string::npos);
  std::string example = readme.substr(start, end - start);
  auto m = parseManifest(example, "README.md example");
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  EXPECT_EQ(renderManifest(*m), example);
}

// ---------------------------------------------------------------------------------------------------
// Errors

// Every bad fixture, loaded by path: the exact one-line message (after "PATH").
TEST(ManifestErrors, FixturesGiveExactOneLineMessagesNamingTheFile) {
  const std::pair<const char *, const char *> cases[] = {
      {"empty.yaml", ": empty file, not a bespoke manifest"},
      {"comments-only.yaml", ": no YAML document (only comments), not a bespoke manifest"},
      {"not-a-map.yaml", ": not a bespoke manifest (the top level must be a map, found a list)"},
      {"missing-bespoke.yaml", ": not a bespoke manifest (missing 'bespoke' key)"},
      {"version-3.yaml", ": unsupported manifest version 3 (this bespoke reads versions 1 to 2)"},
      {"version-not-integer.yaml", ":1: 'bespoke' (the manifest version) must be an integer"},
      {"two-documents.yaml", ":21: more than one YAML document (a manifest is a single document)"},
      {"unknown-top-level-key.yaml",
       ":10: unknown top-level key 'comment' (expected bespoke, app, modules, syscalls, kernel, unresolved, crosscheck, stats)"},
      {"duplicate-key.yaml", ":4: app: duplicate key 'name'"},
      {"missing-syscalls.yaml", ": missing 'syscalls'"},
      {"nr-not-integer.yaml", ":17: syscalls[1]: 'nr' must be an integer"},
      {"nr-quoted.yaml", ":17: syscalls[1]: 'nr' must be an integer"},
      {"nr-mismatch.yaml", ":12: syscall 'openat' has nr 3 but x86-64 openat is 257"},
      {"unknown-syscall.yaml", ":16: syscall 'frobnicate' is not an x86-64 system call"},
      {"duplicate-syscall.yaml", ":16: syscall 'openat' is listed twice (first at line 11)"},
      {"bad-frame.yaml",
       ":15: syscalls[0].evidence[0].chain[1]: frame 'libc.so.6!__open64' is not module!symbol@0xADDRESS (lowercase hex) or symbol@FILE:LINE"},
      {"missing-evidence.yaml", ":16: syscalls[1]: missing 'evidence'"},
      {"empty-evidence.yaml", ":18: syscalls[1]: 'evidence' must not be empty (every syscall has a chain)"},
      {"empty-chain.yaml", ":15: syscalls[0].evidence[0]: 'chain' must not be empty (only a kernel-issued entry, root 'kernel: ...', has none)"},
      {"kernel-root-write.yaml",
       ":19: syscalls[1].evidence[0]: root 'kernel: signal restart' is for syscalls the kernel itself makes a task issue, and 'write' is not one of them"},
      {"bad-args.yaml", ":14: syscalls[0]: argument 'flags' must be a list of values or \"any\""},
      {"bad-sha256.yaml", ":5: app: 'sha256' must be 64 lowercase hex digits, found 'not-a-hash'"},
      {"bad-linkage.yaml", ":7: app: 'linkage' must be static, static-pie, dynamic or unknown, found 'dynamically'"},
      {"bad-stats.yaml", ":22: stats: 'functions' must be a non-negative integer"},
  };
  for (auto [file, message] : cases) {
    std::string path = testdata(file).string();
    auto m = loadManifest(path);
    ASSERT_FALSE(bool(m)) << file << " loaded";
    EXPECT_EQ(llvm::toString(m.takeError()), path + message);
  }
}

TEST(ManifestErrors, SyntaxErrorGivesLineAndColumn) {
  std::string path = testdata("syntax-error.yaml").string();
  auto m = loadManifest(path);
  ASSERT_FALSE(bool(m));
  std::string msg = llvm::toString(m.takeError());
  EXPECT_EQ(msg.rfind(path + ": YAML syntax error at line 16, column 3: ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  EXPECT_EQ(errorOf("bespoke: [1\n").rfind("m.yaml: YAML syntax error at line ", 0), 0u) << errorOf("bespoke: [1\n");
}

// yaml-cpp 0.7's LoadAll loops forever, allocating, on these; the loader must answer at once.
TEST(ManifestErrors, InputsThatHangYamlCppLoadAllAreSyntaxErrors) {
  std::string comma = testdata("lone-comma.yaml").string(), anchors = testdata("anchor-comma.yaml").string();
  auto a = loadManifest(comma), b = loadManifest(anchors);
  ASSERT_FALSE(bool(a));
  ASSERT_FALSE(bool(b));
  EXPECT_EQ(llvm::toString(a.takeError()), comma + ": YAML syntax error at line 1, column 1: unexpected ','");
  EXPECT_EQ(llvm::toString(b.takeError()), anchors + ": YAML syntax error at line 1, column 5: unexpected ','");
  EXPECT_EQ(errorOf(renderManifest(sampleV1()) + ",\n").rfind("m.yaml: YAML syntax error at line 62, column 1: ", 0), 0u)
      << errorOf(renderManifest(sampleV1()) + ",\n");
}

TEST(ManifestErrors, BriefExamplesInline) {
  std::string text = renderManifest(sampleV1()); // the line numbers below are version 1's
  EXPECT_EQ(errorOf(""), "m.yaml: empty file, not a bespoke manifest");
  EXPECT_EQ(errorOf("   \n\n"), "m.yaml: empty file, not a bespoke manifest");
  EXPECT_EQ(errorOf("just text\n"), "m.yaml: not a bespoke manifest (the top level must be a map, found a scalar)");
  EXPECT_EQ(errorOf("app: {}\n"), "m.yaml: not a bespoke manifest (missing 'bespoke' key)");
  EXPECT_EQ(errorOf(replaceOnce(text, "bespoke: 1", "bespoke: 3")),
            "m.yaml: unsupported manifest version 3 (this bespoke reads versions 1 to 2)");
  EXPECT_EQ(errorOf(replaceOnce(text, "bespoke: 1", "bespoke: 0")),
            "m.yaml: unsupported manifest version 0 (this bespoke reads versions 1 to 2)");
  EXPECT_EQ(errorOf(replaceOnce(text, "name: write", "name: foo")), "m.yaml:28: syscall 'foo' is not an x86-64 system call");
  EXPECT_EQ(errorOf(replaceOnce(text, "nr: 257", "nr: 3")), "m.yaml:19: syscall 'openat' has nr 3 but x86-64 openat is 257");
  EXPECT_EQ(errorOf(replaceOnce(text, "nr: 1\n", "nr: 1.5\n")), "m.yaml:29: syscalls[1]: 'nr' must be an integer");
  EXPECT_EQ(errorOf(replaceOnce(text, "nr: 1\n", "nr: 0x1\n")), "m.yaml:29: syscalls[1]: 'nr' must be an integer");
  EXPECT_EQ(errorOf(replaceOnce(text, "name: write\n    nr: 1", "name: openat\n    nr: 257")),
            "m.yaml:28: syscall 'openat' is listed twice (first at line 18)");
  EXPECT_EQ(errorOf(replaceOnce(text, "stats:", "surprise: 1\nstats:")),
            "m.yaml:57: unknown top-level key 'surprise' (expected bespoke, app, modules, syscalls, kernel, unresolved, crosscheck, stats)");
  EXPECT_EQ(errorOf(replaceOnce(text, "  arch: x86_64\n", "  arch: aarch64\n")),
            "m.yaml:6: app: unsupported arch 'aarch64' (bespoke reads x86_64)");
  EXPECT_EQ(errorOf(replaceOnce(text, "  libc: glibc\n", "  libc: bionic\n")),
            "m.yaml:8: app: 'libc' must be glibc, musl or none, found 'bionic'");
  EXPECT_EQ(errorOf(replaceOnce(text, "    root: entry\n    chain:\n", "    root: entry\n    site: x\n    chain:\n")),
            "m.yaml:54: unresolved[1]: unknown key 'site' (expected kind, why, root, chain)");
  EXPECT_EQ(errorOf(replaceOnce(text, "      - root: init_array\n", "      - root: init_array\n        why: x\n")),
            "m.yaml:37: syscalls[1].evidence[1]: unknown key 'why' (expected root, chain)");
  EXPECT_EQ(errorOf(replaceOnce(text, "kernel:\n  paths:\n    - /dev/null\n    - /proc/self/maps\n", "kernel:\n  paths: /dev/null\n")),
            "m.yaml:40: kernel: 'paths' must be a list, found a scalar");
  EXPECT_EQ(errorOf(replaceOnce(text, "  features:\n", "  old_paths: []\n  features:\n")),
            "m.yaml:43: kernel: unknown key 'old_paths' (expected paths, features)");
  EXPECT_EQ(errorOf(replaceOnce(text, "modules:\n", "modules:\n  - {name: x}\n")),
            "m.yaml:11: modules[0]: missing 'path'");
  EXPECT_EQ(errorOf(replaceOnce(text, "app:\n  name: demo\n", "app:\n  name: [demo]\n")),
            "m.yaml:3: app: 'name' must be a string, found a list");
  // The input name is whatever the caller gives, paths included.
  EXPECT_EQ(errorOf(replaceOnce(text, "bespoke: 1", "bespoke: 9"), "dir/x y.yaml").rfind("dir/x y.yaml: ", 0), 0u);
}

TEST(ManifestErrors, ValuesInMessagesAreEscapedAndCut) {
  std::string text = renderManifest(sampleV1());
  EXPECT_EQ(errorOf(replaceOnce(text, "name: write", "name: \"wr\\nite\\t\\x01\"")),
            "m.yaml:28: syscall 'wr\\nite\\t\\x01' is not an x86-64 system call");
  std::string msg = errorOf(replaceOnce(text, "name: write", "name: " + std::string(500, 'x')));
  EXPECT_EQ(msg, "m.yaml:28: syscall '" + std::string(80, 'x') + "...' is not an x86-64 system call");
}

TEST(ManifestErrors, SyntaxErrorQuotingARawCharacterStaysOneLine) {
  // yaml-cpp puts the offending character into its message; a newline there would break the line.
  std::string msg = errorOf("bespoke: \"\\\n\"\nx: \"\\\x01\"\n");
  EXPECT_EQ(msg.rfind("m.yaml: YAML syntax error at line ", 0), 0u) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\x01'), std::string::npos) << msg;
}

TEST(ManifestErrors, BadFrameStrings) {
  std::string text = renderManifest(sampleV1());
  const std::string good = "\"demo!main@0x10\"";
  for (const char *bad : {"\"demo!main\"", "\"demo-main@0x10\"", "\"!main@0x10\"", "\"demo!@0x10\"", "\"demo!main@0x\"",
                          "\"demo!main@0xZZ\"", "\"demo!main@0x1F\"", "\"demo!main@0x10000000000000000\"",
                          "\"demo!main@0x-1\"", "\"demo!main@10\"", "[demo]"}) {
    std::string msg = errorOf(replaceOnce(text, good, bad));
    EXPECT_EQ(msg.rfind("m.yaml:26: syscalls[0].evidence[0].chain[0]: ", 0), 0u) << bad << " -> " << msg;
    EXPECT_NE(msg.find("is not module!symbol@0xADDRESS"), std::string::npos) << bad << " -> " << msg;
  }
}

TEST(ManifestErrors, DuplicateKeysAreRejectedAtEveryLevel) {
  std::string text = renderManifest(sampleV1());
  EXPECT_EQ(errorOf(text + "stats: {}\n"), "m.yaml:62: duplicate top-level key 'stats'");
  EXPECT_EQ(errorOf(replaceOnce(text, "    nr: 257\n", "    nr: 257\n    nr: 257\n")),
            "m.yaml:20: syscalls[0]: duplicate key 'nr'");
  EXPECT_EQ(errorOf(replaceOnce(text, "      pathname: any\n", "      pathname: any\n      flags: any\n")),
            "m.yaml:23: syscalls[0]: duplicate argument 'flags'");
}

TEST(ManifestErrors, MessagesAreOneLine) {
  for (const auto &entry : fs::directory_iterator(sourceDir() / "testdata")) {
    auto m = loadManifest(entry.path().string());
    if (m) continue;
    std::string msg = llvm::toString(m.takeError());
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind(entry.path().string() + ":", 0), 0u) << msg;
  }
}

TEST(ManifestErrors, LoadNamesMissingFilesDirectoriesAndEmptyFiles) {
  TempDir d;
  auto missing = loadManifest(d / "nope.yaml");
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(llvm::toString(missing.takeError()), (d / "nope.yaml") + ": cannot open: No such file or directory");

  auto dir = loadManifest(d.path().string());
  ASSERT_FALSE(bool(dir));
  EXPECT_EQ(llvm::toString(dir.takeError()), d.path().string() + ": is a directory, not a manifest");

  writeFile(d / "empty.yaml", "");
  auto empty = loadManifest(d / "empty.yaml");
  ASSERT_FALSE(bool(empty));
  EXPECT_EQ(llvm::toString(empty.takeError()), (d / "empty.yaml") + ": empty file, not a bespoke manifest");
}

TEST(ManifestErrors, LoadNamesUnreadableFiles) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files without read permission";
  TempDir d;
  writeFile(d / "secret.yaml", renderManifest(sample()));
  fs::permissions(d / "secret.yaml", fs::perms::none);
  auto unreadable = loadManifest(d / "secret.yaml");
  ASSERT_FALSE(bool(unreadable));
  EXPECT_EQ(llvm::toString(unreadable.takeError()), (d / "secret.yaml") + ": cannot read: Permission denied");
}

// ---------------------------------------------------------------------------------------------------
// Saving

TEST(ManifestSave, WritesTheRenderedTextAndLeavesNoTemporaries) {
  TempDir d;
  std::string path = d / "out.yaml";
  ASSERT_FALSE(bool(saveManifest(sample(), path)));
  EXPECT_EQ(readFile(path), renderManifest(sample()));
  EXPECT_EQ(listDir(d.path()), std::vector<std::string>{"out.yaml"});
  auto back = loadManifest(path);
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_TRUE(same(back->footprint, sample().footprint));
}

TEST(ManifestSave, ReplacesAnExistingFile) {
  TempDir d;
  std::string path = d / "out.yaml";
  writeFile(path, "old contents\n");
  ASSERT_FALSE(bool(saveManifest(sample(), path)));
  EXPECT_EQ(readFile(path), renderManifest(sample()));
  EXPECT_EQ(listDir(d.path()), std::vector<std::string>{"out.yaml"});
}

TEST(ManifestSave, FileModeFollowsTheUmaskLikeAnyOutputFile) {
  TempDir d;
  mode_t old = umask(022);
  llvm::Error e = saveManifest(sample(), d / "out.yaml");
  umask(old);
  ASSERT_FALSE(bool(e)) << llvm::toString(std::move(e));
  struct stat st;
  ASSERT_EQ(stat((d / "out.yaml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(ManifestSave, MissingDirectoryIsAnErrorAndCreatesNothing) {
  TempDir d;
  std::string path = d / "no/such/dir/out.yaml";
  llvm::Error e = saveManifest(sample(), path);
  ASSERT_TRUE(bool(e));
  std::string msg = llvm::toString(std::move(e));
  EXPECT_EQ(msg.rfind(path + ": cannot write: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(listDir(d.path()).empty());
}

TEST(ManifestSave, DestinationThatIsADirectoryIsAnErrorAndLeavesNoTemporary) {
  TempDir d;
  fs::create_directory(d / "out.yaml");
  llvm::Error e = saveManifest(sample(), d / "out.yaml");
  ASSERT_TRUE(bool(e));
  EXPECT_EQ(llvm::toString(std::move(e)).rfind((d / "out.yaml") + ": cannot write: ", 0), 0u);
  EXPECT_EQ(listDir(d.path()), std::vector<std::string>{"out.yaml"});
  EXPECT_TRUE(fs::is_directory(d / "out.yaml"));
  EXPECT_TRUE(fs::is_empty(d / "out.yaml"));
}

TEST(ManifestSave, UnwritableDirectoryIsAnError) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into read-only directories";
  TempDir d;
  fs::create_directory(d / "ro");
  fs::permissions(d / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  llvm::Error e = saveManifest(sample(), d / "ro/out.yaml");
  ASSERT_TRUE(bool(e));
  EXPECT_EQ(llvm::toString(std::move(e)).rfind((d / "ro/out.yaml") + ": cannot write: ", 0), 0u);
  EXPECT_TRUE(listDir(d / "ro").empty());
}

TEST(ManifestSave, RefusesAManifestThatWouldNotLoadAndKeepsTheOldFile) {
  TempDir d;
  std::string path = d / "out.yaml";
  writeFile(path, "previous\n");

  Manifest unknownName = sample();
  unknownName.footprint.syscalls[0].name = "frobnicate";
  llvm::Error e = saveManifest(unknownName, path);
  ASSERT_TRUE(bool(e));
  EXPECT_EQ(llvm::toString(std::move(e)),
            path + ": not written, the manifest is invalid: line 30: syscall 'frobnicate' is not an x86-64 system call");

  Manifest noEvidence = sample();
  noEvidence.footprint.syscalls[1].evidence.clear();
  e = saveManifest(noEvidence, path);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("'evidence' must not be empty"), std::string::npos);

  Manifest twice = sample();
  twice.footprint.syscalls.push_back(twice.footprint.syscalls[0]);
  e = saveManifest(twice, path);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("syscall 'openat' is listed twice"), std::string::npos);

  EXPECT_EQ(readFile(path), "previous\n");
  EXPECT_EQ(listDir(d.path()), std::vector<std::string>{"out.yaml"});
}

TEST(ManifestSave, RelativePathInTheCurrentDirectory) {
  TempDir d;
  fs::path old = fs::current_path();
  fs::current_path(d.path());
  llvm::Error e = saveManifest(sample(), "rel.yaml");
  fs::current_path(old);
  ASSERT_FALSE(bool(e)) << llvm::toString(std::move(e));
  EXPECT_EQ(listDir(d.path()), std::vector<std::string>{"rel.yaml"});
}

TEST(ManifestSave, InvalidUtf8IsWrittenAsReplacementCharactersAndStillLoads) {
  // YAML text is Unicode: bytes that are not UTF-8 (possible in a path) cannot be kept, but the file is
  // still valid and a fixed point of load and render.
  TempDir d;
  Manifest m = sample();
  m.footprint.app.path = "/opt/caf\xe9/demo";
  ASSERT_FALSE(bool(saveManifest(m, d / "out.yaml")));
  auto back = loadManifest(d / "out.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->footprint.app.path, "/opt/caf\xef\xbf\xbd/demo");
  EXPECT_EQ(renderManifest(*back), readFile(d / "out.yaml"));
}

namespace {

// Source frames (symbol@FILE:LINE) round-trip, sort by file and line, and coexist with machine-code frames.
TEST(ManifestSourceFrames, RoundTrip) {
  using namespace bespoke;
  Manifest m;
  Footprint &fp = m.footprint;
  fp.app.name = "t";
  fp.app.path = "/src/compile_commands.json";
  fp.app.sha256 = std::string(64, 'a');
  fp.app.linkage = "unknown";
  fp.app.libc = "glibc";
  fp.app.libcVersion = "2.36";
  SyscallUse u;
  u.name = "openat";
  u.nr = 257;
  Evidence ev;
  ev.root = "main";
  Frame src;
  src.symbol = "main";
  src.file = "/src/dir:with:colons/t.c";
  src.line = 12;
  Frame lib;
  lib.module = "libc.so.6";
  lib.symbol = "open@@GLIBC_2.2.5";
  lib.address = 0x1140f0;
  ev.chain = {src, lib};
  u.evidence = {ev};
  fp.syscalls = {u};
  fp.crossCheck.done = true;
  fp.crossCheck.binaryOnly = {"getpid", "brk"};
  std::string text = renderManifest(m);
  EXPECT_NE(text.find("main@/src/dir:with:colons/t.c:12"), std::string::npos) << text;
  EXPECT_NE(text.find("crosscheck:\n  source_only: []\n  binary_only:\n    - brk\n    - getpid\n"), std::string::npos) << text;
  auto back = parseManifest(text, "t.yaml");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  const Frame &f0 = back->footprint.syscalls[0].evidence[0].chain[0];
  EXPECT_TRUE(f0.isSource());
  EXPECT_EQ(f0.file, "/src/dir:with:colons/t.c");
  EXPECT_EQ(f0.line, 12u);
  EXPECT_EQ(f0.symbol, "main");
  const Frame &f1 = back->footprint.syscalls[0].evidence[0].chain[1];
  EXPECT_FALSE(f1.isSource());
  EXPECT_EQ(f1.symbol, "open@@GLIBC_2.2.5");
  EXPECT_TRUE(back->footprint.crossCheck.done);
  EXPECT_EQ(back->footprint.crossCheck.binaryOnly, (std::vector<std::string>{"brk", "getpid"}));
  EXPECT_EQ(renderManifest(*back), text);
  // A source frame without a line number is refused.
  std::string bad = text;
  bad.replace(bad.find("t.c:12"), 6, "t.c:x");
  auto refused = parseManifest(bad, "bad.yaml");
  ASSERT_FALSE(static_cast<bool>(refused));
  EXPECT_NE(llvm::toString(refused.takeError()).find("symbol@FILE:LINE"), std::string::npos);
}

} // namespace

namespace bespoke {
namespace {

// The optional `network:` section (version 2): rendered sorted and unique, read back, refused when malformed.
TEST(ManifestNetwork, RoundTripAndErrors) {
  Manifest m = sample();
  EXPECT_EQ(renderManifest(m).find("network:"), std::string::npos); // absent unless present
  m.footprint.network.present = true;
  m.footprint.network.bind = {8080, 443, 8080};
  m.footprint.network.connect = {"[2001:db8::1]:443", "10.0.0.53:53"};
  std::string text = renderManifest(m);
  EXPECT_NE(text.find("network:\n  bind: [443, 8080]\n  connect:\n    - \"10.0.0.53:53\"\n    - \"[2001:db8::1]:443\"\n"),
            std::string::npos)
      << text;
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->footprint.network.bind, (std::vector<uint16_t>{443, 8080}));
  EXPECT_EQ(back->footprint.network.connect, (std::vector<std::string>{"10.0.0.53:53", "[2001:db8::1]:443"}));
  EXPECT_EQ(renderManifest(*back), text);
  // An empty section stays (a reviewer said: no ports, no destinations).
  Manifest empty = sample();
  empty.footprint.network.present = true;
  auto emptyBack = parseManifest(renderManifest(empty), "m.yaml");
  ASSERT_TRUE(bool(emptyBack));
  EXPECT_TRUE(emptyBack->footprint.network.present);

  auto errorOf = [](const std::string &t) {
    auto r = parseManifest(t, "m.yaml");
    return r ? std::string() : llvm::toString(r.takeError());
  };
  auto with = [&](const std::string &section) {
    std::string t = text;
    size_t a = t.find("network:\n"), b = t.find("unresolved:");
    return t.replace(a, b - a, section);
  };
  EXPECT_NE(errorOf(with("network:\n  bind: [0]\n")).find("network.bind[0]: a port must be an integer from 1 to 65535, found '0'"),
            std::string::npos);
  EXPECT_NE(errorOf(with("network:\n  bind: [70000]\n")).find("network.bind[0]"), std::string::npos);
  EXPECT_NE(errorOf(with("network:\n  bind: [http]\n")).find("found 'http'"), std::string::npos);
  EXPECT_NE(errorOf(with("network:\n  ports: [80]\n")).find("network: unknown key 'ports' (expected bind, connect, families)"),
            std::string::npos);
  EXPECT_NE(errorOf(with("network:\n  connect: [\"\"]\n")).find("network.connect[0]: an empty destination"),
            std::string::npos);
  EXPECT_NE(errorOf(with("network: [80]\n")).find("'network' must be a map"), std::string::npos);
  EXPECT_NE(errorOf(with("network:\n  families: [\"\"]\n")).find("network.families[0]: an empty family"),
            std::string::npos);
  EXPECT_NE(errorOf(with("network:\n  families: AF_INET\n")).find("families"), std::string::npos);
}

// network.families: written only when a reviewer gave some, sorted and unique, read back as written (names
// are checked where the policy is built, as the facts' values are).
TEST(ManifestNetwork, Families) {
  Manifest m = sample();
  m.footprint.network.present = true;
  std::string none = renderManifest(m);
  EXPECT_EQ(none.find("families"), std::string::npos) << none;
  m.footprint.network.families = {"AF_UNIX", "AF_INET6", "AF_INET", "AF_UNIX"};
  std::string text = renderManifest(m);
  EXPECT_NE(text.find("  families:\n    - AF_INET\n    - AF_INET6\n    - AF_UNIX\n"), std::string::npos) << text;
  auto back = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->footprint.network.families, (std::vector<std::string>{"AF_INET", "AF_INET6", "AF_UNIX"}));
  EXPECT_EQ(renderManifest(*back), text);
}

} // namespace
} // namespace bespoke
