// Unit tests of the Clang front end (analyzer/source/ClangFrontend): the small C programs in testdata/
// (BESPOKE_SOURCE_TEST_DATA_DIR) are analysed through a compile_commands.json written by the test. Lines
// are found through "M:name" markers in the sources, so the programs can be edited freely.
#include "analyzer/source/ClangFrontend.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef BESPOKE_SOURCE_TEST_DATA_DIR
#error "BESPOKE_SOURCE_TEST_DATA_DIR must name tests/analyzer/source/testdata"
#endif
#ifndef BESPOKE_SOURCE_TEST_HAVE_MUSL
#define BESPOKE_SOURCE_TEST_HAVE_MUSL 0
#endif

using namespace bespoke;
namespace fs = std::filesystem;

namespace {

const std::string DataDir = BESPOKE_SOURCE_TEST_DATA_DIR;
std::string data(const std::string &name) { return DataDir + "/" + name; }

// A private temporary directory, removed with everything in it.
class TempDir {
public:
  TempDir() {
    std::string base = fs::temp_directory_path().string() + "/bespoke-source-test-XXXXXX";
    std::vector<char> tmpl(base.begin(), base.end());
    tmpl.push_back('\0');
    if (!mkdtemp(tmpl.data())) {
      perror("mkdtemp");
      abort();
    }
    path_ = tmpl.data();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  std::string write(const std::string &name, const std::string &text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

private:
  std::string path_;
};

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// One compile_commands.json entry, written as "arguments" or as one "command" string.
struct Command {
  std::string directory, file;
  std::vector<std::string> args;
  bool asString = false;
};

std::string database(const std::vector<Command> &commands) {
  std::string json = "[\n";
  for (size_t i = 0; i < commands.size(); ++i) {
    const Command &c = commands[i];
    json += "  {\"directory\": " + jsonString(c.directory) + ", \"file\": " + jsonString(c.file) + ", ";
    if (c.asString) {
      std::string line;
      for (const std::string &a : c.args) line += (line.empty() ? "" : " ") + a;
      json += "\"command\": " + jsonString(line);
    } else {
      json += "\"arguments\": [";
      for (size_t k = 0; k < c.args.size(); ++k) json += (k ? ", " : "") + jsonString(c.args[k]);
      json += "]";
    }
    json += i + 1 < commands.size() ? "},\n" : "}\n";
  }
  return json + "]\n";
}

// The line of testdata file `file` that carries the marker "M:name".
unsigned lineOf(const std::string &file, const std::string &name) {
  std::ifstream in(data(file));
  std::string line;
  for (unsigned n = 1; std::getline(in, line); ++n) {
    size_t at = line.find("M:" + name);
    if (at != std::string::npos) {
      size_t end = at + 2 + name.size();
      if (end == line.size() || line[end] == ' ' || line[end] == '*') return n;
    }
  }
  ADD_FAILURE() << "no marker M:" << name << " in " << file;
  return 0;
}

std::string dump(const SourceFacts &f) {
  std::ostringstream o;
  o << "compiler " << f.compiler << "\n";
  for (const auto &fn : f.functions)
    o << "fn " << fn.usr << " " << fn.name << " " << fn.symbol << " [" << fn.type << "] " << fn.loc.file << ":"
      << fn.loc.line << " def=" << fn.defined << " addr=" << fn.addressTaken << " inl=" << fn.inlineOnly
      << " cast=" << fn.typeCastAway << " entry=" << int(fn.entry) << " " << fn.entryWhy << "\n";
  for (const auto &c : f.calls) {
    o << "call " << c.callerUsr << " " << c.loc.file << ":" << c.loc.line << " -> " << c.calleeUsr << " ["
      << c.indirectType << "] cast=" << c.typeCastAway;
    for (const auto &a : c.args) o << " " << (a.known ? (a.isString ? "\"" + a.text + "\"" : std::to_string(a.value)) : "?");
    o << "\n";
  }
  for (const auto &a : f.inlineAsm) o << "asm " << a.functionUsr << " " << a.loc.file << ":" << a.loc.line << "\n";
  for (const auto &p : f.problems) o << "problem " << p.file << ": " << p.message << "\n";
  for (const auto &t : f.translationUnits) o << "tu " << t << "\n";
  return o.str();
}

// The analysis of testdata/, shared by the tests (one parse of every file).
class SourceFrontendTest : public ::testing::Test {
protected:
  static TempDir *dir;
  static std::string dbPath;
  static SourceFacts *facts;
  static std::vector<std::string> progress;

  static std::vector<Command> commands() {
    std::vector<Command> c = {
        {DataDir, "calls.c", {"cc", "-c", "-O2", "-Wall", "-pthread", "calls.c", "-o", "calls.o"}},
        {DataDir, data("other.c"), {"clang", "-c", "other.c", "-o", "/nonexistent/other.o"}, true},
        {DataDir, "args.c", {"cc", "-c", "-MD", "-MF", "args.d", "-o", "args.o", "args.c"}},
        {DataDir, "broken.c", {"cc", "-c", "broken.c"}},
        {DataDir, "does_not_exist.c", {"cc", "-c", "does_not_exist.c"}},
        {DataDir, "gccflags.c",
         {"gcc", "-c", "-Wall", "-Wextra", "-Werror", "-fconserve-stack", "-fno-tree-loop-distribute-patterns",
          "-mindirect-branch=thunk", "-Wformat-truncation=2", "-fno-allow-store-data-races", "gccflags.c"}},
        {DataDir, "fortify.c", {"cc", "-O2", "-D_FORTIFY_SOURCE=2", "-c", "fortify.c"}},
        {DataDir + "/b", "other.c", {"cc", "-c", "other.c"}},
        {DataDir, "cxx.cpp", {"c++", "-std=c++17", "-c", "cxx.cpp"}},
        {DataDir, "source.S", {"cc", "-c", "source.S"}},
    };
    if (BESPOKE_SOURCE_TEST_HAVE_MUSL) c.push_back({DataDir, "musl.c", {"musl-gcc", "-c", "-O2", "musl.c"}});
    return c;
  }

  static void SetUpTestSuite() {
    dir = new TempDir;
    progress.clear();
    dbPath = dir->write("compile_commands.json", database(commands()));
    FrontendOptions opts;
    opts.jobs = 4;
    opts.progress = [](const std::string &line) { progress.push_back(line); };
    auto result = collectSourceFacts(dbPath, opts);
    ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
    facts = new SourceFacts(std::move(*result));
  }
  static void TearDownTestSuite() {
    delete facts;
    delete dir;
    facts = nullptr;
    dir = nullptr;
  }

  void SetUp() override { ASSERT_NE(facts, nullptr); }

  // The function named `name` whose location is in testdata file `file` (any file when empty).
  static const SourceFunction *function(const std::string &name, const std::string &file = "") {
    const SourceFunction *found = nullptr;
    for (const auto &f : facts->functions)
      if (f.name == name && (file.empty() || f.loc.file == data(file))) {
        EXPECT_EQ(found, nullptr) << "two functions " << name << " in " << file;
        found = &f;
      }
    return found;
  }

  static std::vector<const SourceCall *> callsAt(const std::string &file, unsigned line) {
    std::vector<const SourceCall *> out;
    for (const auto &c : facts->calls)
      if (c.loc.file == data(file) && c.loc.line == line) out.push_back(&c);
    return out;
  }

  static const SourceFunction *byUsr(const std::string &usr) {
    for (const auto &f : facts->functions)
      if (f.usr == usr) return &f;
    return nullptr;
  }

  // The call to a function named `callee` at marker `marker` of `file`.
  static const SourceCall *callTo(const std::string &callee, const std::string &file, const std::string &marker) {
    for (const SourceCall *c : callsAt(file, lineOf(file, marker)))
      if (const SourceFunction *f = byUsr(c->calleeUsr); f && f->name == callee) return c;
    ADD_FAILURE() << "no call to " << callee << " at " << file << " M:" << marker;
    return nullptr;
  }

  static const SourceCall *indirectCallAt(const std::string &file, const std::string &marker) {
    for (const SourceCall *c : callsAt(file, lineOf(file, marker)))
      if (c->calleeUsr.empty()) return c;
    ADD_FAILURE() << "no indirect call at " << file << " M:" << marker;
    return nullptr;
  }
};

TempDir *SourceFrontendTest::dir = nullptr;
std::string SourceFrontendTest::dbPath;
SourceFacts *SourceFrontendTest::facts = nullptr;
std::vector<std::string> SourceFrontendTest::progress;

// Expected argument values.
struct Want {
  enum Kind { Unknown, Int, Str } kind;
  int64_t value = 0;
  std::string text;
};
Want I(int64_t v) { return {Want::Int, v, ""}; }
Want S(const std::string &s) { return {Want::Str, 0, s}; }
const Want U{Want::Unknown, 0, ""};

void expectArgs(const SourceCall *call, const std::vector<Want> &want, const std::string &what) {
  ASSERT_NE(call, nullptr) << what;
  ASSERT_EQ(call->args.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    const ArgValue &a = call->args[i];
    switch (want[i].kind) {
    case Want::Unknown: EXPECT_FALSE(a.known) << what << " arg " << i; break;
    case Want::Int:
      EXPECT_TRUE(a.known && !a.isString) << what << " arg " << i;
      EXPECT_EQ(a.value, want[i].value) << what << " arg " << i;
      break;
    case Want::Str:
      EXPECT_TRUE(a.known && a.isString) << what << " arg " << i;
      EXPECT_EQ(a.text, want[i].text) << what << " arg " << i;
      break;
    }
  }
}

TEST_F(SourceFrontendTest, TranslationUnitsAndProblems) {
  std::vector<std::string> want = {data("args.c"), data("b/other.c"), data("calls.c"), data("cxx.cpp"),
                                   data("fortify.c"), data("gccflags.c"), data("other.c")};
  if (BESPOKE_SOURCE_TEST_HAVE_MUSL) want.insert(want.begin() + 6, data("musl.c"));
  EXPECT_EQ(facts->translationUnits, want);
  EXPECT_EQ(facts->compiler, "cc"); // args.c sorts first

  ASSERT_EQ(facts->problems.size(), 3u) << dump(*facts);
  EXPECT_EQ(facts->problems[0].file, data("broken.c"));
  EXPECT_NE(facts->problems[0].message.find("undeclared_thing"), std::string::npos) << facts->problems[0].message;
  EXPECT_NE(facts->problems[0].message.find("broken.c:2:"), std::string::npos) << facts->problems[0].message;
  EXPECT_EQ(facts->problems[0].message.find('\n'), std::string::npos);
  EXPECT_EQ(facts->problems[1].file, data("does_not_exist.c"));
  EXPECT_NE(facts->problems[1].message.find("not found"), std::string::npos);
  EXPECT_EQ(facts->problems[2].file, data("source.S"));
  EXPECT_NE(facts->problems[2].message.find("assembly"), std::string::npos);
  EXPECT_EQ(progress.size(), commands().size());
}

TEST_F(SourceFrontendTest, DirectCalls) {
  const SourceFunction *main = function("main", "calls.c");
  const SourceFunction *helper = function("helper", "calls.c");
  const SourceFunction *shared = function("shared_fn");
  ASSERT_TRUE(main && helper && shared);
  EXPECT_TRUE(main->defined);
  EXPECT_EQ(main->type, "int (int, char **)");
  EXPECT_EQ(helper->loc.line, lineOf("calls.c", "def_helper"));
  EXPECT_EQ(helper->type, "int (int)");
  EXPECT_FALSE(helper->addressTaken);
  EXPECT_EQ(helper->entry, EntryKind::None);

  const SourceCall *c = callTo("helper", "calls.c", "call_helper");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->callerUsr, main->usr);
  EXPECT_EQ(c->calleeUsr, helper->usr);
  EXPECT_TRUE(c->args.empty());

  // Defined in other.c, only declared in calls.c: one function, defined, located at its definition.
  EXPECT_TRUE(shared->defined);
  EXPECT_EQ(shared->loc.file, data("other.c"));
  EXPECT_EQ(shared->loc.line, lineOf("other.c", "def_shared"));
  const SourceCall *s = callTo("shared_fn", "calls.c", "call_shared");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->callerUsr, main->usr);

