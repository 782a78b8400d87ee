// Tests of decide(): every blocker is pinned to the manifest fact behind it (add the fact, the blocker
// and the recommendation follow; take it away, they go), and the gains are computed from the manifest.

#include "specializer/Decision.h"

#include "analyzer/KernelEntries.h"
#include "analyzer/SyscallTable.h"
#include "extension-gen/Compiler.h"
#include "extension-gen/ManifestPolicy.h"
#include "seccomp/Interpreter.h"
#include "specializer/KernelRequirements.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>

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

// A fresh image directory for each test, unique (a shared one once leaked files between tests), with
// files whose modification times the test sets: the image's at kImageTime, measurements after it unless
// a test makes them older.
constexpr time_t kImageTime = 1700000000;

class ImageDir {
public:
  ImageDir() {
    llvm::SmallString<128> p;
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("decide-image", p));
    path = std::string(p);
  }
  ~ImageDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(const std::string &name) const { return path + "/" + name; }
  // Writes NAME with TEXT, modified at kImageTime + AGE seconds.
  void write(const std::string &name, const std::string &text, long age = 0) const {
    std::error_code ec;
    {
      llvm::raw_fd_ostream out(file(name), ec);
      ASSERT_FALSE(ec) << name << ": " << ec.message();
      out << text;
    }
    touch(name, age);
  }
  void touch(const std::string &name, long age) const {
    struct timespec times[2] = {{kImageTime + age, 0}, {kImageTime + age, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, file(name).c_str(), times, 0), 0) << name;
  }
  // A built image: bzImage and an initramfs of the given sizes, and a kernel.config unless empty.
  void image(const std::string &kernelConfig = "CONFIG_NET=y\n") const {
    write("bzImage", std::string(1234, '\0'));
    write("initramfs.cpio.gz", std::string(567, '\0'));
    if (!kernelConfig.empty()) write("kernel.config", kernelConfig);
  }
  std::string path;
};

// boot.json as `bespoke boot` writes it (images/Boot.cpp), with the fields a test varies.
std::string bootJson(int exitCode, const std::string &mem = "24M", const std::string &probe = "") {
  return "{\n  \"accel\": \"tcg\",\n  \"bespoke_boot\": 1,\n  \"exit_code\": " + std::to_string(exitCode) +
         ",\n  \"guest_init_ms\": 742,\n  \"host_first_output_ms\": 9968,\n  \"host_init_ms\": 1759,\n"
         "  \"mem\": \"" + mem + "\",\n  \"qemu_command\": [\"qemu-system-x86_64\", \"-m\", \"" + mem + "\"],\n" +
         (probe.empty() ? "" : "  \"syscall_probe\": " + probe + ",\n") + "  \"wall_ms\": 9982\n}\n";
}

std::string floorJson(const std::string &floor, const std::string &range = "[8, 256]") {
  return "{\"bespoke_mem_floor\": 1, \"floor_mib\": " + floor + ", \"searched_mib\": " + range +
         ", \"step_mib\": 2, \"accel\": \"tcg\", \"criterion\": \"served (PING, SET/GET)\", "
         "\"command\": [\"bespoke\", \"boot\", \"DIR\", \"--mem\", \"20M\"]}\n";
}

llvm::Expected<Decision> decideWith(const Manifest &m, const ImageDir &dir) {
  DecideOptions opts;
  opts.imageDir = dir.path;
  return decide(m, opts);
}

Decision decidedWith(const Manifest &m, const ImageDir &dir) {
  auto d = decideWith(m, dir);
  EXPECT_TRUE(bool(d)) << llvm::toString(d.takeError());
  return d ? *d : Decision{};
}

