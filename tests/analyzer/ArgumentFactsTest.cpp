// Binary argument facts (analyzer/ArgumentFacts.h): small C programs built here (data/args), linked
// statically with glibc so that the C library's own code is part of the program the analysis resolves;
// socket() and ioctl() with constants directly, through one and two helper levels, through syscall(),
// with a value chosen at run time, and from a helper whose address is taken.
#include "analyzer/ArgumentFacts.h"
#include "analyzer/BinaryAnalyzer.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace bespoke;

namespace {

const std::string Dir = BESPOKE_ARGS_DATA_DIR;

Footprint analyze(const std::string &name) {
  BinaryAnalysisOptions opts;
  auto fp = analyzeBinary(Dir + "/" + name, opts);
  if (!fp) {
    ADD_FAILURE() << llvm::toString(fp.takeError());
    return {};
  }
  return std::move(*fp);
}

const ArgFact *fact(const Footprint &fp, const std::string &syscall, const std::string &arg) {
  for (const SyscallUse &u : fp.syscalls)
    if (u.name == syscall) {
      auto it = u.args.find(arg);
      return it == u.args.end() ? nullptr : &it->second;
    }
  return nullptr;
}

using Values = std::vector<std::string>;

bool has(const ArgFact *f, const std::string &v) {
  return f && !f->any && std::find(f->values.begin(), f->values.end(), v) != f->values.end();
}

} // namespace

TEST(ArgumentFacts, ValuesAreTheLow32BitsWithSocketFlagsMasked) {
  const ArgumentSpec *type = nullptr, *domain = nullptr;
  for (const ArgumentSpec *s : argumentSpecsOf("socket")) {
    if (std::string(s->name) == "type") type = s;
    if (std::string(s->name) == "domain") domain = s;
  }
  ASSERT_TRUE(type && domain);
  EXPECT_EQ(argumentValueText(*type, 0x80801), "0x1");              // SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC
  EXPECT_EQ(argumentValueText(*domain, 0xdead00000002ull), "2");   // garbage above bit 31 is not the kernel's
  EXPECT_EQ(argumentValueText(*domain, 0xffffffffull), "-1");      // an int
  EXPECT_TRUE(argumentSpecsOf("read").empty());
}

TEST(ArgumentFacts, SocketConstantsDirect) {
  Footprint fp = analyze("socket_direct");
  const ArgFact *domain = fact(fp, "socket", "domain"), *type = fact(fp, "socket", "type");
  ASSERT_TRUE(domain && type);
  EXPECT_FALSE(domain->any);
  EXPECT_EQ(domain->values, (Values{"1", "2"}));
  EXPECT_EQ(type->values, (Values{"0x1", "0x2"})) << "SOCK_CLOEXEC is masked off";
  EXPECT_EQ(fact(fp, "socket", "protocol")->values, (Values{"0"}));
}

TEST(ArgumentFacts, SocketConstantsThroughOneAndTwoHelperLevels) {
  Footprint fp = analyze("socket_wrapped");
  const ArgFact *domain = fact(fp, "socket", "domain"), *type = fact(fp, "socket", "type");
  ASSERT_TRUE(domain && type);
  EXPECT_EQ(domain->values, (Values{"10", "16", "2"})); // decimal, sorted as text
  EXPECT_FALSE(domain->any);
  EXPECT_EQ(type->values, (Values{"0x1", "0x3"})) << "SOCK_NONBLOCK and SOCK_CLOEXEC are masked off";
  // Each value's evidence: the call passing the constant (main, for all three), in the program.
  for (const std::string &v : domain->values) {
    auto s = domain->sites.find(v);
    ASSERT_NE(s, domain->sites.end()) << v;
    EXPECT_EQ(s->second.module, "socket_wrapped") << v;
    EXPECT_EQ(s->second.symbol, "main") << v;
    EXPECT_NE(s->second.address, 0u) << v;
  }
  // The types: open_stream passes SOCK_STREAM|SOCK_NONBLOCK, main SOCK_RAW|SOCK_CLOEXEC.
  ASSERT_TRUE(type->sites.count("0x1") && type->sites.count("0x3"));
  EXPECT_EQ(type->sites.at("0x1").symbol, "open_stream");
  EXPECT_EQ(type->sites.at("0x3").symbol, "main");
}