  // Library functions: declared only, their first declaration in a system header.
  const SourceFunction *signalFn = function("signal");
  ASSERT_NE(signalFn, nullptr);
  EXPECT_FALSE(signalFn->defined);
  EXPECT_EQ(signalFn->symbol, "signal");
  EXPECT_EQ(signalFn->loc.file.rfind("/usr/include/", 0), 0u) << signalFn->loc.file;

  // __attribute__((cleanup(f))) calls f at the end of the scope.
  const SourceCall *cleanup = callTo("cleanup_fn", "calls.c", "cleanup");
  ASSERT_NE(cleanup, nullptr);
  EXPECT_EQ(cleanup->callerUsr, main->usr);

  // sizeof does not call; compiler builtins are not functions.
  const SourceFunction *never = function("never_used");
  ASSERT_NE(never, nullptr);
  EXPECT_TRUE(never->defined);
  for (const auto &call : facts->calls) EXPECT_NE(call.calleeUsr, never->usr);
  for (const auto &f : facts->functions) EXPECT_NE(f.name.rfind("__builtin_expect", 0), 0u);
}

TEST_F(SourceFrontendTest, StaticFunctionsOfTwoTranslationUnitsStayApart) {
  const SourceFunction *mine = function("helper", "calls.c");
  const SourceFunction *other = function("helper", "other.c");
  const SourceFunction *sameBaseName = function("helper", "b/other.c");
  ASSERT_TRUE(mine && other && sameBaseName);
  EXPECT_NE(mine->usr, other->usr);
  EXPECT_NE(other->usr, sameBaseName->usr);
  EXPECT_EQ(sameBaseName->loc.line, lineOf("b/other.c", "b_helper"));
  const SourceCall *b = callTo("helper", "b/other.c", "b_call_helper");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->calleeUsr, sameBaseName->usr);
  EXPECT_EQ(b->callerUsr, function("other_b")->usr);
  EXPECT_TRUE(other->defined);
  EXPECT_EQ(other->loc.line, lineOf("other.c", "other_helper"));
  const SourceCall *c = callTo("shared_fn", "calls.c", "call_shared");
  ASSERT_NE(c, nullptr);
  bool found = false;
  for (const SourceCall *call : callsAt("other.c", lineOf("other.c", "other_call_helper"))) {
    EXPECT_EQ(call->calleeUsr, other->usr);
    EXPECT_EQ(call->callerUsr, function("shared_fn")->usr);
    found = true;
  }
  EXPECT_TRUE(found);
}