std::string errorOf(const Manifest &m, const ImageDir &dir) {
  auto d = decideWith(m, dir);
  if (d) return "(no error)";
  return llvm::toString(d.takeError());
}

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Decide, AnImageDirectoryIsMeasured) {
  ImageDir dir;
  dir.image("");
  Decision d = decidedWith(server(), dir);
  EXPECT_TRUE(d.rewrite.image.built);
  EXPECT_EQ(d.rewrite.image.kernelBytes, 1234u);
  EXPECT_EQ(d.rewrite.image.initramfsBytes, 567u);
  EXPECT_EQ(d.rewrite.image.root, "initramfs");
  EXPECT_EQ(d.rewrite.image.rootBytes, 567u);
  // A block root, as image.json names it.
  dir.write("root.erofs", std::string(8192, '\0'));
  dir.write("image.json", "{\"root\": {\"kind\": \"erofs\", \"file\": \"root.erofs\"}}");
  d = decidedWith(server(), dir);
  EXPECT_EQ(d.rewrite.image.root, "erofs");
  EXPECT_EQ(d.rewrite.image.rootBytes, 8192u);
  EXPECT_EQ(d.rewrite.image.initramfsBytes, 0u);
  EXPECT_TRUE(contains(renderDecisionText(d), "root erofs 8192 bytes")) << renderDecisionText(d);
  DecideOptions opts;
  opts.imageDir = dir.path + "/missing";
  auto bad = decide(server(), opts);
  ASSERT_FALSE(bool(bad));
  EXPECT_TRUE(contains(llvm::toString(bad.takeError()), "bzImage"));
}

TEST(Decide, AnImageNeverBootedSaysHowToMeasureIt) {
  ImageDir dir;
  dir.image();
  Decision d = decidedWith(server(), dir);
  EXPECT_EQ(d.recommendation, "rewrite");
  EXPECT_FALSE(d.rewrite.image.boot.measured);
  EXPECT_TRUE(contains(d.rewrite.image.boot.note, "not booted: bespoke boot " + dir.path)) << d.rewrite.image.boot.note;
  EXPECT_FALSE(d.rewrite.image.memory.searched);
  EXPECT_TRUE(contains(d.summary, "no current boot measurement")) << d.summary;
  auto v = llvm::json::parse(renderDecisionJson(d));
  ASSERT_TRUE(bool(v)) << llvm::toString(v.takeError());
  const llvm::json::Object *image = v->getAsObject()->getObject("rewrite")->getObject("image");
  EXPECT_EQ(image->getObject("boot")->getBoolean("measured"), false);
  EXPECT_TRUE(image->getObject("memory")->get("ran_in")->getAsNull());
  EXPECT_TRUE(image->getObject("memory")->get("floor_mib")->getAsNull());
}

TEST(Decide, ABootIsReportedAndBoundsTheMemoryFromAbove) {
  ImageDir dir;
  dir.image();
  dir.write("boot.json", bootJson(0), 10);
  Decision d = decidedWith(server(), dir);
  const BootMeasurement &b = d.rewrite.image.boot;
  ASSERT_TRUE(b.measured) << b.note;
  EXPECT_EQ(b.accel, "tcg");
  EXPECT_EQ(b.exitCode, 0);
  EXPECT_EQ(b.mem, "24M");
  EXPECT_EQ(b.guestInitMs, 742);
  EXPECT_EQ(b.hostInitMs, 1759);
  EXPECT_EQ(b.hostFirstOutputMs, 9968);
  EXPECT_EQ(b.wallMs, 9982);
  EXPECT_EQ(b.probeMs, -1);
  EXPECT_EQ(d.recommendation, "rewrite");
  // The rewrite's reasons cite the measurement; a successful boot is an upper bound, not a floor.
  EXPECT_TRUE(contains(d.summary, "boots under tcg")) << d.summary;
  EXPECT_TRUE(contains(d.summary, "first output at 9.97 s")) << d.summary;
  EXPECT_TRUE(contains(d.summary, "in 24M of guest memory")) << d.summary;
  std::string text = renderDecisionText(d);
  EXPECT_TRUE(contains(text, "boot: tcg, 24M, exit status 0; init at 0.74 s guest uptime, 1.76 s host")) << text;
  EXPECT_TRUE(contains(text, "memory: ran in 24M, an upper bound on what it needs, not its floor")) << text;
  auto v = llvm::json::parse(renderDecisionJson(d));
  ASSERT_TRUE(bool(v)) << llvm::toString(v.takeError());
  const llvm::json::Object *image = v->getAsObject()->getObject("rewrite")->getObject("image");
  EXPECT_EQ(image->getObject("boot")->getInteger("host_first_output_ms"), 9968);
  EXPECT_TRUE(image->getObject("boot")->get("syscall_probe_ms")->getAsNull());
  EXPECT_EQ(image->getObject("memory")->getString("ran_in"), "24M");
  EXPECT_EQ(renderDecisionJson(d), renderDecisionJson(decidedWith(server(), dir))); // the same files, the same output
}

