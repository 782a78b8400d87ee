// analyzeSource on hand-made SourceFacts (the front end has its own tests): reachability, indirect calls
// by type, callbacks, syscall() numbers, argument facts, kernel paths, unresolved sites, and the join
// with glibc's real libc.so.6 model.
#include "analyzer/source/SourceAnalyzer.h"
#include "manifests/Manifest.h"

#include <gtest/gtest.h>

#include "llvm/Support/FileSystem.h"

#include <algorithm>

using namespace bespoke;

namespace {

SourceFunction fn(const std::string &name, bool defined, const std::string &type = "int (void)",
                  EntryKind entry = EntryKind::None, bool taken = false) {
  SourceFunction f;
  f.usr = "c:@F@" + name;
  f.name = name;
  f.type = type;
  f.loc = {"/src/t.c", 1};
  f.defined = defined;
  f.addressTaken = taken;
  f.entry = entry;
  return f;
}

ArgValue num(int64_t v) { ArgValue a; a.known = true; a.value = v; return a; }
ArgValue str(const std::string &s) { ArgValue a; a.known = true; a.isString = true; a.text = s; return a; }
ArgValue unknown() { return ArgValue{}; }

SourceCall call(const std::string &caller, unsigned line, const std::string &callee, std::vector<ArgValue> args = {}) {
  SourceCall c;
  c.callerUsr = "c:@F@" + caller;
  c.loc = {"/src/t.c", line};
  c.calleeUsr = "c:@F@" + callee;
  c.args = std::move(args);
  return c;
}

SourceCall indirect(const std::string &caller, unsigned line, const std::string &type, bool castAway = false) {
  SourceCall c;
  c.callerUsr = "c:@F@" + caller;
  c.loc = {"/src/t.c", line};
  c.indirectType = type;
  c.typeCastAway = castAway;
  return c;
}

SourceFacts program(bool castAway) {
  SourceFacts f;
  f.compiler = "/usr/bin/cc";
  f.functions = {
      fn("main", true, "int (int, char **)", EntryKind::Main),
      fn("helper", true),
      fn("dead", true),                                          // never called: its reboot must not count
      fn("on_signal", true, "void (int)", EntryKind::Callback, true),
      fn("via_ptr", true, "int (void)", EntryKind::None, true),   // reached by an indirect call of its type
      fn("other_type", true, "long (long)", EntryKind::None, true), // only if the call's type was cast away
      fn("open", false), fn("syscall", false), fn("socket", false), fn("socketpair", false), fn("reboot", false), fn("kill", false),
      fn("sync", false), fn("sethostname", false), fn("fopen", false), fn("frobnicate_xyz", false),
      fn("cast_away", true, "void (char)", EntryKind::None, true), // address converted to another type
      fn("syncfs", false),
      fn("fdatasync_inline", true),                                // an inline-only body of libc's fdatasync
  };
  for (SourceFunction &x : f.functions) {
    if (x.name == "cast_away") x.typeCastAway = true;
    if (x.name == "fdatasync_inline") { x.inlineOnly = true; x.symbol = "fdatasync"; }
  }
  f.functions[3].entryWhy = "passed to signal at /src/t.c:3";
  std::sort(f.functions.begin(), f.functions.end(), [](const auto &a, const auto &b) { return a.usr < b.usr; });
  f.calls = {
      call("main", 5, "helper"),
      call("main", 6, "syscall", {num(39), unknown()}),   // getpid
      call("main", 7, "socket", {num(2), num(1), num(0)}),
      call("main", 13, "socketpair", {num(1), num(0x80001), num(0), unknown()}),
      call("main", 8, "syscall", {unknown()}),
      indirect("main", 9, "int (void)", castAway),
      call("main", 11, "frobnicate_xyz"),
      call("helper", 20, "open", {str("/proc/self/status"), num(0x80000)}),
      call("helper", 21, "socket", {unknown(), num(2), num(0)}),
      call("helper", 22, "fopen", {str("/etc/hosts"), str("re")}),
      call("dead", 30, "reboot", {num(0x1234567)}),
      call("on_signal", 40, "kill", {num(1), num(9)}),
      call("via_ptr", 50, "sync"),
      call("other_type", 60, "sethostname", {unknown(), unknown()}),
      call("cast_away", 70, "syncfs", {unknown()}),
      call("main", 12, "fdatasync_inline"),
  };
  f.inlineAsm = {{"c:@F@helper", {"/src/t.c", 23}}};
  f.problems = {{"/src/broken.c", "error: expected ';' after expression"}};
  f.translationUnits = {"/src/t.c"};
  return f;
}

const SyscallUse *find(const Footprint &fp, const std::string &name) {
  for (const SyscallUse &u : fp.syscalls)
    if (u.name == name) return &u;
  return nullptr;
}

class SourceAnalysis : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("bespoke-source-test", dir));
    cacheDir = std::string(dir);
  }
  static void TearDownTestSuite() { llvm::sys::fs::remove_directories(cacheDir); }
  static Footprint analyze(bool castAway) {
    SourceAnalysisOptions o;
    o.appName = "t";
    o.appPath = "/src/compile_commands.json";
    o.appSha256 = std::string(64, '0');
    o.binary.cacheDir = cacheDir;
    auto fp = analyzeSource(program(castAway), o);
    if (!fp) {
      ADD_FAILURE() << llvm::toString(fp.takeError());
      return {};
    }
    return std::move(*fp);
  }
  static std::string cacheDir;
};
std::string SourceAnalysis::cacheDir;