TEST(ArgumentFacts, NonConstantSiteIsAny) {
  Footprint fp = analyze("socket_variable");
  const ArgFact *domain = fact(fp, "socket", "domain");
  ASSERT_TRUE(domain);
  EXPECT_TRUE(domain->any);
  EXPECT_TRUE(domain->values.empty());
  EXPECT_EQ(fact(fp, "socket", "type")->values, (Values{"0x1"})) << "the constant arguments keep their values";
}

TEST(ArgumentFacts, SyscallWrapperShiftsArgumentsAndSeparatesNumbers) {
  Footprint fp = analyze("socket_syscall");
  const ArgFact *domain = fact(fp, "socket", "domain");
  ASSERT_TRUE(domain);
  EXPECT_EQ(domain->values, (Values{"17"})) << "AF_PACKET through syscall(SYS_socket, ...); the ioctl call's "
                                                "arguments must not count for socket";
  EXPECT_FALSE(domain->any);
  EXPECT_EQ(fact(fp, "socket", "type")->values, (Values{"0x3"}));
  EXPECT_TRUE(has(fact(fp, "ioctl", "request"), "0x541b")) << "FIONREAD through syscall(SYS_ioctl, ...)";
}

TEST(ArgumentFacts, IoctlRequestConstants) {
  Footprint fp = analyze("ioctl_const");
  const ArgFact *request = fact(fp, "ioctl", "request");
  ASSERT_TRUE(request);
  EXPECT_TRUE(has(request, "0x5413")) << "TIOCGWINSZ, direct";
  EXPECT_TRUE(has(request, "0x541b")) << "FIONREAD, through a helper";
  EXPECT_FALSE(has(request, "0x5412")) << "TIOCSTI is not passed anywhere";
}

TEST(ArgumentFacts, AddressTakenHelperIsAny) {
  Footprint fp = analyze("socket_pointer");
  const ArgFact *domain = fact(fp, "socket", "domain");
  ASSERT_TRUE(domain);
  EXPECT_TRUE(domain->any) << "the helper is also called through a pointer";
}

TEST(ArgumentFacts, DynamicProgramKeepsEveryRecordedArgument) {
  // Linked dynamically, libc's own code (reached from the functions it stores in data) makes sockets too.
  Footprint fp = analyze("socket_direct.dynamic");
  for (const char *arg : {"domain", "type", "protocol"}) {
    const ArgFact *f = fact(fp, "socket", arg);
    ASSERT_TRUE(f) << arg;
    EXPECT_TRUE(f->any || !f->values.empty()) << arg;
  }
}

namespace {
// The reasons given for `any`, over every recorded argument.
std::vector<std::string> reasons(const Footprint &fp) {
  std::vector<std::string> out;
  for (const SyscallUse &u : fp.syscalls)
    for (const auto &[name, f] : u.args)
      if (f.any) out.push_back(u.name + "." + name + ": " + f.why);
  return out;
}
bool anyReasonHas(const Footprint &fp, const std::string &text) {
  for (const std::string &r : reasons(fp))
    if (r.find(text) != std::string::npos) return true;
  return false;
}
} // namespace

TEST(ArgumentFacts, EveryAnyCarriesAReason) {
  Footprint fp = analyze("socket_direct.dynamic");
  size_t anys = 0;
  for (const SyscallUse &u : fp.syscalls)
    for (const auto &[name, f] : u.args)
      if (f.any) {
        ++anys;
        EXPECT_FALSE(f.why.empty()) << u.name << "." << name;
      }
  EXPECT_GT(anys, 0u) << "glibc's own code passes computed values somewhere";
}

TEST(ArgumentFacts, DlsymOfANameFromTheCommandLineMakesExportsEnteredFromAnywhere) {
  Footprint fp = analyze("dlsym_any");
  const ArgFact *domain = fact(fp, "socket", "domain");
  ASSERT_TRUE(domain);
  EXPECT_TRUE(domain->any);
  EXPECT_NE(domain->why.find("dlsym can return any exported function"), std::string::npos) << domain->why;
}

TEST(ArgumentFacts, LibcryptoLooksUpOnlyItsOwnNames) {
  // Without the DSO model, libcrypto's pointer-entered dlfcn_globallookup made every export a dlsym target.
  Footprint fp = analyze("crypto_dso");
  ASSERT_TRUE(std::any_of(fp.modules.begin(), fp.modules.end(),
                          [](const ModuleInfo &m) { return m.name.rfind("libcrypto.so", 0) == 0; }));
  EXPECT_FALSE(anyReasonHas(fp, "dlsym can return")) << ::testing::PrintToString(reasons(fp));
}