TEST(Decide, ABootOlderThanTheImageIsIgnored) {
  ImageDir dir;
  dir.image();
  dir.write("boot.json", bootJson(1), 10);
  dir.touch("bzImage", 20); // the kernel was rebuilt after that boot
  Decision d = decidedWith(server(), dir);
  EXPECT_FALSE(d.rewrite.image.boot.measured);
  EXPECT_TRUE(contains(d.rewrite.image.boot.note, "is older than " + dir.file("bzImage"))) << d.rewrite.image.boot.note;
  EXPECT_EQ(d.recommendation, "rewrite"); // its failure no longer counts
  // A new image.json (a new rewrite into the same directory) does the same.
  dir.touch("bzImage", 0);
  dir.write("image.json", "{}", 20);
  d = decidedWith(server(), dir);
  EXPECT_FALSE(d.rewrite.image.boot.measured);
  EXPECT_TRUE(contains(d.rewrite.image.boot.note, "image.json")) << d.rewrite.image.boot.note;
  // Stale data is not read at all, so stale garbage is not an error either.
  dir.write("boot.json", "{", 10);
  EXPECT_FALSE(decidedWith(server(), dir).rewrite.image.boot.measured);
}

TEST(Decide, AFailedBootBlocksRewrite) {
  ImageDir dir;
  dir.image();
  dir.write("boot.json", bootJson(137), 10);
  Decision d = decidedWith(server(), dir);
  EXPECT_EQ(d.recommendation, "extend");
  ASSERT_EQ(kinds(d.blockers), std::vector<std::string>{"image-failed"});
  EXPECT_EQ(d.blockers[0].path, dir.file("boot.json"));
  EXPECT_TRUE(contains(d.blockers[0].detail, "ended by signal 9 (exit status 137)")) << d.blockers[0].detail;
  EXPECT_TRUE(contains(d.summary, "image-failed")) << d.summary;
  EXPECT_TRUE(contains(renderDecisionText(d), "memory: unknown")) << renderDecisionText(d);

  dir.write("boot.json", bootJson(1), 10);
  d = decidedWith(server(), dir);
  ASSERT_EQ(kinds(d.blockers), std::vector<std::string>{"image-failed"});
  EXPECT_TRUE(contains(d.blockers[0].detail, "the app exited with status 1")) << d.blockers[0].detail;
}

TEST(Decide, AServerStoppedFromOutsideRan) {
  ImageDir dir;
  dir.image();
  std::string stopped = bootJson(143);
  stopped.insert(stopped.find("  \"wall_ms\""), "  \"stopped_by_signal\": 15,\n");
  dir.write("boot.json", stopped, 10);
  Decision d = decidedWith(server(), dir);
  EXPECT_EQ(d.rewrite.image.boot.stoppedBySignal, 15);
  EXPECT_TRUE(d.blockers.empty()) << kinds(d.blockers).size();
  EXPECT_EQ(d.recommendation, "rewrite");
  std::string text = renderDecisionText(d);
  EXPECT_TRUE(contains(text, "exit status 143 (stopped from outside by signal 15)")) << text;
  EXPECT_TRUE(contains(text, "memory: ran in 24M")) << text;
  auto v = llvm::json::parse(renderDecisionJson(d));
  ASSERT_TRUE(bool(v));
  EXPECT_EQ(v->getAsObject()->getObject("rewrite")->getObject("image")->getObject("boot")->getInteger("stopped_by_signal"), 15);
  // The same status without the stop recorded is the app ended by SIGTERM: a failure.
  dir.write("boot.json", bootJson(143), 10);
  EXPECT_EQ(kinds(decidedWith(server(), dir).blockers), std::vector<std::string>{"image-failed"});
}

