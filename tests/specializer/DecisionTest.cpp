// Tests of decide(): every blocker is pinned to the manifest fact behind it (add the fact, the blocker
// and the recommendation follow; take it away, they go), and the gains are computed from the manifest.

#include "specializer/Decision.h"

#include "analyzer/KernelEntries.h"
#include "analyzer/SyscallTable.h"
#include "extension-gen/Compiler.h"
#include "extension-gen/ManifestPolicy.h"
#include "seccomp/Interpreter.h"
#include "specializer/KernelRequirements.h"

#include "llvm/Support/JSON.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace bespoke;

namespace {

Evidence chain(const std::string &root, std::vector<std::string> symbols) {
  Evidence e;
  e.root = root;
  uint64_t addr = 0x1000;
  for (const std::string &s : symbols) {
    Frame f;
    f.module = "app";
    f.symbol = s;
    f.address = addr += 0x10;
    e.chain.push_back(f);
  }
  return e;
}

void addSyscall(Manifest &m, const std::string &name, Evidence ev = chain("entry", {"_start", "main"})) {
  SyscallUse u;
  u.name = name;
  u.nr = *syscallNumber(name);
  u.evidence = {ev};
  auto &v = m.footprint.syscalls;
  v.insert(std::lower_bound(v.begin(), v.end(), u, [](const SyscallUse &a, const SyscallUse &b) { return a.name < b.name; }), u);
}

// A small static server: nothing stands in the way of a rewrite.
Manifest server() {
  Manifest m;
  m.footprint.app.name = "server";
  m.footprint.app.path = "/nonexistent/server";
  m.footprint.app.linkage = "static";
  m.footprint.app.libc = "musl";
  for (const char *n : {"accept4", "bind", "close", "exit_group", "listen", "read", "rt_sigaction", "socket", "write"})
    addSyscall(m, n);
  ArgFact inet;
  inet.values = {"2"}; // AF_INET, as the source analyzer writes it
  for (SyscallUse &u : m.footprint.syscalls)
    if (u.name == "socket") u.args["domain"] = inet;
  return m;
}

Decision decided(const Manifest &m) {
  auto d = decide(m);
  EXPECT_TRUE(bool(d)) << llvm::toString(d.takeError());
  return *d;
}

std::vector<std::string> kinds(const std::vector<Finding> &fs) {
  std::vector<std::string> k;
  for (const Finding &f : fs) k.push_back(f.kind);
  return k;
}

bool hasOption(const Decision &d, const std::string &name) {
  return std::any_of(d.rewrite.kernelOptions.begin(), d.rewrite.kernelOptions.end(),
                     [&](const KernelOption &o) { return o.name == name; });
}

TEST(Decide, CleanServerIsRewritten) {
  Decision d = decided(server());
  EXPECT_EQ(d.recommendation, "rewrite");
  EXPECT_TRUE(d.blockers.empty()) << (d.blockers.empty() ? "" : d.blockers[0].detail);
  EXPECT_NE(d.summary.find("rewrite"), std::string::npos);
}

TEST(Decide, ExtendGainsComeFromTheCompiledFilter) {
  Manifest m = server();
  Decision d = decided(m);
  auto policy = policyFromManifest(m, Action{Action::KillProcess, 0});
  ASSERT_TRUE(bool(policy));
  auto prog = compilePolicy(*policy);
  ASSERT_TRUE(bool(prog));
  EXPECT_EQ(d.extend.allowed, 9u + kernelIssuedSyscalls().size()); // the manifest's 9 and the kernel-issued ones
  EXPECT_EQ(d.extend.denied, x86_64Syscalls().size() - d.extend.allowed);
  EXPECT_EQ(d.extend.argumentConstrained, 1u); // socket: the domain fact becomes a condition
  EXPECT_EQ(d.extend.instructions, prog->size());
  EXPECT_EQ(d.extend.worstPath, pathLengths(*prog, *policy).worst);
  EXPECT_EQ(d.extend.defaultAction, "kill-process");

  addSyscall(m, "epoll_wait");
  Decision more = decided(m);
  EXPECT_EQ(more.extend.allowed, d.extend.allowed + 1);
  EXPECT_EQ(more.extend.denied, d.extend.denied - 1);
}

// argument_constrained counts the syscalls the filter extend would build checks arguments of: facts with
// values count, `any` does not, and clone3's ENOSYS (no condition) does not.
TEST(Decide, ArgumentConstrainedCountsCheckedSyscalls) {
  Manifest m = server();
  addSyscall(m, "clone");
  addSyscall(m, "clone3");
  addSyscall(m, "ioctl");
  for (SyscallUse &u : m.footprint.syscalls) {
    if (u.name == "clone") u.args["flags"] = ArgFact::of({"0x1200011"});
    if (u.name == "ioctl") u.args["request"] = ArgFact::anyOf();
  }
  EXPECT_EQ(decided(m).extend.argumentConstrained, 2u); // socket, clone
  for (SyscallUse &u : m.footprint.syscalls)
    if (u.name == "socket") u.args["domain"] = ArgFact::anyOf();
  EXPECT_EQ(decided(m).extend.argumentConstrained, 1u); // clone
}

TEST(Decide, RewriteGainsFollowTheKconfigTable) {
  Manifest m = server();
  Decision d = decided(m);
  EXPECT_TRUE(hasOption(d, "NET"));
  EXPECT_TRUE(hasOption(d, "INET")); // from the socket domain fact
  EXPECT_FALSE(hasOption(d, "EPOLL"));
  EXPECT_GT(d.rewrite.syscallsGeneric, d.rewrite.syscallsCompiledIn);
  EXPECT_FALSE(d.rewrite.image.built);
  EXPECT_NE(d.rewrite.image.note.find("estimate"), std::string::npos);

  addSyscall(m, "epoll_wait");
  Decision more = decided(m);
  EXPECT_TRUE(hasOption(more, "EPOLL"));
  EXPECT_GT(more.rewrite.syscallsCompiledIn, d.rewrite.syscallsCompiledIn);
}

struct BlockerCase {
  const char *syscall;
  const char *kind;
};

TEST(Decide, EachBlockingSyscallBlocksRewrite) {
  for (BlockerCase c : {BlockerCase{"ptrace", "ptrace"}, {"execve", "executes-programs"},
                        {"execveat", "executes-programs"}, {"init_module", "kernel-modules"},
                        {"finit_module", "kernel-modules"}, {"mount", "mounts"}, {"pivot_root", "mounts"}}) {
    Manifest m = server();
    addSyscall(m, c.syscall, chain("entry", {"_start", "main", "do_it"}));
    Decision d = decided(m);
    EXPECT_EQ(d.recommendation, "extend") << c.syscall;
    ASSERT_EQ(kinds(d.blockers), std::vector<std::string>{c.kind}) << c.syscall;
    EXPECT_EQ(d.blockers[0].syscall, c.syscall);
    ASSERT_FALSE(d.blockers[0].evidence.empty());
    EXPECT_EQ(d.blockers[0].evidence[0].chain.back().symbol, "do_it");
    EXPECT_NE(d.blockers[0].detail.find("do_it"), std::string::npos) << d.blockers[0].detail;
  }
}

TEST(Decide, TheLoadersOwnExecveIsNotABlocker) {
  Manifest m = server();
  addSyscall(m, "execve", chain("interpreter entry (ld-linux-x86-64.so.2)", {"sub_1ab70", "sub_1bfc0"}));
  EXPECT_EQ(decided(m).recommendation, "rewrite");
  // ... unless the program reaches it too.
  for (SyscallUse &u : m.footprint.syscalls)
    if (u.name == "execve") u.evidence.push_back(chain("entry", {"main", "system"}));
  Decision d = decided(m);
  EXPECT_EQ(d.recommendation, "extend");
  EXPECT_NE(d.blockers[0].detail.find("system"), std::string::npos);
}

// A version 2 manifest says how its modules arrived: the image carries executed programs and loaded
// libraries the analysis resolved; only the ones it could not name block a rewrite.
TEST(Decide, ResolvedRunTimeCodeIsCarriedUnresolvedBlocks) {
  Manifest m = server();
  ModuleInfo app, sh, nss;
  app.name = "server";
  app.kind = "program";
  app.loaded = "executable";
  sh.name = "sh";
  sh.kind = "program";
  sh.loaded = "exec";
  sh.by = "server";
  sh.target = "/bin/sh";
  nss.name = "libnss_systemd.so.2";
  nss.kind = "library";
  nss.loaded = "nss";
  m.footprint.modules = {app, sh, nss};
  addSyscall(m, "execve", chain("entry", {"_start", "main", "run_shell"}));
  Decision d = decided(m);
  EXPECT_EQ(kinds(d.blockers), std::vector<std::string>{}) << d.summary;
  EXPECT_EQ(d.recommendation, "rewrite");

  Unresolved ex{"exec", "exec of a program chosen at run time (the path is chosen at run time)",
                chain("entry", {"_start", "main", "spawn_any"})};
  Unresolved dl{"dlopen", "dlopen of a library chosen at run time (the path is chosen at run time)",
                chain("entry", {"_start", "main", "load_plugin"})};
  m.footprint.unresolved = {ex, dl};
  Decision blocked = decided(m);
  EXPECT_EQ(kinds(blocked.blockers), (std::vector<std::string>{"executes-programs", "dynamic-loading"}));
  EXPECT_NE(blocked.blockers[0].detail.find("spawn_any"), std::string::npos) << blocked.blockers[0].detail;
  EXPECT_EQ(blocked.recommendation, "extend");

  // A version 1 manifest knows nothing of executed programs: execve itself blocks, as before.
  Manifest v1 = server();
  addSyscall(v1, "execve", chain("entry", {"_start", "main", "run_shell"}));
  EXPECT_EQ(kinds(decided(v1).blockers), std::vector<std::string>{"executes-programs"});
}

TEST(Decide, DevicesTheMicroVmLacks) {
  Manifest m = server();
  m.footprint.kernel.paths = {"/dev/null", "/dev/urandom", "/dev/pts/0", "/proc/self/maps"};
  EXPECT_EQ(decided(m).recommendation, "rewrite");
  m.footprint.kernel.paths.push_back("/dev/kvm");
  Decision d = decided(m);
  EXPECT_EQ(d.recommendation, "extend");
  ASSERT_EQ(kinds(d.blockers), std::vector<std::string>{"host-device"});
  EXPECT_EQ(d.blockers[0].path, "/dev/kvm");
  EXPECT_TRUE(hasOption(d, "PROC_FS")); // /proc/self/maps
}

TEST(Decide, UnresolvedSitesBlockRewriteAndCaveatExtend) {
  Manifest m = server();
  Unresolved dl;
  dl.kind = "dlopen";
  dl.why = "dlopen of a library chosen at run time";
  dl.evidence = chain("entry", {"main", "load_plugin"});
  m.footprint.unresolved.push_back(dl);
  Decision d = decided(m);
  EXPECT_EQ(kinds(d.blockers), std::vector<std::string>{"dynamic-loading"});
  EXPECT_TRUE(d.caveats.empty());

  Unresolved nr;
  nr.kind = "syscall-number";
  nr.why = "%rax is not a constant at the syscall instruction";
  nr.evidence = chain("entry", {"main", "raw_call"});
  m.footprint.unresolved.push_back(nr);
  d = decided(m);
  EXPECT_EQ(kinds(d.blockers), (std::vector<std::string>{"dynamic-loading", "unresolved-syscall"}));
  ASSERT_EQ(kinds(d.caveats), std::vector<std::string>{"unresolved-sites"});
  EXPECT_NE(d.caveats[0].detail.find("errno:38"), std::string::npos);
}

TEST(Decide, JsonIsDeterministicAndSaysTheSame) {
  Manifest m = server();
  addSyscall(m, "ptrace");
  Decision d = decided(m);
  std::string a = renderDecisionJson(d), b = renderDecisionJson(decided(m));
  EXPECT_EQ(a, b);
  auto v = llvm::json::parse(a);
  ASSERT_TRUE(bool(v)) << llvm::toString(v.takeError());
  const llvm::json::Object *o = v->getAsObject();
  EXPECT_EQ(o->getInteger("bespoke_decision"), kDecisionVersion);
  EXPECT_EQ(o->getString("recommendation"), "extend");
  EXPECT_EQ((*o->getArray("blockers"))[0].getAsObject()->getString("kind"), "ptrace");
  EXPECT_EQ(o->getObject("extend")->getInteger("allowed"), int64_t(d.extend.allowed));
  EXPECT_NE(renderDecisionText(d).find("recommendation: extend"), std::string::npos);
}

TEST(Decide, AnImageDirectoryIsMeasured) {
  std::string dir = ::testing::TempDir() + "/decide-image";
  std::string mk = "rm -rf " + dir + " && mkdir -p " + dir + " && head -c 1234 /dev/zero > " + dir + "/bzImage && head -c 567 /dev/zero > " +
                   dir + "/initramfs.cpio.gz";
  ASSERT_EQ(system(mk.c_str()), 0);
  DecideOptions opts;
  opts.imageDir = dir;
  auto d = decide(server(), opts);
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  EXPECT_TRUE(d->rewrite.image.built);
  EXPECT_EQ(d->rewrite.image.kernelBytes, 1234u);
  EXPECT_EQ(d->rewrite.image.initramfsBytes, 567u);
  EXPECT_EQ(d->rewrite.image.root, "initramfs");
  EXPECT_EQ(d->rewrite.image.rootBytes, 567u);
  // A block root, as image.json names it.
  std::string mk2 = "head -c 8192 /dev/zero > " + dir + "/root.erofs && echo '{\"root\": {\"kind\": \"erofs\", "
                    "\"file\": \"root.erofs\"}}' > " + dir + "/image.json";
  ASSERT_EQ(system(mk2.c_str()), 0);
  d = decide(server(), opts);
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  EXPECT_EQ(d->rewrite.image.root, "erofs");
  EXPECT_EQ(d->rewrite.image.rootBytes, 8192u);
  EXPECT_EQ(d->rewrite.image.initramfsBytes, 0u);
  EXPECT_NE(renderDecisionText(*d).find("root erofs 8192 bytes"), std::string::npos) << renderDecisionText(*d);
  opts.imageDir = dir + "/missing";
  auto bad = decide(server(), opts);
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("bzImage"), std::string::npos);
}

} // namespace