TEST_F(SourceAnalysis, ReachabilityIndirectCallsAndCallbacks) {
  if (defaultLibraryFor("cc", LoaderOptions{}).empty()) GTEST_SKIP() << "no libc.so.6";
  Footprint fp = analyze(false);
  ASSERT_FALSE(fp.syscalls.empty());
  EXPECT_EQ(fp.app.libc, "glibc");
  EXPECT_EQ(fp.app.linkage, "unknown");
  EXPECT_EQ(find(fp, "reboot"), nullptr) << "dead code counted";
  EXPECT_EQ(find(fp, "sethostname"), nullptr) << "indirect call matched a function of another type";
  ASSERT_NE(find(fp, "kill"), nullptr) << "signal handler not an entry point";
  EXPECT_EQ(find(fp, "kill")->evidence.front().root, "passed to signal at /src/t.c:3");
  ASSERT_NE(find(fp, "sync"), nullptr) << "indirect call of type int (void) missed via_ptr";
  const Evidence &viaPtr = find(fp, "sync")->evidence.front();
  ASSERT_GE(viaPtr.chain.size(), 3u);
  EXPECT_EQ(viaPtr.chain[0].symbol, "main");
  EXPECT_EQ(viaPtr.chain[0].line, 9u);
  EXPECT_EQ(viaPtr.chain[1].symbol, "via_ptr");
  EXPECT_EQ(viaPtr.chain[1].line, 50u);
  EXPECT_FALSE(viaPtr.chain[2].isSource()); // continues in libc.so.6's machine code
  // A function whose address was converted to another type is a target of every indirect call.
  EXPECT_NE(find(fp, "syncfs"), nullptr);
  // Calling an inline-only body also calls the library's definition of its symbol.
  EXPECT_NE(find(fp, "fdatasync"), nullptr);
  // With the type cast away at the call, every address-taken function is a target.
  EXPECT_NE(find(analyze(true), "sethostname"), nullptr);
}

TEST_F(SourceAnalysis, SyscallNumbersArgumentFactsAndPaths) {
  if (defaultLibraryFor("cc", LoaderOptions{}).empty()) GTEST_SKIP() << "no libc.so.6";
  Footprint fp = analyze(false);
  const SyscallUse *getpid = find(fp, "getpid");
  ASSERT_NE(getpid, nullptr);
  const Frame &site = getpid->evidence.front().chain.back();
  EXPECT_TRUE(site.isSource());
  EXPECT_EQ(site.symbol, "main");
  EXPECT_EQ(site.line, 6u);
  EXPECT_EQ(getpid->evidence.front().root, "main");

  // libc makes no socketpair call of its own: the source's call sites are the whole story.
  const SyscallUse *socketpair = find(fp, "socketpair");
  ASSERT_NE(socketpair, nullptr);
  EXPECT_EQ(socketpair->args.at("domain").values, (std::vector<std::string>{"1"}));
  EXPECT_FALSE(socketpair->args.at("domain").any);
  EXPECT_EQ(socketpair->args.at("type").values, (std::vector<std::string>{"0x1"}))
      << "SOCK_CLOEXEC is masked off, as the binary analysis writes it";
  EXPECT_EQ(socketpair->args.at("protocol").values, (std::vector<std::string>{"0"}));

  // socket and openat: glibc's own code (sunrpc, NSS, its start-up) makes them too, with arguments the
  // source does not show, so the facts widen to any (soundness first).
  const SyscallUse *socket = find(fp, "socket");
  ASSERT_NE(socket, nullptr);
  EXPECT_TRUE(socket->args.at("domain").any);
  EXPECT_TRUE(socket->args.at("type").any);
  const SyscallUse *openat = find(fp, "openat");
  ASSERT_NE(openat, nullptr);
  EXPECT_TRUE(openat->args.at("flags").any);
  EXPECT_NE(std::find(fp.kernel.paths.begin(), fp.kernel.paths.end(), "/proc/self/status"), fp.kernel.paths.end());
  EXPECT_EQ(std::find(fp.kernel.paths.begin(), fp.kernel.paths.end(), "/etc/hosts"), fp.kernel.paths.end());

  auto has = [&](const std::string &kind, const std::string &text) {
    return std::any_of(fp.unresolved.begin(), fp.unresolved.end(), [&](const Unresolved &u) {
      return u.kind == kind && u.why.find(text) != std::string::npos;
    });
  };
  EXPECT_TRUE(has("syscall-number", "not a compile-time constant"));
  EXPECT_TRUE(has("inline-asm", "syscall instruction"));
  EXPECT_TRUE(has("source-file", "expected ';'"));
  EXPECT_TRUE(has("external", "frobnicate_xyz"));

  // The footprint is a valid manifest, and the same facts give the same text.
  Manifest m;
  m.footprint = fp;
  std::string text = renderManifest(m);
  auto back = parseManifest(text, "source.yaml");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  Manifest again;
  again.footprint = analyze(false);
  EXPECT_EQ(renderManifest(again), text);
}

TEST(SourceAnalysisMerge, DiffAndUnion) {
  Footprint a, b;
  SyscallUse read, write, close;
  read.name = "read"; read.nr = 0;
  write.name = "write"; write.nr = 1;
  close.name = "close"; close.nr = 3;
  read.args["fd"].values = {"0"};
  SyscallUse read2 = read;
  read2.args["fd"].values = {"3"};
  a.syscalls = {read, write};
  b.syscalls = {close, read2};
  FootprintDiff d = diffSyscalls(a, b);
  EXPECT_EQ(d.onlyInFirst, std::vector<std::string>{"write"});
  EXPECT_EQ(d.onlyInSecond, std::vector<std::string>{"close"});
  mergeFootprint(a, b);
  ASSERT_EQ(a.syscalls.size(), 3u);
  EXPECT_EQ(a.syscalls[1].name, "read");
  EXPECT_EQ(a.syscalls[1].args.at("fd").values, (std::vector<std::string>{"0", "3"}));
}

} // namespace