TEST(Decide, AMalformedBootJsonIsAnErrorNamingTheFile) {
  ImageDir dir;
  dir.image();
  struct Case {
    std::string text, problem;
  };
  std::string good = bootJson(0);
  auto without = [&](const std::string &key) {
    std::string t = good;
    size_t at = t.find("\"" + key + "\"");
    return t.erase(at, t.find('\n', at) + 1 - at);
  };
  for (const Case &c : {Case{"{", "boot.json: "}, Case{"[]", "not a JSON object"},
                        Case{"{\"bespoke_boot\": 2}", "bespoke_boot is not 1"},
                        Case{without("exit_code"), "exit_code is missing"},
                        Case{without("accel"), "accel is missing"},
                        Case{"{\"bespoke_boot\": 1, \"exit_code\": \"0\"}", "exit_code is not an integer"},
                        Case{bootJson(0, "24M", "{\"implemented_names\": [1]}"), "implemented_names holds a value"},
                        Case{bootJson(0, "24M", "[]"), "syscall_probe is not an object"}}) {
    dir.write("boot.json", c.text, 10);
    std::string e = errorOf(server(), dir);
    EXPECT_TRUE(contains(e, dir.file("boot.json"))) << e;
    EXPECT_TRUE(contains(e, c.problem)) << e << " (wanted: " << c.problem << ")";
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST(Decide, ASearchedMemoryFloorIsTheFloor) {
  ImageDir dir;
  dir.image();
  dir.write("boot.json", bootJson(0), 10);
  dir.write("mem_floor.json", floorJson("20"), 10);
  Decision d = decidedWith(server(), dir);
  const MemoryFloor &f = d.rewrite.image.memory;
  ASSERT_TRUE(f.searched) << f.note;
  ASSERT_TRUE(f.floorMiB);
  EXPECT_EQ(*f.floorMiB, 20);
  EXPECT_EQ(f.loMiB, 8);
  EXPECT_EQ(f.hiMiB, 256);
  EXPECT_EQ(f.stepMiB, 2);
  EXPECT_EQ(f.accel, "tcg");
  EXPECT_EQ(f.command.back(), "20M");
  EXPECT_EQ(d.recommendation, "rewrite");
  EXPECT_TRUE(contains(d.summary, "(memory floor 20 MiB)")) << d.summary;
  std::string text = renderDecisionText(d);
  EXPECT_TRUE(contains(text, "memory: floor 20 MiB, the smallest guest memory in 8..256 MiB (2 MiB steps) in which "
                             "the image booted and served (PING, SET/GET), under tcg")) << text;
  EXPECT_TRUE(contains(text, "the boot above ran in 24M")) << text;

  // Nothing in the range served: that weighs against rewrite like a failed boot.
  dir.write("mem_floor.json", floorJson("null"), 10);
  d = decidedWith(server(), dir);
  EXPECT_FALSE(d.rewrite.image.memory.floorMiB);
  ASSERT_EQ(kinds(d.blockers), std::vector<std::string>{"image-failed"});
  EXPECT_EQ(d.blockers[0].path, dir.file("mem_floor.json"));
  EXPECT_TRUE(contains(d.blockers[0].detail, "no guest memory in 8..256 MiB")) << d.blockers[0].detail;

  // Older than the image: ignored. Malformed: an error naming the file.
  dir.write("mem_floor.json", floorJson("20"), -10);
  EXPECT_FALSE(decidedWith(server(), dir).rewrite.image.memory.searched);
  dir.write("mem_floor.json", floorJson("20", "[256, 8]"), 10);
  std::string e = errorOf(server(), dir);
  EXPECT_TRUE(contains(e, dir.file("mem_floor.json") + ": searched_mib is not [LO, HI]")) << e;
  dir.write("mem_floor.json", "{\"bespoke_mem_floor\": 1}", 10);
  e = errorOf(server(), dir);
  EXPECT_TRUE(contains(e, "mem_floor.json: floor_mib is missing")) << e;
}

std::vector<std::string> optionsOf(const std::vector<OperatorFeature> &fs) {
  std::vector<std::string> out;
  for (const OperatorFeature &f : fs) out.push_back(f.option);
  return out;
}

std::vector<std::string> debianGenericWithout(const std::set<std::string> &have) {
  std::vector<std::string> out;
  for (const SyscallBuild &b : syscallBuildTable())
    if (b.inDebianGeneric && !have.count(b.name)) out.push_back(b.name);
  return out;
}

TEST(Decide, TheImageLacksWhatItsKernelConfigTurnsOff) {
  ImageDir dir;
  // MODULES and PROC_FS on; IPV6 explicitly off; everything else not listed (dependencies unmet: off).
  dir.image("CONFIG_MODULES=y\nCONFIG_PROC_FS=y\nCONFIG_NET=y\nCONFIG_INET=y\n# CONFIG_IPV6 is not set\n"
            "CONFIG_FUSE_FS=m\n");
  Decision d = decidedWith(server(), dir);
  const ImageLacks &l = d.rewrite.image.lacks;
  ASSERT_TRUE(l.featuresKnown);
  std::vector<std::string> want;
  for (const OperatorFeature &f : operatorFeatures())
    if (std::string(f.option) != "MODULES" && std::string(f.option) != "PROC_FS") want.push_back(f.option);
  EXPECT_EQ(optionsOf(l.features), want); // the table's order
  EXPECT_TRUE(std::find(want.begin(), want.end(), "IPV6") != want.end());
  // Syscalls from the config through the Kconfig table: init_module builds with MODULES, bpf and epoll do not.
  ASSERT_TRUE(l.syscallsKnown);
  EXPECT_EQ(l.syscallsFrom, "kernel.config");
  std::vector<std::string> built = syscallsBuiltWith({"MODULES", "PROC_FS", "NET", "INET"});
  EXPECT_EQ(l.syscalls, debianGenericWithout({built.begin(), built.end()}));
  EXPECT_TRUE(std::find(l.syscalls.begin(), l.syscalls.end(), "bpf") != l.syscalls.end());
  EXPECT_TRUE(std::find(l.syscalls.begin(), l.syscalls.end(), "epoll_wait") != l.syscalls.end());
  EXPECT_TRUE(std::find(l.syscalls.begin(), l.syscalls.end(), "init_module") == l.syscalls.end());
  std::string text = renderDecisionText(d);
  EXPECT_TRUE(contains(text, "    IPV6               IPv6: IPv4 only\n")) << text;
  EXPECT_FALSE(contains(text, "    MODULES ")) << text;
  EXPECT_TRUE(contains(text, std::to_string(l.syscalls.size()) + " syscalls (kernel.config):")) << text;
  auto v = llvm::json::parse(renderDecisionJson(d));
  ASSERT_TRUE(bool(v)) << llvm::toString(v.takeError());
  const llvm::json::Object *lacks = v->getAsObject()->getObject("rewrite")->getObject("image")->getObject("lacks");
  EXPECT_EQ(lacks->getInteger("syscall_count"), int64_t(l.syscalls.size()));
  EXPECT_EQ(lacks->getArray("features")->size(), want.size());

  // Every table row on: nothing lacking.
  std::string all;
  for (const OperatorFeature &f : operatorFeatures()) all += "CONFIG_" + std::string(f.option) + "=y\n";
  dir.write("kernel.config", all);
  EXPECT_TRUE(decidedWith(server(), dir).rewrite.image.lacks.features.empty());

  // A kernel.config with no assignment is not one.
  dir.write("kernel.config", "# just a comment\n");
  std::string e = errorOf(server(), dir);
  EXPECT_TRUE(contains(e, dir.file("kernel.config") + ": no CONFIG_ lines")) << e;
}

TEST(Decide, TheSyscallProbeIsTheMeasureOfMissingSyscalls) {
  ImageDir dir;
  dir.image("CONFIG_NET=y\n");
  // The probe found everything Debian's kernel builds except bpf and io_uring_setup.
  std::string names;
  for (const SyscallBuild &b : syscallBuildTable())
    if (b.inDebianGeneric && b.name != "bpf" && b.name != "io_uring_setup")
      names += (names.empty() ? "\"" : ", \"") + b.name + "\"";
  dir.write("boot.json", bootJson(0, "64M", "{\"implemented_names\": [" + names + "], \"probe_ms\": 7893}"), 10);
  Decision d = decidedWith(server(), dir);
  const ImageLacks &l = d.rewrite.image.lacks;
  EXPECT_EQ(l.syscallsFrom, "syscall probe");
  EXPECT_EQ(l.syscalls, (std::vector<std::string>{"bpf", "io_uring_setup"}));
  EXPECT_TRUE(l.featuresKnown); // features still come from kernel.config
  EXPECT_EQ(d.rewrite.image.boot.probeMs, 7893);
  EXPECT_TRUE(contains(d.rewrite.image.boot.note, "the time to first output includes it")) << d.rewrite.image.boot.note;
  EXPECT_TRUE(contains(renderDecisionText(d), "wall 9.98 s; syscall probe 7.89 s (")) << renderDecisionText(d);
  EXPECT_TRUE(contains(d.summary, "(after the syscall probe)")) << d.summary;

  // Without kernel.config, the probe alone: syscalls known, features not.
  llvm::sys::fs::remove(dir.file("kernel.config"));
  d = decidedWith(server(), dir);
  EXPECT_FALSE(d.rewrite.image.lacks.featuresKnown);
  EXPECT_TRUE(d.rewrite.image.lacks.syscallsKnown);
  EXPECT_TRUE(contains(d.rewrite.image.lacks.note, "features unknown")) << d.rewrite.image.lacks.note;
  // Neither: nothing known, and said.
  llvm::sys::fs::remove(dir.file("boot.json"));
  d = decidedWith(server(), dir);
  EXPECT_FALSE(d.rewrite.image.lacks.syscallsKnown);
  EXPECT_TRUE(contains(d.rewrite.image.lacks.note, "unknown")) << d.rewrite.image.lacks.note;
}

// The table claims every row is on in Debian's generic kernel; checked against the config the syscall
// table was generated from when scripts/gen-kconfig-map has cached it on this machine.
TEST(Decide, EveryOperatorFeatureIsOnInDebiansGenericKernel) {
  std::string cache;
  if (const char *c = getenv("BESPOKE_CACHE_DIR")) cache = c;
  else if (const char *x = getenv("XDG_CACHE_HOME")) cache = std::string(x) + "/bespoke";
  else if (const char *h = getenv("HOME")) cache = std::string(h) + "/.cache/bespoke";
  std::error_code ec;
  std::string config;
  for (llvm::sys::fs::directory_iterator it(cache + "/debian-config", ec), end; !ec && it != end; it.increment(ec))
    if (llvm::StringRef(it->path()).ends_with(".config")) config = std::max(config, it->path());
  if (config.empty())
    GTEST_SKIP() << "no Debian config cached in " << cache << "/debian-config (scripts/gen-kconfig-map)";
  auto buf = llvm::MemoryBuffer::getFile(config);
  ASSERT_TRUE(bool(buf)) << config;
  std::map<std::string, std::string> debian = parseDotConfig((*buf)->getBuffer());
  for (const OperatorFeature &f : operatorFeatures()) EXPECT_EQ(debian[f.option], "y") << f.option << " in " << config;
}

} // namespace
