// The image's file layout for dynamic programs (libraryLayout) and renderInitConf's directives.
#include "images/Image.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace bespoke {
namespace {

bool hasGuest(const LibraryLayout &l, const std::string &guest) {
  return std::any_of(l.libraries.begin(), l.libraries.end(), [&](const auto &p) { return p.first == guest; });
}

TEST(LibraryLayout, DynamicProgramGetsItsClosureUnderTheMultiarchDirectory) {
  auto l = libraryLayout("/usr/bin/sqlite3");
  ASSERT_TRUE(bool(l)) << llvm::toString(l.takeError());
  EXPECT_EQ(l->interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(l->interpreterTarget, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  for (const char *lib : {"libsqlite3.so.0", "libreadline.so.8", "libz.so.1", "libc.so.6", "libm.so.6", "libtinfo.so.6",
                          "ld-linux-x86-64.so.2"})
    EXPECT_TRUE(hasGuest(*l, std::string("/lib/x86_64-linux-gnu/") + lib)) << lib;
  EXPECT_EQ(l->libraries.size(), 7u); // ldd's list, no duplicates
  for (const auto &[guest, host] : l->libraries) EXPECT_FALSE(host.empty()) << guest;
}

TEST(LibraryLayout, StaticProgramHasNone) {
  auto l = libraryLayout(BESPOKE_MUSL_ECHO);
  ASSERT_TRUE(bool(l)) << llvm::toString(l.takeError());
  EXPECT_TRUE(l->interpreter.empty());
  EXPECT_TRUE(l->libraries.empty());
}

TEST(LibraryLayout, NotAnElfIsAnError) {
  auto l = libraryLayout("/etc/hostname");
  ASSERT_FALSE(bool(l));
  EXPECT_NE(llvm::toString(l.takeError()).find("/etc/hostname"), std::string::npos);
}

TEST(InitConf, SeccompDirectiveComesBeforeTheApp) {
  KernelConfig c;
  c.procfs = true;
  std::string conf = renderInitConf(c, "/app/x", {"a b", "c"}, "/bespoke/seccomp.bpf");
  EXPECT_NE(conf.find("mount proc /proc\n"), std::string::npos);
  size_t s = conf.find("seccomp /bespoke/seccomp.bpf\n"), a = conf.find("arg /app/x\narg a b\narg c\n");
  ASSERT_NE(s, std::string::npos);
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(s, a);
  EXPECT_EQ(renderInitConf(c, "/app/x", {}).find("seccomp"), std::string::npos);
}

TEST(EnabledOptions, CountsYAndM) {
  EXPECT_EQ(enabledOptions("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"s\"\nCONFIG_E=3\n"), 2u);
}

} // namespace
} // namespace bespoke