TEST_F(SourceFrontendTest, IndirectCallsAndAddressTakenFunctions) {
  const SourceFunction *add1 = function("add1");
  ASSERT_NE(add1, nullptr);
  EXPECT_TRUE(add1->addressTaken);
  EXPECT_FALSE(add1->typeCastAway);
  EXPECT_EQ(add1->entry, EntryKind::Escaping);
  EXPECT_NE(add1->entryWhy.find("calls.c:" + std::to_string(lineOf("calls.c", "take_add1"))), std::string::npos)
      << add1->entryWhy;

  const SourceCall *fp = indirectCallAt("calls.c", "call_fp");
  ASSERT_NE(fp, nullptr);
  EXPECT_EQ(fp->indirectType, "int (int)");
  EXPECT_EQ(fp->indirectType, add1->type); // how the source analysis matches targets
  EXPECT_FALSE(fp->typeCastAway);
  EXPECT_EQ(fp->callerUsr, function("main")->usr);
  EXPECT_TRUE(fp->args.empty());

  const SourceCall *wide = indirectCallAt("calls.c", "call_wide");
  ASSERT_NE(wide, nullptr);
  EXPECT_EQ(wide->indirectType, "long (long)");
  EXPECT_EQ(function("wide")->type, "long (long)");

  // Stored in a global table: escaping, taken outside any function.
  const SourceFunction *stored = function("stored");
  ASSERT_NE(stored, nullptr);
  EXPECT_TRUE(stored->addressTaken);
  EXPECT_EQ(stored->entry, EntryKind::Escaping);
  EXPECT_NE(stored->entryWhy.find("calls.c:" + std::to_string(lineOf("calls.c", "table"))), std::string::npos);
  const SourceCall *table = indirectCallAt("calls.c", "call_table");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->indirectType, "void (int)");
  EXPECT_FALSE(table->typeCastAway);

  // The pointer's type came from a cast: the call may reach any address-taken function, and the
  // function whose address went through void * is marked too.
  const SourceCall *cast = indirectCallAt("calls.c", "call_cast");
  ASSERT_NE(cast, nullptr);
  EXPECT_TRUE(cast->typeCastAway);
  EXPECT_EQ(cast->indirectType, "int (int)");
  const SourceFunction *casted = function("casted");
  ASSERT_NE(casted, nullptr);
  EXPECT_TRUE(casted->addressTaken);
  EXPECT_TRUE(casted->typeCastAway);
  EXPECT_EQ(casted->type, "int (int, int)");
}

