// Code that arrives at run time (analyzer/ProcessImage, RunTimeCode, BinaryAnalyzer's program tree): each
// way a program brings in code its ELF closure does not name, on small programs built here (data/runtime)
// whose extra code makes a syscall nothing else makes — so the footprint has the syscall exactly when the
// analysis followed the code there — and on this machine's glibc and configuration.
#include "analyzer/BinaryAnalyzer.h"
#include "analyzer/KernelEntries.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

using namespace bespoke;

namespace {

const std::string Dir = BESPOKE_RUNTIME_DATA_DIR, SrcDir = BESPOKE_RUNTIME_SRC_DIR;
std::string data(const std::string &name) { return Dir + "/" + name; }

llvm::Expected<Footprint> analyze(const std::string &path, RunTimeOptions rt = {}, std::vector<std::string> *warnings = nullptr) {
  BinaryAnalysisOptions opts;
  opts.runTime = std::move(rt);
  if (warnings) opts.runTime.warning = [warnings](const std::string &w) { warnings->push_back(w); };
  return analyzeBinary(path, opts);
}

Footprint must(llvm::Expected<Footprint> fp) {
  if (!fp) {
    ADD_FAILURE() << llvm::toString(fp.takeError());
    return {};
  }
  return std::move(*fp);
}

const SyscallUse *syscall(const Footprint &fp, const std::string &name) {
  for (const SyscallUse &u : fp.syscalls)
    if (u.name == name) return &u;
  return nullptr;
}

const ModuleInfo *module(const Footprint &fp, const std::string &name) {
  for (const ModuleInfo &m : fp.modules)
    if (m.name == name) return &m;
  return nullptr;
}

std::vector<const Unresolved *> unresolved(const Footprint &fp, const std::string &kind) {
  std::vector<const Unresolved *> out;
  for (const Unresolved &u : fp.unresolved)
    if (u.kind == kind) out.push_back(&u);
  return out;
}

bool chainThrough(const SyscallUse &u, const std::string &module, const std::string &symbol) {
  for (const Evidence &e : u.evidence)
    for (const Frame &f : e.chain)
      if (f.module == module && f.symbol.find(symbol) != std::string::npos) return true;
  return false;
}

// The modules that came with one loaded by `loaded` (it and its closure, by `by` links).
std::set<std::string> broughtBy(const Footprint &fp, const std::string &loaded) {
  std::set<std::string> out;
  for (const ModuleInfo &m : fp.modules)
    if (m.loaded == loaded || (m.loaded == "needed" && out.count(m.by))) out.insert(m.name);
  return out;
}

bool chainThroughAny(const SyscallUse &u, const std::set<std::string> &modules) {
  for (const Evidence &e : u.evidence)
    for (const Frame &f : e.chain)
      if (modules.count(f.module)) return true;
  return false;
}

std::string text(const Footprint &fp) {
  std::string s;
  for (const ModuleInfo &m : fp.modules) s += "module " + m.name + " " + m.loaded + " by " + m.by + "\n";
  for (const Unresolved &u : fp.unresolved) s += "unresolved " + u.kind + ": " + u.why + "\n";
  return s;
}

} // namespace

TEST(RunTimeCode, ConstantDlopenIsFoundAsLdSoFindsItAndEnteredFromTheCall) {
  Footprint fp = must(analyze(data("dlopen_const")));
  const ModuleInfo *plugin = module(fp, "libbespoke_plugin.so");
  ASSERT_TRUE(plugin) << text(fp);
  EXPECT_EQ(plugin->loaded, "dlopen");
  EXPECT_EQ(plugin->kind, "library");
  EXPECT_EQ(plugin->by, "dlopen_const");
  EXPECT_EQ(plugin->target, "libbespoke_plugin.so");
  EXPECT_EQ(plugin->path, data("plugins/libbespoke_plugin.so")); // through DT_RUNPATH $ORIGIN/plugins
  ASSERT_TRUE(plugin->site);
  EXPECT_EQ(plugin->site->module, "dlopen_const");
  const SyscallUse *acct = syscall(fp, "acct");
  ASSERT_TRUE(acct) << "the plugin's constructor was not analysed\n" << text(fp);
  EXPECT_TRUE(chainThrough(*acct, "dlopen_const", "main")) << "the chain does not start at the dlopen call";
  EXPECT_TRUE(chainThrough(*acct, "libbespoke_plugin.so", "plugin_init"));
  EXPECT_TRUE(unresolved(fp, "dlopen").empty()) << text(fp);
}