TEST(ArgumentFacts, SyscallNumberFromAPointerCallIsAnUnresolvedSite) {
  Footprint fp = analyze("syscall_table");
  bool listed = false;
  for (const Unresolved &u : fp.unresolved)
    if (u.kind == "wrapper-argument" && u.why.find("reached through a pointer") != std::string::npos &&
        !u.evidence.chain.empty() && u.evidence.chain.back().module == "syscall_table")
      listed = true;
  EXPECT_TRUE(listed) << "the call of syscall() with call3's own first argument";
}

TEST(ArgumentFacts, GlibcModelsGiveWhatGlibcComputes) {
  Footprint fp = analyze("glibc_models");
  if (fp.app.libcVersion != "2.36") GTEST_SKIP() << "the models are glibc 2.36's; this libc is " << fp.app.libcVersion;
  // tcsetattr: `lea 0x5402(%r9)` after `cmp $2`; tcgetattr's TCGETS is a constant.
  const ArgFact *request = fact(fp, "ioctl", "request");
  ASSERT_TRUE(request);
  EXPECT_FALSE(request->any) << request->why;
  for (const char *v : {"0x5401", "0x5402", "0x5403", "0x5404"}) EXPECT_TRUE(has(request, v)) << v;
  EXPECT_NE(request->why.find("tcsetattr"), std::string::npos) << request->why;
  // pthread_create's and posix_spawn's flags, through __clone_internal; no namespace bit.
  const ArgFact *flags = fact(fp, "clone", "flags");
  ASSERT_TRUE(flags);
  ASSERT_FALSE(flags->any) << flags->why;
  EXPECT_TRUE(has(flags, "0x3d0f00")) << ::testing::PrintToString(flags->values);
  EXPECT_TRUE(has(flags, "0x4111")) << ::testing::PrintToString(flags->values);
  for (const std::string &v : flags->values) EXPECT_EQ(std::stoull(v, nullptr, 16) & 0x7e020000, 0u) << v;
  EXPECT_FALSE(anyReasonHas(fp, "getaddrinfo passes")) << ::testing::PrintToString(reasons(fp));
}

TEST(ArgumentFacts, SaslAndKerberosLookUpOnlyPluginEntryPoints) {
  Footprint fp = analyze("plugin_loaders");
  for (const char *lib : {"libsasl2.so", "libkrb5.so"})
    ASSERT_TRUE(std::any_of(fp.modules.begin(), fp.modules.end(),
                            [&](const ModuleInfo &m) { return m.name.rfind(lib, 0) == 0; })) << lib;
  EXPECT_FALSE(anyReasonHas(fp, "dlsym can return")) << ::testing::PrintToString(reasons(fp));
  // With every export a possible dlsym target, libc's clone and ioctl were entered with any arguments.
  for (auto [syscall, arg] : {std::pair{"clone", "flags"}, std::pair{"ioctl", "request"}}) {
    const ArgFact *f = fact(fp, syscall, arg);
    ASSERT_TRUE(f) << syscall;
    EXPECT_FALSE(f->any) << syscall << ": " << f->why;
  }
}

TEST(ArgumentFacts, ValuesDerivedFromACallersConstant) {
  Footprint fp = analyze("ioctl_derived");
  const ArgFact *request = fact(fp, "ioctl", "request");
  ASSERT_TRUE(request);
  ASSERT_FALSE(request->any) << request->why;
  EXPECT_TRUE(has(request, "0x5402")) << ::testing::PrintToString(request->values); // TCSETS + 0
  EXPECT_TRUE(has(request, "0x5404")) << ::testing::PrintToString(request->values); // TCSETS + 2
  EXPECT_FALSE(has(request, "0x5403")) << "no caller passes 1";
  const ArgFact *type = fact(fp, "socket", "type");
  ASSERT_TRUE(type);
  ASSERT_FALSE(type->any) << type->why;
  EXPECT_TRUE(has(type, "0x1")) << ::testing::PrintToString(type->values); // (4 << 3) & 8 = 0
  EXPECT_FALSE(has(type, "0x9")) << ::testing::PrintToString(type->values);
}