TEST_F(SourceFrontendTest, EntryPoints) {
  auto expectEntry = [](const std::string &name, EntryKind kind, const std::string &whyPart) {
    const SourceFunction *f = function(name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(int(f->entry), int(kind)) << name << ": " << f->entryWhy;
    EXPECT_NE(f->entryWhy.find(whyPart), std::string::npos) << name << ": " << f->entryWhy;
  };
  expectEntry("main", EntryKind::Main, "main");
  expectEntry("init_fn", EntryKind::Constructor, "constructor");
  expectEntry("fini_fn", EntryKind::Destructor, "destructor");
  std::string calls = data("calls.c") + ":";
  expectEntry("on_signal", EntryKind::Callback, "passed to signal at " + calls + std::to_string(lineOf("calls.c", "signal")));
  expectEntry("thread_main", EntryKind::Callback,
              "passed to pthread_create at " + calls + std::to_string(lineOf("calls.c", "pthread")));
  expectEntry("at_exit_fn", EntryKind::Callback, "passed to atexit at " + calls + std::to_string(lineOf("calls.c", "atexit")));
  expectEntry("compare", EntryKind::Callback, "passed to qsort at " + calls + std::to_string(lineOf("calls.c", "qsort")));
  expectEntry("child", EntryKind::Callback, "passed to clone at " + data("args.c"));
  EXPECT_TRUE(function("on_signal")->addressTaken);
  EXPECT_FALSE(function("init_fn")->addressTaken);
}

TEST_F(SourceFrontendTest, InlineAsmSyscall) {
  const SourceFunction *main = function("main", "calls.c");
  ASSERT_NE(main, nullptr);
  bool inMain = false, inAssembly = false;
  for (const auto &a : facts->inlineAsm) {
    if (a.functionUsr == main->usr && a.loc.file == data("calls.c") && a.loc.line == lineOf("calls.c", "asm")) inMain = true;
    if (a.functionUsr.empty() && a.loc.file == data("source.S") && a.loc.line == 5) inAssembly = true;
  }
  EXPECT_TRUE(inMain) << dump(*facts);
  bool topLevel = false;
  for (const auto &a : facts->inlineAsm)
    if (a.functionUsr.empty() && a.loc.file == data("calls.c") && a.loc.line == lineOf("calls.c", "toplevel_asm"))
      topLevel = true;
  EXPECT_TRUE(topLevel) << "file-scope asm: outside any function";
  EXPECT_TRUE(inAssembly) << dump(*facts);
}

TEST_F(SourceFrontendTest, ArgumentFactsOfEachApi) {
  expectArgs(callTo("socket", "args.c", "socket_inet"), {I(AF_INET), I(SOCK_STREAM | SOCK_CLOEXEC), I(0)}, "socket");
  expectArgs(callTo("socketpair", "args.c", "socketpair"), {I(AF_UNIX), I(SOCK_DGRAM), I(0), U}, "socketpair");
  expectArgs(callTo("ioctl", "args.c", "ioctl_tcgets"), {I(0), I(TCGETS), U}, "ioctl TCGETS");
  expectArgs(callTo("ioctl", "args.c", "ioctl_fionread"), {U, I(FIONREAD), U}, "ioctl FIONREAD");
  expectArgs(callTo("open", "args.c", "open_proc"), {S("/proc/self/status"), I(O_RDONLY | O_CLOEXEC)}, "open /proc");
  expectArgs(callTo("openat", "args.c", "openat"), {I(AT_FDCWD), S("/sys/kernel/mm"), I(O_RDONLY | O_DIRECTORY)},
             "openat");
  expectArgs(callTo("fopen", "args.c", "fopen"), {S("/etc/hostname"), S("re")}, "fopen");
  expectArgs(callTo("mmap", "args.c", "mmap"),
             {I(0), I(4096), I(PROT_READ | PROT_WRITE), I(MAP_PRIVATE | MAP_ANONYMOUS), I(-1), I(0)}, "mmap");
  expectArgs(callTo("mprotect", "args.c", "mprotect"), {U, I(4096), I(PROT_READ)}, "mprotect");
  expectArgs(callTo("prctl", "args.c", "prctl"), {I(PR_SET_NO_NEW_PRIVS), I(1), I(0), I(0), I(0)}, "prctl");
  expectArgs(callTo("fcntl", "args.c", "fcntl"), {U, I(F_SETFD), I(FD_CLOEXEC)}, "fcntl");
  expectArgs(callTo("clone", "args.c", "clone"), {U, U, I(CLONE_VM | CLONE_FS | SIGCHLD), I(0)}, "clone");
  expectArgs(callTo("syscall", "args.c", "sys_getpid"), {I(SYS_getpid)}, "syscall(SYS_getpid)");
  expectArgs(callTo("syscall", "args.c", "nr_gettid"), {I(__NR_gettid)}, "syscall(__NR_gettid)");
  expectArgs(callTo("creat", "args.c", "creat"), {S("/tmp/bespoke-y"), I(0600)}, "creat");
}

TEST_F(SourceFrontendTest, NonConstantArgumentsAreUnknown) {
  expectArgs(callTo("open", "args.c", "open_param"), {S("/tmp/bespoke-x"), U}, "function parameter");
  expectArgs(callTo("socket", "args.c", "socket_argv"), {U, I(SOCK_STREAM), I(0)}, "value read from argv");
  expectArgs(callTo("open", "args.c", "open_twice"), {S("/dev/null"), U}, "variable assigned twice");
  expectArgs(callTo("open", "args.c", "open_addr_taken"), {S("/dev/zero"), U}, "variable whose address is taken");
  expectArgs(callTo("syscall", "args.c", "syscall_argc"), {U}, "syscall(argc)");
  expectArgs(callTo("open", "args.c", "open_argv"), {U, U}, "argv path, flags from a call");
  // A call that is not an argument API records no arguments.
  const SourceCall *withParam = callTo("open_with", "args.c", "open_argv");
  ASSERT_NE(withParam, nullptr);
  EXPECT_TRUE(withParam->args.empty());
}

TEST_F(SourceFrontendTest, LocalConstantsArePropagated) {
  expectArgs(callTo("open", "args.c", "open_const_local"), {S("/tmp/bespoke-z"), I(O_WRONLY | O_APPEND)}, "const local");
  expectArgs(callTo("open", "args.c", "open_assigned_once"), {S("/dev/zero"), I(O_RDONLY | O_NOFOLLOW)},
             "assigned once");
  expectArgs(callTo("open", "args.c", "open_local_path"), {S("/proc/cpuinfo"), I(O_RDONLY)}, "local path and flags");
  expectArgs(callTo("open", "args.c", "open_globals"), {S("/proc/self/mounts"), I(O_RDONLY | O_NONBLOCK)},
             "file-scope constants");
}

TEST_F(SourceFrontendTest, ConstantTablesIndexedAtRunTime) {
  const SourceCall *c = callTo("syscall", "args.c", "syscall_table");
  ASSERT_NE(c, nullptr);
  ASSERT_GE(c->args.size(), 2u);
  EXPECT_TRUE(c->args[0].known);
  EXPECT_EQ(c->args[0].alternatives, (std::vector<int64_t>{SYS_chdir, SYS_gettid, SYS_exit_group}));
  EXPECT_EQ(c->args[0].value, SYS_chdir);
  EXPECT_EQ(c->args[1].alternatives, (std::vector<int64_t>{1, 2, 3}));
  // A table that is not const can change at run time: unknown.
  const SourceCall *m = callTo("syscall", "args.c", "syscall_mutable_table");
  ASSERT_NE(m, nullptr);
  ASSERT_FALSE(m->args.empty());
  EXPECT_FALSE(m->args[0].known);
}

TEST_F(SourceFrontendTest, InlineOnlyDefinitionsAndAssemblerLabels) {
  // glibc's _FORTIFY_SOURCE read(): an inline-only body calling __read_alias, labelled "read".
  const SourceFunction *read = function("read");
  ASSERT_NE(read, nullptr);
  EXPECT_TRUE(read->defined);
  EXPECT_TRUE(read->inlineOnly);
  EXPECT_EQ(read->symbol, "read");
  const SourceFunction *alias = function("__read_alias");
  ASSERT_NE(alias, nullptr);
  EXPECT_FALSE(alias->defined);
  EXPECT_EQ(alias->symbol, "read");
  bool bodyCallsAlias = false;
  for (const auto &c : facts->calls)
    if (c.callerUsr == read->usr && c.calleeUsr == alias->usr) bodyCallsAlias = true;
  EXPECT_TRUE(bodyCallsAlias) << "calls inside a libc header's inline function are recorded";
  ASSERT_NE(callTo("read", "fortify.c", "call_read"), nullptr);

  const SourceFunction *c99 = function("c99_inline");
  ASSERT_NE(c99, nullptr);
  EXPECT_TRUE(c99->defined);
  EXPECT_TRUE(c99->inlineOnly);
  EXPECT_FALSE(function("use_inline")->inlineOnly);
  EXPECT_FALSE(function("main", "calls.c")->inlineOnly);
}

TEST_F(SourceFrontendTest, CxxConstructorsDestructorsAndVirtualCalls) {
  const SourceFunction *use = function("use");
  const SourceFunction *implRun = nullptr;
  for (const auto &f : facts->functions)
    if (f.name == "run" && f.defined) implRun = &f;
  ASSERT_TRUE(use && implRun);
  EXPECT_EQ(implRun->loc.line, lineOf("cxx.cpp", "impl_run")); // the pure Base::run has no definition
  EXPECT_TRUE(implRun->addressTaken) << "a defined virtual method is in a vtable";
  EXPECT_EQ(implRun->type, "int (int)");
  const SourceCall *virt = indirectCallAt("cxx.cpp", "virtual");
  ASSERT_NE(virt, nullptr);
  EXPECT_EQ(virt->indirectType, "int (int)");
  EXPECT_EQ(virt->callerUsr, use->usr);

  const SourceFunction *ctor = nullptr, *dtor = nullptr;
  for (const auto &f : facts->functions) {
    if (f.name == "Guard" && f.defined) ctor = &f;
    if (f.name == "~Guard" && f.defined) dtor = &f;
  }
  ASSERT_TRUE(ctor && dtor);
  EXPECT_EQ(ctor->symbol, "_ZN5GuardC1Ev");
  EXPECT_EQ(dtor->symbol, "_ZN5GuardD1Ev");
  EXPECT_EQ(ctor->entry, EntryKind::Constructor) << "global_guard is constructed at start-up";
  EXPECT_NE(ctor->entryWhy.find("cxx.cpp:" + std::to_string(lineOf("cxx.cpp", "global"))), std::string::npos) << ctor->entryWhy;
  EXPECT_EQ(dtor->entry, EntryKind::Callback) << "global_guard is destroyed at exit";
  ASSERT_NE(callTo("Guard", "cxx.cpp", "local"), nullptr);
  ASSERT_NE(callTo("~Guard", "cxx.cpp", "local"), nullptr);
  ASSERT_NE(callTo("operator new", "cxx.cpp", "new"), nullptr);
  ASSERT_NE(callTo("Impl", "cxx.cpp", "new"), nullptr);

  // A method named like a libc function has no argument facts; the libc call inside it has.
  const SourceCall *method = callTo("open", "cxx.cpp", "method_open");
  ASSERT_NE(method, nullptr);
  EXPECT_TRUE(method->args.empty());
  EXPECT_EQ(byUsr(method->calleeUsr)->symbol, "_ZN4File4openEPKci");
  expectArgs(callTo("open", "cxx.cpp", "libc_open"), {U, U}, "::open(p, f)");
}

TEST_F(SourceFrontendTest, MuslGccCommandUsesMuslHeaders) {
  if (!BESPOKE_SOURCE_TEST_HAVE_MUSL) GTEST_SKIP() << "musl-gcc was not found at configure time";
  const SourceFunction *puts = function("puts");
  ASSERT_NE(puts, nullptr);
  EXPECT_NE(puts->loc.file.find("musl"), std::string::npos) << puts->loc.file;
}

TEST_F(SourceFrontendTest, DeterministicWhateverTheJobs) {
  FrontendOptions one;
  one.jobs = 1;
  auto a = collectSourceFacts(dbPath, one);
  ASSERT_TRUE(bool(a)) << llvm::toString(a.takeError());
  EXPECT_EQ(dump(*a), dump(*facts));
  // The database's order does not matter either.
  std::vector<Command> reversed = commands();
  std::reverse(reversed.begin(), reversed.end());
  TempDir other;
  FrontendOptions four;
  four.jobs = 4;
  auto b = collectSourceFacts(other.write("compile_commands.json", database(reversed)), four);
  ASSERT_TRUE(bool(b)) << llvm::toString(b.takeError());
  EXPECT_EQ(dump(*b), dump(*facts));
}

// ---- compile databases that cannot be used ----

std::string errorOf(const std::string &path) {
  auto r = collectSourceFacts(path, FrontendOptions{});
  if (r) return "";
  return llvm::toString(r.takeError());
}

TEST(SourceFrontendDatabase, MissingFile) {
  TempDir dir;
  std::string path = dir.path() + "/compile_commands.json";
  std::string e = errorOf(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("not found"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(SourceFrontendDatabase, Malformed) {
  TempDir dir;
  std::string path = dir.write("compile_commands.json", "{");
  std::string e = errorOf(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("malformed"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(SourceFrontendDatabase, EmptyArray) {
  TempDir dir;
  std::string path = dir.write("compile_commands.json", "[]\n");
  std::string e = errorOf(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("no entries"), std::string::npos) << e;
}

TEST(SourceFrontendDatabase, NotAnArray) {
  TempDir dir;
  std::string path = dir.write("compile_commands.json", "{\"file\": \"a.c\"}");
  std::string e = errorOf(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("not a JSON array"), std::string::npos) << e;
}

TEST(SourceFrontendDatabase, EntryWithoutFile) {
  TempDir dir;
  std::string path = dir.write("compile_commands.json", "[{\"directory\": \"/\", \"command\": \"cc -c a.c\"}]");
  std::string e = errorOf(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(SourceFrontendDatabase, ControlCharactersInTheNameAreEscaped) {
  TempDir dir;
  std::string path = dir.path() + "/bad\nname.json";
  std::string e = errorOf(path);
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  EXPECT_NE(e.find("bad"), std::string::npos) << e;
}

} // namespace
