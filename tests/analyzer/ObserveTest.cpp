// observe_tests: observeRun on small programs built by tests/analyzer/CMakeLists.txt (observe_*.c), each
// showing one way code arrives at run time, on commands that fail, and on real programs of this machine
// (tar running xz, id loading an NSS module, python3 importing C extensions). After every test no child
// of this process is left, running or as a zombie.
#include "analyzer/Observe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace bespoke {
namespace {

std::string data(const std::string &name) { return fs::canonical(fs::path(BESPOKE_TEST_DATA_DIR) / name); }
std::string real(const std::string &path) { return fs::canonical(path); }

Observation observed(const std::string &binary, const std::vector<std::string> &args, ObserveOptions opts = {}) {
  opts.timeoutSeconds = std::min(opts.timeoutSeconds, 20.0);
  llvm::Expected<Observation> obs = observeRun(binary, args, opts);
  if (!obs) {
    ADD_FAILURE() << llvm::toString(obs.takeError());
    return {};
  }
  return std::move(*obs);
}

std::string errorOf(const std::string &binary, const std::vector<std::string> &args, ObserveOptions opts = {}) {
  llvm::Expected<Observation> obs = observeRun(binary, args, opts);
  if (obs) {
    ADD_FAILURE() << binary << ": observed, exit status " << obs->exitStatus << ", where an error was expected";
    return "";
  }
  return llvm::toString(obs.takeError());
}

bool hasObject(const Observation &obs, const std::string &path, const std::string &program) {
  return std::count(obs.objects.begin(), obs.objects.end(), ObservedObject{path, program}) == 1;
}

bool hasProgram(const Observation &obs, const ObservedExec &e) {
  return std::count(obs.programs.begin(), obs.programs.end(), e) == 1;
}

// True when PID no longer runs, within a few seconds: reaped, or a zombie left for its parent to reap
// (an orphan's is init, which need not be quick about it).
bool ended(pid_t pid) {
  for (int i = 0; i < 300; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    size_t state = line.rfind(')') + 2; // the command name may hold anything but ends at the last ')'
    if (state < line.size() && (line[state] == 'Z' || line[state] == 'X')) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::vector<pid_t> pidsIn(const std::string &file) {
  std::vector<pid_t> pids;
  std::ifstream in(file);
  for (pid_t p; in >> p;) pids.push_back(p);
  return pids;
}

class Observe : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("bespoke-observe-" + std::to_string(getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override {
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << "a child of the test is left";
    EXPECT_EQ(errno, ECHILD);
    fs::remove_all(dir);
  }
  fs::path dir;
};

TEST_F(Observe, DlopenedLibraryIsListedWithTheExecutableAndItsInterpreter) {
  Observation obs = observed(data("observe_dlopen"), {data("libobserve_plugin.so")});
  EXPECT_EQ(obs.exitStatus, 0);
  std::string self = data("observe_dlopen");
  EXPECT_TRUE(hasObject(obs, data("libobserve_plugin.so"), self));
  EXPECT_TRUE(hasObject(obs, self, self));
  EXPECT_TRUE(hasObject(obs, real("/lib64/ld-linux-x86-64.so.2"), self)); // mapped by the kernel
  EXPECT_TRUE(hasObject(obs, real("/lib/x86_64-linux-gnu/libc.so.6"), self));
  EXPECT_TRUE(obs.programs.empty()); // BINARY's own exec is not listed
  EXPECT_TRUE(obs.transient.empty());
}

TEST_F(Observe, DlclosedLibraryIsStillListed) {
  Observation obs = observed(data("observe_dlopen"), {data("libobserve_plugin.so"), "close"});
  EXPECT_EQ(obs.exitStatus, 0);
  EXPECT_TRUE(hasObject(obs, data("libobserve_plugin.so"), data("observe_dlopen")));
}

TEST_F(Observe, ForkedShellPipelineListsTheShellAndWhatItRuns) {
  std::string self = data("observe_fork_shell"), sh = real("/bin/sh");
  Observation obs = observed(self, {});
  EXPECT_EQ(obs.exitStatus, 0);
  EXPECT_TRUE(hasProgram(obs, {sh, "/bin/sh", self}));
  bool cat = std::any_of(obs.programs.begin(), obs.programs.end(),
                         [&](const ObservedExec &e) { return e.path == real("/bin/cat") && e.by == sh; });
  EXPECT_TRUE(cat);
  EXPECT_TRUE(hasObject(obs, real("/bin/cat"), real("/bin/cat")));
  EXPECT_TRUE(hasObject(obs, sh, sh));
}

TEST_F(Observe, StaticProgramMapsOnlyItself) {
  std::string self = data("observe_static");
  Observation obs = observed(self, {});
  EXPECT_EQ(obs.exitStatus, 0);
  ASSERT_EQ(obs.objects.size(), 1u);
  EXPECT_EQ(obs.objects[0], (ObservedObject{self, self}));
}

TEST_F(Observe, ExecFromASecondThread) {
  Observation obs = observed(data("observe_thread_exec"), {});
  EXPECT_EQ(obs.exitStatus, 0);
  EXPECT_TRUE(hasProgram(obs, {real("/bin/true"), "/bin/true", data("observe_thread_exec")}));
}

TEST_F(Observe, PosixSpawn) {
  Observation obs = observed(data("observe_spawn"), {});
  EXPECT_EQ(obs.exitStatus, 0);
  EXPECT_TRUE(hasProgram(obs, {real("/bin/true"), "/bin/true", data("observe_spawn")}));
}

TEST_F(Observe, MprotectedFileAndMemfdCode) {
  std::string self = data("observe_map_code");
  Observation obs = observed(self, {data("libobserve_plugin.so")});
  EXPECT_EQ(obs.exitStatus, 0);
  EXPECT_TRUE(hasObject(obs, data("libobserve_plugin.so"), self));
  ASSERT_EQ(obs.transient.size(), 1u);
  EXPECT_TRUE(obs.transient[0].path.starts_with("/memfd:observe-jit")) << obs.transient[0].path;
}

TEST_F(Observe, SignalsAndStopsBehaveAsWithoutTheTracer) {
  ObserveOptions opts;
  opts.timeoutSeconds = 10;
  EXPECT_EQ(observed(data("observe_signals"), {}, opts).exitStatus, 0);
}

TEST_F(Observe, CommandThatCannotStartIsAnError) {
  std::string missing = (dir / "missing").string();
  EXPECT_EQ(errorOf(missing, {}), missing + ": cannot start: No such file or directory");
  std::string source = fs::path(BESPOKE_TEST_DATA_SRC) / "observe_static.c"; // not executable
  EXPECT_EQ(errorOf(source, {}), source + ": cannot start: Permission denied");
  std::string garbage = (dir / "garbage").string();
  std::ofstream(garbage) << "\x01\x02 not a program\n";
  fs::permissions(garbage, fs::perms::owner_all);
  EXPECT_EQ(errorOf(garbage, {"a"}), garbage + " a: cannot start: Exec format error");
  EXPECT_EQ(errorOf("bespoke-no-such-program", {}), "bespoke-no-such-program: cannot start: not found in PATH");
  ObserveOptions opts;
  opts.workingDirectory = missing;
  EXPECT_EQ(errorOf("/bin/true", {}, opts),
            "/bin/true: cannot start: cannot enter " + missing + ": No such file or directory");
}

TEST_F(Observe, NonZeroExitAndFatalSignalAreNotErrors) {
  Observation three = observed("/bin/sh", {"-c", "exit 3"});
  EXPECT_EQ(three.exitStatus, 3);
  EXPECT_EQ(three.signal, 0);
  Observation killed = observed("/bin/sh", {"-c", "kill -9 $$"});
  EXPECT_EQ(killed.exitStatus, 128 + SIGKILL);
  EXPECT_EQ(killed.signal, SIGKILL);
}

TEST_F(Observe, TimeoutKillsTheWholeTree) {
  std::string pidFile = (dir / "pids").string();
  std::string script = "sleep 30 & echo $! > " + pidFile + "; echo $$ >> " + pidFile + "; wait";
  ObserveOptions opts;
  opts.timeoutSeconds = 1;
  auto began = std::chrono::steady_clock::now();
  EXPECT_EQ(errorOf("/bin/sh", {"-c", script}, opts),
            "/bin/sh -c " + script + ": still running after the 1 s timeout: killed its process tree");
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
  std::vector<pid_t> pids = pidsIn(pidFile);
  ASSERT_EQ(pids.size(), 2u);
  for (pid_t p : pids) EXPECT_TRUE(ended(p)) << p;
}

TEST_F(Observe, DaemonOutlivingTheGraceIsKilledAndReported) {
  std::string pidFile = (dir / "daemon.pid").string();
  ObserveOptions opts;
  opts.descendantGraceSeconds = 0.3;
  Observation obs = observed(data("observe_daemon"), {pidFile, "/bin/sleep", "30"}, opts);
  EXPECT_EQ(obs.exitStatus, 0);
  EXPECT_EQ(obs.killedDescendants, std::vector<std::string>{real("/bin/sleep")});
  EXPECT_TRUE(hasProgram(obs, {real("/bin/sleep"), "/bin/sleep", data("observe_daemon")}));
  std::vector<pid_t> pids = pidsIn(pidFile);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_TRUE(ended(pids[0]));
}

TEST_F(Observe, DaemonFinishingWithinTheGraceIsSeenWhole) {
  std::string sh = real("/bin/sh");
  Observation obs = observed(data("observe_daemon"),
                             {(dir / "daemon.pid").string(), "/bin/sh", "-c", "sleep 0.2; exec /bin/true"});
  EXPECT_EQ(obs.exitStatus, 0);
  EXPECT_TRUE(obs.killedDescendants.empty());
  EXPECT_TRUE(hasProgram(obs, {real("/bin/true"), "/bin/true", sh}));
}

TEST_F(Observe, LeavesTheCallersOtherChildrenAlone) {
  pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    usleep(300000);
    _exit(5);
  }
  observed("/bin/true", {});
  int status = 0;
  ASSERT_EQ(waitpid(other, &status, 0), other);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 5);
}

// Real programs of this machine.

TEST_F(Observe, TarCompressingWithXz) {
  if (!fs::exists("/usr/bin/tar") || !fs::exists("/usr/bin/xz")) GTEST_SKIP() << "tar or xz not installed";
  fs::create_directories(dir / "in");
  std::ofstream(dir / "in" / "file") << "some data\n";
  ObserveOptions opts;
  opts.workingDirectory = dir;
  Observation obs = observed("/usr/bin/tar", {"-cJf", "out.tar.xz", "in"}, opts);
  EXPECT_EQ(obs.exitStatus, 0);
  std::string xz = real("/usr/bin/xz");
  EXPECT_TRUE(std::any_of(obs.programs.begin(), obs.programs.end(),
                          [&](const ObservedExec &e) { return e.path == xz; }));
  EXPECT_TRUE(std::any_of(obs.objects.begin(), obs.objects.end(), [&](const ObservedObject &o) {
    return o.program == xz && fs::path(o.path).filename().string().starts_with("liblzma.so");
  }));
  // The file tar read is listed; the archive it only wrote gives its directory; xz (executed) is code.
  auto file = [&](const std::string &p) {
    auto it = std::find_if(obs.files.begin(), obs.files.end(), [&](const ObservedFile &f) { return f.path == p; });
    return it == obs.files.end() ? nullptr : &*it;
  };
  const ObservedFile *in = file(real(dir / "in" / "file"));
  ASSERT_NE(in, nullptr);
  EXPECT_FALSE(in->directory);
  EXPECT_EQ(in->program, real("/usr/bin/tar"));
  EXPECT_EQ(file(real(dir / "out.tar.xz")), nullptr);
  ASSERT_NE(file(real(dir)), nullptr);
  EXPECT_TRUE(file(real(dir))->directory);
  EXPECT_EQ(file(xz), nullptr);
}

TEST_F(Observe, IdLoadsTheNssModuleNamedByNsswitchConf) {
  std::ifstream conf("/etc/nsswitch.conf");
  bool systemd = false;
  for (std::string line; std::getline(conf, line);)
    systemd |= line.starts_with("passwd:") && line.find("systemd") != std::string::npos;
  if (!systemd) GTEST_SKIP() << "/etc/nsswitch.conf does not name systemd for passwd";
  Observation obs = observed("/usr/bin/id", {"root"});
  EXPECT_EQ(obs.exitStatus, 0);
  EXPECT_TRUE(std::any_of(obs.objects.begin(), obs.objects.end(), [](const ObservedObject &o) {
    return fs::path(o.path).filename() == "libnss_systemd.so.2";
  }));
}

TEST_F(Observe, PythonImportingCExtensions) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not installed";
  Observation obs = observed("/usr/bin/python3", {"-c", "import json, _ssl"});
  EXPECT_EQ(obs.exitStatus, 0);
  for (const char *module : {"_json.cpython", "_ssl.cpython"})
    EXPECT_TRUE(std::any_of(obs.objects.begin(), obs.objects.end(), [&](const ObservedObject &o) {
      return o.path.find("/lib-dynload/") != std::string::npos && o.path.find(module) != std::string::npos;
    })) << module;
  EXPECT_TRUE(std::any_of(obs.objects.begin(), obs.objects.end(), [](const ObservedObject &o) {
    return fs::path(o.path).filename().string().starts_with("libssl.so");
  }));
}

// The files a run names by path: relative ones resolved against its working directory, "." and ".."
// resolved (".." kept after a link, where the shorter name is another file), lookups of absent files and /proc left out, write-only files giving their directory, mapped
// code left to objects; sorted, each once.
TEST_F(Observe, FilesTheRunOpensOrLooksUp) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not installed";
  fs::create_directories(dir / "sub" / "out");
  fs::create_directories(dir / "real" / "inner");
  fs::create_directory_symlink("real/inner", dir / "link");
  std::ofstream(dir / "data.txt") << "data\n";
  std::ofstream(dir / "real" / "beside.txt") << "beside\n";
  std::ofstream(dir / "prog.py") << "import os, json\n"
                                    "open('data.txt').read()\n"
                                    "os.path.exists('no-such-file')\n"
                                    "open('/proc/self/status').read()\n"
                                    "os.stat('sub/../sub')\n"
                                    "open('link/../beside.txt').read()\n"
                                    "open('sub/out/result.txt', 'w').write('x')\n";
  ObserveOptions opts;
  opts.workingDirectory = dir;
  Observation obs = observed("/usr/bin/python3", {"prog.py"}, opts);
  EXPECT_EQ(obs.exitStatus, 0);
  std::vector<std::string> paths;
  for (const ObservedFile &f : obs.files) paths.push_back(f.path);
  EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
  EXPECT_EQ(std::adjacent_find(paths.begin(), paths.end()), paths.end());
  auto has = [&](const std::string &p) { return std::count(paths.begin(), paths.end(), p) == 1; };
  std::string d = real(dir);
  EXPECT_TRUE(has(d + "/prog.py"));
  EXPECT_TRUE(has(d + "/data.txt"));
  EXPECT_TRUE(has(d + "/sub"));
  EXPECT_TRUE(has(d + "/sub/out")); // result.txt was only written
  EXPECT_FALSE(has(d + "/sub/out/result.txt"));
  EXPECT_FALSE(has(d + "/no-such-file"));
  EXPECT_TRUE(has(d + "/link/../beside.txt")); // through the link: real/beside.txt, not ./beside.txt
  EXPECT_TRUE(std::any_of(paths.begin(), paths.end(), [](const std::string &p) {
    return p.starts_with("/usr/lib/python3") && p.ends_with("/json/__init__.py");
  }));
  for (const std::string &p : paths) {
    EXPECT_FALSE(p.starts_with("/proc")) << p;
    if (p != d + "/link/../beside.txt") {
      EXPECT_EQ(p.find("/../"), std::string::npos) << p;
    }
    EXPECT_EQ(p.find("/lib-dynload/"), std::string::npos) << p; // _json's .so is mapped code
  }
}

} // namespace
} // namespace bespoke
