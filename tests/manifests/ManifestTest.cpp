#include "manifests/Manifest.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace bespoke;

namespace {

Manifest sample() {
  Manifest m;
  Footprint &fp = m.footprint;
  fp.app = {"demo", "/usr/bin/demo", std::string(64, 'a'), "x86_64", "dynamic", "glibc", "2.36"};
  fp.modules = {{"demo", "/usr/bin/demo", std::string(64, 'a')}, {"libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", std::string(64, 'b')}};
  SyscallUse w{"write", 1, {}, {{"entry", {{"demo", "_start", 0x1000}, {"libc.so.6", "write@GLIBC_2.2.5", 0x2a}}}}};
  SyscallUse o{"openat", 257, {}, {{"entry", {{"demo", "main", 0x10}, {"libc.so.6", "__open64", 0x99}}}}};
  o.args["flags"] = ArgFact{false, {"O_RDONLY", "O_CLOEXEC"}};
  o.args["path"] = ArgFact{true, {}};
  fp.syscalls = {w, o}; // deliberately unsorted
  fp.kernel.paths = {"/proc/self/maps", "/dev/null"};
  fp.unresolved = {{"syscall-number", "%rax is not a constant", {"address-taken", {{"libc.so.6", "sub_86720", 0x86768}}}}};
  fp.stats = {10, 5, 2, 1};
  return m;
}

std::string tempDir() {
  auto d = std::filesystem::temp_directory_path() / ("bespoke-manifest-" + std::to_string(getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

std::string errorOf(const std::string &text, const std::string &name = "m.yaml") {
  auto m = parseManifest(text, name);
  if (m) return "";
  return llvm::toString(m.takeError());
}

std::string valid() { return renderManifest(sample()); }

std::string replace(std::string s, const std::string &from, const std::string &to) {
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

} // namespace

TEST(Manifest, RendersSortedDeterministicYaml) {
  std::string a = renderManifest(sample()), b = renderManifest(sample());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.rfind("bespoke: 1\n", 0), 0u);
  EXPECT_LT(a.find("name: openat"), a.find("name: write")); // sorted by name
  EXPECT_NE(a.find("\"libc.so.6!write@GLIBC_2.2.5@0x2a\""), std::string::npos);
  EXPECT_NE(a.find("libc_version: \"2.36\""), std::string::npos);
  EXPECT_LT(a.find("/dev/null"), a.find("/proc/self/maps"));
}

TEST(Manifest, RoundTripIsByteIdentical) {
  std::string text = renderManifest(sample());
  auto m = parseManifest(text, "m.yaml");
  ASSERT_TRUE(bool(m)) << llvm::toString(m.takeError());
  EXPECT_EQ(renderManifest(*m), text);
  ASSERT_EQ(m->footprint.syscalls.size(), 2u);
  const SyscallUse &w = m->footprint.syscalls[1];
  EXPECT_EQ(w.name, "write");
  EXPECT_EQ(w.evidence[0].chain[1].symbol, "write@GLIBC_2.2.5"); // '@' inside a symbol survives
  EXPECT_EQ(w.evidence[0].chain[1].address, 0x2au);
  EXPECT_TRUE(m->footprint.syscalls[0].args.at("path").any);
  EXPECT_EQ(m->footprint.app.libcVersion, "2.36");
  EXPECT_EQ(m->footprint.unresolved[0].evidence.root, "address-taken");
}

TEST(Manifest, RejectsBadInput) {
  EXPECT_NE(errorOf("").find("m.yaml: empty file"), std::string::npos);
  EXPECT_NE(errorOf("- a\n- b\n").find("top level must be a map"), std::string::npos);
  EXPECT_NE(errorOf("app: {}\n").find("missing 'bespoke' key"), std::string::npos);
  EXPECT_NE(errorOf(replace(valid(), "bespoke: 1", "bespoke: 2")).find("unsupported manifest version 2"), std::string::npos);
  EXPECT_NE(errorOf(replace(valid(), "name: write", "name: frobnicate")).find("'frobnicate' is not an x86-64 system call"), std::string::npos);
  EXPECT_NE(errorOf(replace(valid(), "nr: 257", "nr: 3")).find("has nr 3 but x86-64 openat is 257"), std::string::npos);
  EXPECT_NE(errorOf(replace(valid(), "nr: 257", "nr: lots")).find("'nr' must be an integer"), std::string::npos);
  EXPECT_NE(errorOf(replace(valid(), "name: write\n    nr: 1", "name: openat\n    nr: 257")).find("listed twice"), std::string::npos);
  EXPECT_NE(errorOf(replace(valid(), "stats:", "surprise: 1\nstats:")).find("unknown key 'surprise'"), std::string::npos);
  EXPECT_NE(errorOf("bespoke: [1\n").find("YAML syntax error"), std::string::npos);
  EXPECT_NE(errorOf(replace(valid(), "libc.so.6!__open64@0x99", "no-bang")).find("not module!symbol@0xADDRESS"), std::string::npos);
  // Every error names the input.
  EXPECT_EQ(errorOf(replace(valid(), "bespoke: 1", "bespoke: 9"), "x/y.yaml").rfind("x/y.yaml:", 0), 0u);
  // A line number points at the problem.
  std::string bad = replace(valid(), "nr: 257", "nr: 3");
  size_t line = 1 + std::count(bad.begin(), bad.begin() + bad.find("nr: 3"), '\n');
  EXPECT_NE(errorOf(bad).find("m.yaml:" + std::to_string(line) + ":"), std::string::npos) << errorOf(bad);
}

TEST(Manifest, LoadErrorsNameTheFile) {
  std::string d = tempDir();
  auto missing = loadManifest(d + "/nope.yaml");
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find(d + "/nope.yaml: cannot open"), std::string::npos);
  auto dir = loadManifest(d);
  ASSERT_FALSE(bool(dir));
  EXPECT_NE(llvm::toString(dir.takeError()).find("is a directory"), std::string::npos);
  std::filesystem::remove_all(d);
}

TEST(Manifest, SaveIsAtomicAndLeavesNoTemporaries) {
  std::string d = tempDir();
  std::string path = d + "/out.yaml";
  ASSERT_FALSE(bool(saveManifest(sample(), path)));
  auto back = loadManifest(path);
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(renderManifest(*back), renderManifest(sample()));
  size_t files = 0;
  for (auto &e : std::filesystem::directory_iterator(d)) { (void)e; ++files; }
  EXPECT_EQ(files, 1u);
  llvm::Error e = saveManifest(sample(), d + "/no/such/dir/out.yaml");
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find(d + "/no/such/dir/out.yaml: cannot write"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(d + "/no/such/dir/out.yaml"));
  std::filesystem::remove_all(d);
}
