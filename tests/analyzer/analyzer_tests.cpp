// Unit tests of analyzer/: the whole-binary analysis on small programs compiled at build time
// (tests/analyzer/data, built by tests/analyzer/CMakeLists.txt into BESPOKE_TEST_DATA_DIR), and determinism.
#include "tests/analyzer/AnalyzerTestSupport.h"

using namespace bespoke;
using namespace bespoke::analyzertest;

namespace {

// ===================================================================================================
// Whole-binary analysis on compiled programs

TEST(AnalyzeBinary, ErrorsNameTheInput) {
  TempDir tmp;
  BinaryAnalysisOptions opts;
  auto r = analyzeBinary(tmp / "nothing", opts);
  ASSERT_FALSE(bool(r));
  EXPECT_EQ(llvm::toString(r.takeError()).rfind(tmp / "nothing" + ": ", 0), 0u);
  opts.loader.ldSoCache = tmp / "none";
  auto m = analyzeBinary(data("need_missing"), opts);
  ASSERT_FALSE(bool(m));
  EXPECT_TRUE(contains(llvm::toString(m.takeError()), "libbespokemissing.so"));
}

TEST(AnalyzeBinary, AsmConstantSyscallNoLibc) {
  std::string prog = data("asm_const");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  EXPECT_EQ(fp.app.linkage, "static");
  EXPECT_EQ(fp.app.libc, "none");
  ASSERT_EQ(fp.modules.size(), 1u);
  // Exactly the two inline syscalls (and those the kernel issues itself): nothing missing, nothing invented.
  EXPECT_EQ(programSyscallNames(fp), (std::set<std::string>{"exit", "getpid"}));
  for (const char *k : {"clock_getres", "clock_gettime", "gettimeofday", "restart_syscall"}) {
    const SyscallUse *u = findSyscall(fp, k);
    ASSERT_TRUE(u) << k;
    EXPECT_TRUE(onlyKernelIssued(*u)) << k << ": " << evidenceText(*u);
  }
  EXPECT_EQ(findSyscall(fp, "restart_syscall")->evidence[0].root, "kernel: signal restart");
  EXPECT_TRUE(fp.unresolved.empty()) << describe(fp);
  const SyscallUse *getpid = findSyscall(fp, "getpid");
  ASSERT_TRUE(getpid);
  EXPECT_EQ(getpid->nr, 39);
  EXPECT_TRUE(someChainHas(*getpid, "asm_const", "raw_getpid")) << evidenceText(*getpid);
  EXPECT_EQ(getpid->evidence[0].chain.front().symbol, "_start") << evidenceText(*getpid);
  EXPECT_EQ(getpid->evidence[0].root, "entry");
  expectCoversStrace(prog, fp);
}

TEST(AnalyzeBinary, PointersInPackedRelativeRelocationsAreAddressTaken) {
  std::string prog = data("relr_table");
  auto elf = ElfModule::open(prog);
  ASSERT_TRUE(bool(elf)) << llvm::toString(elf.takeError());
  // The table's pointer is relocated by DT_RELR: a RELATIVE relocation whose addend is the stored word.
  bool relative = false;
  for (const ElfReloc &r : (*elf)->relocations())
    if (r.type == 8 /* R_X86_64_RELATIVE */ && (*elf)->inExecutableSection(uint64_t(r.addend))) relative = true;
  EXPECT_TRUE(relative);
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  const SyscallUse *acct = findSyscall(fp, "acct");
  ASSERT_TRUE(acct) << "the function reached only through the RELR-relocated table was missed:\n" << describe(fp);
  EXPECT_TRUE(someChainHas(*acct, "relr_table", "only_through_data")) << evidenceText(*acct);
}

TEST(AnalyzeBinary, LegacyVsyscallPageCallsAreSyscalls) {
  std::string prog = data("asm_vsyscall");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  // gettimeofday through `call *%rax` with the page's address, time by a direct call, exit by `syscall`.
  for (const char *n : {"exit", "time"}) {
    const SyscallUse *u = findSyscall(fp, n);
    ASSERT_TRUE(u) << n << " missing:\n" << describe(fp);
    EXPECT_TRUE(someChainHas(*u, "asm_vsyscall", "_start")) << evidenceText(*u);
  }
  const SyscallUse *gtod = findSyscall(fp, "gettimeofday");
  ASSERT_TRUE(gtod);
  EXPECT_FALSE(onlyKernelIssued(*gtod)) << "the register call was not recorded:\n" << evidenceText(*gtod);
  EXPECT_EQ(findSyscall(fp, "getcpu"), nullptr);
  EXPECT_TRUE(fp.unresolved.empty()) << describe(fp);
}

TEST(AnalyzeBinary, AsmSyscallNumberFromArgcIsUnresolved) {
  std::string prog = data("asm_argc");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  bool found = false;
  for (const Unresolved &u : fp.unresolved) {
    const Frame &site = u.evidence.chain.back();
    if (u.kind == "syscall-number" && site.module == "asm_argc" && site.symbol == "main") found = true;
  }
  EXPECT_TRUE(found) << "no unresolved syscall-number site in asm_argc's main:\n" << describe(fp);
  expectCoversStrace(prog, fp);
}

TEST(AnalyzeBinary, GlibcSyscallWrapperDynamic) {
  std::string prog = data("wrapper_syscall");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  EXPECT_EQ(fp.app.name, "wrapper_syscall");
  EXPECT_EQ(fp.app.linkage, "dynamic");
  EXPECT_EQ(fp.app.libc, "glibc");
  EXPECT_NE(fp.app.libcVersion, "none");
  std::set<std::string> mods;
  for (const ModuleInfo &m : fp.modules) mods.insert(m.name);
  EXPECT_TRUE(mods.count("libc.so.6"));
  EXPECT_TRUE(mods.count("ld-linux-x86-64.so.2"));
  for (const char *name : {"getpid", "gettid"}) {
    const SyscallUse *u = findSyscall(fp, name);
    ASSERT_TRUE(u) << name << " missing from the footprint";
    EXPECT_EQ(u->nr, *syscallNumber(name));
    EXPECT_TRUE(someChainHas(*u, "wrapper_syscall", "main")) << name << " evidence:" << evidenceText(*u);
  }
  EXPECT_TRUE(findSyscall(fp, "exit_group"));
  expectCoversStrace(prog, fp);
}

TEST(AnalyzeBinary, GlibcSyscallWrapperStatic) {
  std::string prog = data("wrapper_syscall_static");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  EXPECT_EQ(fp.app.linkage, "static");
  EXPECT_EQ(fp.app.libc, "glibc");
  EXPECT_EQ(fp.modules.size(), 1u);
  for (const char *name : {"getpid", "gettid"}) {
    const SyscallUse *u = findSyscall(fp, name);
    ASSERT_TRUE(u) << name << " missing from the footprint";
    EXPECT_TRUE(someChainHas(*u, "wrapper_syscall_static", "main")) << name << " evidence:" << evidenceText(*u);
  }
  EXPECT_TRUE(findSyscall(fp, "exit_group"));
  expectCoversStrace(prog, fp);
}

TEST(AnalyzeBinary, MuslStaticFileAndSocketIo) {
  REQUIRE_MUSL();
  std::string prog = data("musl_io");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  EXPECT_EQ(fp.app.linkage, "static");
  EXPECT_EQ(fp.modules.size(), 1u);
  // What strace shows for this program built with musl 1.2 on x86-64: open (not openat), read, write,
  // socket, close, exit_group.
  for (const char *name : {"open", "read", "write", "socket", "close", "exit_group"}) {
    const SyscallUse *u = findSyscall(fp, name);
    ASSERT_TRUE(u) << name << " missing from the footprint of " << prog << ":\n" << describe(fp);
    EXPECT_EQ(u->nr, *syscallNumber(name));
  }
  const SyscallUse *open = findSyscall(fp, "open");
  EXPECT_TRUE(someChainHas(*open, "musl_io", "main")) << evidenceText(*open);
  const SyscallUse *socket = findSyscall(fp, "socket");
  EXPECT_TRUE(someChainHas(*socket, "musl_io", "main")) << evidenceText(*socket);
  expectCoversStrace(prog, fp);
}

TEST(AnalyzeBinary, FunctionPointerIsOverApproximated) {
  REQUIRE_MUSL();
  std::string prog = data("fnptr_yield");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  const SyscallUse *u = findSyscall(fp, "sched_yield");
  ASSERT_TRUE(u) << "sched_yield, reachable only through a function pointer, is missing:\n" << describe(fp);
  EXPECT_EQ(u->nr, 24);
  EXPECT_TRUE(someChainHas(*u, "fnptr_yield", "yield_fn")) << evidenceText(*u);
  EXPECT_GT(fp.stats.addressTakenFunctions + fp.stats.indirectCallSites, 0u);
  expectCoversStrace(prog, fp);
}

TEST(AnalyzeBinary, FunctionPointerNoLibc) {
  // The same over-approximation where the pointer is the only way to the syscall: no C library, and no
  // function ends in padding that could fall through into yield_fn.
  std::string prog = data("fnptr_asm");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  EXPECT_EQ(programSyscallNames(fp), (std::set<std::string>{"exit", "sched_yield"})) << describe(fp);
  const SyscallUse *u = findSyscall(fp, "sched_yield");
  ASSERT_TRUE(u);
  EXPECT_TRUE(someChainHas(*u, "fnptr_asm", "_start")) << evidenceText(*u);
  EXPECT_TRUE(someChainHas(*u, "fnptr_asm", "yield_fn")) << evidenceText(*u);
  expectCoversStrace(prog, fp);
}

TEST(AnalyzeBinary, PaddingAfterTailJumpDoesNotFallThrough) {
  // jumper is `jmp target` plus alignment padding, and never_called (sched_yield) follows it in .text.
  // Nothing calls never_called or takes its address: only getpid (in target) and exit are reachable.
  std::string prog = data("padding_fallthrough");
  Footprint fp = analyze(prog);
  expectWellFormed(fp);
  EXPECT_EQ(programSyscallNames(fp), (std::set<std::string>{"exit", "getpid"})) << describe(fp);
  expectCoversStrace(prog, fp);
}

TEST(AnalyzeBinary, BinTrueCoversItsRunTimeSyscalls) {
  Footprint fp = analyze("/bin/true");
  expectWellFormed(fp);
  EXPECT_TRUE(findSyscall(fp, "exit_group"));
  expectCoversStrace("/bin/true", fp);
}

// ===================================================================================================
// Determinism

TEST(Determinism, NoCacheColdCacheWarmCacheAndJobsAgree) {
  std::string prog = data("wrapper_syscall");
  TempDir tmp;
  std::string cache = tmp / "cache";
  BinaryAnalysisReport r1, r2, r3;
  Footprint a = analyze(prog, "", 1, &r1);
  Footprint b = analyze(prog, cache, 4, &r2);
  Footprint c = analyze(prog, cache, 2, &r3);
  EXPECT_EQ(r1.cacheHits, 0u);
  EXPECT_EQ(r2.cacheHits, 0u);
  EXPECT_EQ(r3.modules, r2.modules);
  EXPECT_EQ(r3.cacheHits, r3.modules) << "second cached run should take every model from the cache";
  std::string da = describe(a);
  ASSERT_FALSE(a.syscalls.empty());
  EXPECT_EQ(da, describe(b)) << "no cache vs cold cache";
  EXPECT_EQ(da, describe(c)) << "no cache vs warm cache";
  // Field by field as well, so a difference in a field describe() forgot cannot hide.
  ASSERT_EQ(a.syscalls.size(), c.syscalls.size());
  for (size_t i = 0; i < a.syscalls.size(); ++i) {
    EXPECT_EQ(a.syscalls[i].name, c.syscalls[i].name);
    EXPECT_EQ(a.syscalls[i].nr, c.syscalls[i].nr);
    ASSERT_EQ(a.syscalls[i].evidence.size(), c.syscalls[i].evidence.size());
    for (size_t k = 0; k < a.syscalls[i].evidence.size(); ++k)
      EXPECT_EQ(chainText(a.syscalls[i].evidence[k]), chainText(c.syscalls[i].evidence[k]));
  }
  ASSERT_EQ(a.unresolved.size(), c.unresolved.size());
  for (size_t i = 0; i < a.unresolved.size(); ++i) {
    EXPECT_EQ(a.unresolved[i].kind, c.unresolved[i].kind);
    EXPECT_EQ(a.unresolved[i].why, c.unresolved[i].why);
    EXPECT_EQ(chainText(a.unresolved[i].evidence), chainText(c.unresolved[i].evidence));
  }
}

TEST(Determinism, RepeatedRunsOfBinLs) {
  Footprint a = analyze("/bin/ls", "", 0);
  Footprint b = analyze("/bin/ls", "", 3);
  EXPECT_FALSE(a.syscalls.empty());
  EXPECT_EQ(describe(a), describe(b));
}

} // namespace