TEST(RunTimeCode, DlopenChosenAtRunTimeIsUnresolvedUntilTheUserNamesTheLibrary) {
  Footprint fp = must(analyze(data("dlopen_var")));
  EXPECT_EQ(syscall(fp, "acct"), nullptr);
  auto open = unresolved(fp, "dlopen");
  ASSERT_EQ(open.size(), 2u) << text(fp);
  bool chosen = false, missing = false;
  for (const Unresolved *u : open) {
    chosen |= u->why.find("chosen at run time") != std::string::npos;
    missing |= u->why.find("\"libbespoke_nowhere.so.9\": not found on this machine") != std::string::npos;
  }
  EXPECT_TRUE(chosen && missing) << text(fp);

  RunTimeOptions rt;
  rt.dlopen = {data("plugins/libbespoke_plugin.so")};
  Footprint given = must(analyze(data("dlopen_var"), rt));
  const ModuleInfo *plugin = module(given, "libbespoke_plugin.so");
  ASSERT_TRUE(plugin) << text(given);
  EXPECT_EQ(plugin->loaded, "flag");
  EXPECT_EQ(plugin->flag, "--dlopen " + data("plugins/libbespoke_plugin.so"));
  const SyscallUse *acct = syscall(given, "acct");
  ASSERT_TRUE(acct);
  EXPECT_TRUE(chainThrough(*acct, "dlopen_var", "main")) << "entered from the open dlopen site";
  // The site stays listed: other libraries may come through it.
  EXPECT_EQ(unresolved(given, "dlopen").size(), 2u);
}

TEST(RunTimeCode, ExecutedProgramsAreAnalysedAndMerged) {
  Footprint fp = must(analyze(data("exec_const")));
  const ModuleInfo *helper = module(fp, "helper");
  ASSERT_TRUE(helper) << text(fp);
  EXPECT_EQ(helper->kind, "program");
  EXPECT_EQ(helper->loaded, "exec");
  EXPECT_EQ(helper->by, "exec_const");
  EXPECT_EQ(helper->target, data("helper"));
  const SyscallUse *syncfs = syscall(fp, "syncfs");
  ASSERT_TRUE(syncfs) << "the executed program's syscalls are not in the footprint";
  EXPECT_TRUE(chainThrough(*syncfs, "exec_const", "main"));
  EXPECT_TRUE(chainThrough(*syncfs, "helper", "main"));
  // execlp("true"): PATH; system(): glibc's posix_spawn of the constant /bin/sh.
  const ModuleInfo *truth = module(fp, "true");
  ASSERT_TRUE(truth) << text(fp);
  EXPECT_EQ(truth->target, "true");
  const ModuleInfo *sh = module(fp, "sh");
  ASSERT_TRUE(sh) << text(fp);
  EXPECT_EQ(sh->target, "/bin/sh");
  EXPECT_EQ(sh->by, "exec_const"); // the program that executes it; the call is libc's
  ASSERT_TRUE(sh->site);
  EXPECT_EQ(sh->site->module, "libc.so.6");
  // The shell runs commands chosen at run time: that exec stays unresolved.
  bool shellExec = false;
  for (const Unresolved *u : unresolved(fp, "exec"))
    shellExec |= !u->evidence.chain.empty() && u->evidence.chain.back().module == "sh";
  EXPECT_TRUE(shellExec) << text(fp);
}

TEST(RunTimeCode, ExecChosenAtRunTimeThroughAWrapperIsUnresolvedAtTheCaller) {
  Footprint fp = must(analyze(data("exec_var")));
  auto open = unresolved(fp, "exec");
  ASSERT_EQ(open.size(), 1u) << text(fp);
  // Reported at main's call of the wrapper that passes its argument on, not inside execv.
  EXPECT_EQ(open[0]->evidence.chain.back().symbol, "main") << text(fp);
  EXPECT_EQ(syscall(fp, "syncfs"), nullptr);

  RunTimeOptions rt;
  rt.exec = {data("helper")};
  Footprint given = must(analyze(data("exec_var"), rt));
  const ModuleInfo *helper = module(given, "helper");
  ASSERT_TRUE(helper) << text(given);
  EXPECT_EQ(helper->loaded, "flag");
  EXPECT_EQ(helper->flag, "--exec " + data("helper"));
  EXPECT_TRUE(syscall(given, "syncfs"));
}

TEST(RunTimeCode, ExecutedProgramsAreBounded) {
  RunTimeOptions rt;
  rt.maxPrograms = 1; // the program itself
  Footprint fp = must(analyze(data("exec_const"), rt));
  EXPECT_EQ(module(fp, "helper"), nullptr);
  bool bounded = false;
  for (const Unresolved *u : unresolved(fp, "exec")) bounded |= u->why.find("stops after 1 programs") != std::string::npos;
  EXPECT_TRUE(bounded) << text(fp);
}

TEST(RunTimeCode, NssModulesFromTheStockNsswitchConf) {
  if (!llvm::sys::fs::exists("/lib/x86_64-linux-gnu/libnss_systemd.so.2"))
    GTEST_SKIP() << "libnss-systemd is not installed";
  std::ifstream conf("/etc/nsswitch.conf");
  std::string line, passwd;
  while (std::getline(conf, line))
    if (line.rfind("passwd:", 0) == 0) passwd = line;
  if (passwd.find("systemd") == std::string::npos) GTEST_SKIP() << "/etc/nsswitch.conf's passwd line names no systemd";
  Footprint fp = must(analyze(data("nss_iconv")));
  const ModuleInfo *nss = module(fp, "libnss_systemd.so.2");
  ASSERT_TRUE(nss) << text(fp);
  EXPECT_EQ(nss->loaded, "nss");
  EXPECT_EQ(nss->by, "libc.so.6");
  EXPECT_EQ(nss->config.rfind("/etc/nsswitch.conf:", 0), 0u) << nss->config;
  EXPECT_NE(nss->config.find("systemd"), std::string::npos) << nss->config;
  // libnss_systemd talks to systemd-userdb over AF_UNIX (as glibc's own nscd client does) and its
  // closure (libcap) calls prctl, which without the configuration's modules the program never makes.
  RunTimeOptions off;
  off.configuration = false;
  Footprint bare = must(analyze(data("nss_iconv"), off));
  std::set<std::string> nssCode = broughtBy(fp, "nss");
  for (const char *name : {"socket", "connect", "prctl"}) ASSERT_TRUE(syscall(fp, name)) << name;
  EXPECT_EQ(syscall(bare, "prctl"), nullptr);
  EXPECT_TRUE(chainThroughAny(*syscall(fp, "prctl"), nssCode)) << text(fp);
  // Its closure came with it.
  const ModuleInfo *cap = module(fp, "libcap.so.2");
  ASSERT_TRUE(cap);
  EXPECT_EQ(cap->by, "libnss_systemd.so.2");
}

TEST(RunTimeCode, GconvModulesWhenIconvOpenIsReachableAddNoSyscalls) {
  Footprint fp = must(analyze(data("nss_iconv")));
  size_t gconv = std::count_if(fp.modules.begin(), fp.modules.end(), [](const ModuleInfo &m) { return m.loaded == "gconv"; });
  EXPECT_GT(gconv, 100u) << "Debian 12 ships ~250 gconv modules";
  // The modules only convert: every syscall the configuration's plugins add comes from NSS, none from
  // gconv. (Why glibc's own conversions, e.g. gettext's, may load them without the analysis adding them:
  // README.)
  RunTimeOptions off;
  off.configuration = false;
  Footprint bare = must(analyze(data("nss_iconv"), off));
  std::set<std::string> without;
  for (const SyscallUse &u : bare.syscalls) without.insert(u.name);
  std::set<std::string> nssCode = broughtBy(fp, "nss");
  for (const SyscallUse &u : fp.syscalls)
    if (!without.count(u.name)) {
      EXPECT_TRUE(chainThroughAny(u, nssCode)) << u.name << " comes from gconv";
    }
  // Without the configuration, the plugin systems are listed as unresolved instead.
  bool listed = false;
  for (const Unresolved *u : unresolved(bare, "dlopen")) listed |= u->why.find("gconv") != std::string::npos;
  EXPECT_TRUE(listed) << text(bare);
}

TEST(RunTimeCode, GlibcSetxidBroadcastIsResolved) {
  Footprint fp = must(analyze(data("setxid")));
  for (const Unresolved &u : fp.unresolved)
    EXPECT_NE(u.kind, "syscall-number") << u.why << " at " << u.evidence.chain.back().symbol;
  for (const char *name : {"setuid", "setgid", "setgroups"}) EXPECT_TRUE(syscall(fp, name)) << name;
}

TEST(RunTimeCode, DlopenPathsAreCheckedAndDirectoriesExpanded) {
  auto ok = expandDlopenPaths({data("plugins")});
  ASSERT_TRUE(bool(ok)) << llvm::toString(ok.takeError());
  EXPECT_EQ(*ok, std::vector<std::string>{data("plugins/libbespoke_plugin.so")});
  auto missing = expandDlopenPaths({data("no-such.so")});
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(llvm::toString(missing.takeError()), data("no-such.so") + ": No such file or directory (--dlopen)");
  auto notElf = expandDlopenPaths({SrcDir + "/dlopen_const.c"});
  ASSERT_FALSE(bool(notElf));
  EXPECT_EQ(llvm::toString(notElf.takeError()), SrcDir + "/dlopen_const.c: not an ELF file (--dlopen expects x86-64 shared objects)");
  auto program = expandDlopenPaths({data("helper.static")});
  ASSERT_FALSE(bool(program));
  EXPECT_NE(llvm::toString(program.takeError()).find("not a shared object"), std::string::npos);
}
