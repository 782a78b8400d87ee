// Unit tests of images/: the newc cpio writer (read back, deterministic bytes), gzip framing, config
// fragment parsing and composition, .config reading, unmet-requirement reports, init.conf, QEMU command,
// bespoke-init's marker lines, boot.json's syscall probe.
#include "images/Boot.h"
#include "images/Image.h"
#include "images/Initramfs.h"
#include "images/KernelConfig.h"
#include "images/RootImage.h"

#include "llvm/Support/CRC.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <sys/stat.h>

using namespace bespoke;

namespace {

Initramfs sample() {
  Initramfs fs;
  fs.addFile("/app/echo", std::string("\x7f" "ELF\0\1\2", 7), 0755);
  fs.addFile("bespoke/init.conf", "arg /app/echo\n");
  fs.addCharDevice("dev/console", 5, 1);
  fs.addDirectory("tmp");
  fs.addSymlink("bin/sh", "/app/echo");
  return fs;
}

std::string run(const std::string &cmd, const std::string &input) {
  std::string path = testing::TempDir() + "/images_test_input";
  FILE *f = fopen(path.c_str(), "wb");
  fwrite(input.data(), 1, input.size(), f);
  fclose(f);
  FILE *p = popen((cmd + " < " + path).c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

} // namespace

TEST(Cpio, ReadsBackWhatItWrote) {
  Initramfs fs = sample();
  std::string bytes = writeCpio(fs);
  EXPECT_EQ(bytes.size() % 4, 0u);
  auto back = readCpio(bytes, "sample");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  ASSERT_EQ(back->entries.size(), fs.entries.size());
  for (const auto &[path, e] : fs.entries) {
    ASSERT_TRUE(back->entries.count(path)) << path;
    const InitramfsEntry &b = back->entries.at(path);
    EXPECT_EQ(b.kind, e.kind) << path;
    EXPECT_EQ(b.mode, e.mode) << path;
    EXPECT_EQ(b.data, e.data) << path;
    EXPECT_EQ(b.devMajor, e.devMajor) << path;
    EXPECT_EQ(b.devMinor, e.devMinor) << path;
  }
  // Parents were added: app, bespoke, dev, bin.
  for (const char *dir : {"app", "bespoke", "dev", "bin"})
    EXPECT_EQ(back->entries.at(dir).kind, InitramfsEntry::Directory) << dir;
}

TEST(Cpio, DeterministicAndOrdered) {
  Initramfs a = sample(), b;
  // Same content added in another order gives the same bytes.
  b.addSymlink("bin/sh", "/app/echo");
  b.addDirectory("tmp");
  b.addCharDevice("dev/console", 5, 1);
  b.addFile("bespoke/init.conf", "arg /app/echo\n");
  b.addFile("app/echo", std::string("\x7f" "ELF\0\1\2", 7), 0755);
  EXPECT_EQ(writeCpio(a), writeCpio(b));
  std::string bytes = writeCpio(a);
  // The first entry is "app" (a directory), the trailer is last, mtimes are zero.
  EXPECT_EQ(bytes.substr(0, 6), "070701");
  EXPECT_EQ(bytes.substr(110, 4), std::string("app\0", 4));
  EXPECT_EQ(bytes.substr(6 + 8 * 5, 8), "00000000"); // mtime
  EXPECT_NE(bytes.find("TRAILER!!!"), std::string::npos);
}

TEST(Cpio, CpioToolAgrees) {
  // GNU cpio (installed by scripts/bootstrap for kernel builds) lists the same entries.
  if (system("command -v cpio >/dev/null 2>&1") != 0) GTEST_SKIP() << "cpio not installed";
  std::string list = run("cpio -it --quiet 2>&1", writeCpio(sample()));
  EXPECT_EQ(list, "app\napp/echo\nbespoke\nbespoke/init.conf\nbin\nbin/sh\ndev\ndev/console\ntmp\n");
}

TEST(Cpio, RejectsGarbage) {
  EXPECT_FALSE(bool(readCpio("hello", "x")));
  std::string bytes = writeCpio(sample());
  EXPECT_FALSE(bool(readCpio(bytes.substr(0, 200), "truncated")));
  bytes[0] = 'X';
  auto r = readCpio(bytes, "bad");
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("bad: not a newc cpio header"), std::string::npos);
}

TEST(Gzip, StandardFormatRoundTrip) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data += "line " + std::to_string(i % 97) + "\n";
  auto gz = gzipCompress(data);
  ASSERT_TRUE(bool(gz)) << llvm::toString(gz.takeError());
  EXPECT_EQ((*gz)[0], '\x1f');
  EXPECT_EQ((*gz)[1], '\x8b');
  EXPECT_LT(gz->size(), data.size() / 4);
  EXPECT_EQ(*gzipCompress(data), *gz); // deterministic
  if (system("command -v gzip >/dev/null 2>&1") != 0) GTEST_SKIP() << "gzip not installed";
  EXPECT_EQ(run("gzip -dc", *gz), data);
  EXPECT_EQ(run("gzip -dc", *gzipCompress("")), "");
}

TEST(KernelConfig, ParsesFragmentsWithReasons) {
  auto f = parseFragment("# header paragraph\n# about the file\n\n# Serial console\n# for output.\nCONFIG_TTY=y\n"
                         "CONFIG_SERIAL_8250=y\n# CONFIG_SWAP is not set\n\nCONFIG_LOG_BUF_SHIFT=14\n"
                         "CONFIG_CMDLINE=\"a b\"\n",
                         "test.config");
  ASSERT_TRUE(bool(f)) << llvm::toString(f.takeError());
  EXPECT_EQ(f->options.at("TTY").value, "y");
  EXPECT_EQ(f->options.at("TTY").reason, "Serial console for output.");
  EXPECT_EQ(f->options.at("SERIAL_8250").reason, "Serial console for output.");
  EXPECT_EQ(f->options.at("SWAP").value, "n");
  EXPECT_EQ(f->options.at("LOG_BUF_SHIFT").value, "14");
  EXPECT_EQ(f->options.at("LOG_BUF_SHIFT").reason, "");
  EXPECT_EQ(f->options.at("CMDLINE").value, "\"a b\"");
  EXPECT_EQ(f->options.count("header"), 0u);

  auto bad = parseFragment("CONFIG_TTY\n", "bad.config");
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("bad.config:1:"), std::string::npos);
}

TEST(KernelConfig, EmbeddedBaseFragments) {
  auto base = parseFragment(baseFragmentText(), "images/base.config");
  ASSERT_TRUE(bool(base)) << llvm::toString(base.takeError());
  for (const char *o : {"64BIT", "PRINTK", "TTY", "SERIAL_8250", "SERIAL_8250_CONSOLE", "BINFMT_ELF", "DEVTMPFS"}) {
    ASSERT_TRUE(base->options.count(o)) << o;
    EXPECT_FALSE(base->options.at(o).reason.empty()) << o;
  }
  auto net = parseFragment(netFragmentText(), "images/net.config");
  ASSERT_TRUE(bool(net)) << llvm::toString(net.takeError());
  for (const char *o : {"NET", "INET", "VIRTIO_NET"}) EXPECT_TRUE(net->options.count(o)) << o;
  EXPECT_FALSE(net->options.count("PCI")); // the bus is the machine's (MachineTest)
  EXPECT_GT(initBinary().size(), 1000u);
  EXPECT_EQ(initBinary().substr(0, 4), "\x7f" "ELF");
}

TEST(KernelConfig, ComposesBaseNetAndApp) {
  auto base = parseFragment("# Console.\nCONFIG_TTY=y\n", "base");
  auto net = parseFragment("# Sockets.\nCONFIG_NET=y\nCONFIG_VIRTIO_NET=y\n", "net");
  ASSERT_TRUE(base && net);
  KernelRequirements none;
  KernelConfig c = composeConfig(*base, *net, none);
  EXPECT_FALSE(c.network);
  EXPECT_EQ(c.fragment(), "CONFIG_TTY=y\n");

  KernelRequirements app;
  app.options["NET"] = {"syscall socket"};
  app.options["EPOLL"] = {"syscall epoll_create1", "syscall epoll_wait"};
  app.options["PROC_FS"] = {"path /proc/self/maps"};
  c = composeConfig(*base, *net, app);
  EXPECT_TRUE(c.network);
  EXPECT_TRUE(c.procfs);
  EXPECT_FALSE(c.sysfs);
  EXPECT_EQ(c.fragment(), "CONFIG_EPOLL=y\nCONFIG_NET=y\nCONFIG_PROC_FS=y\nCONFIG_TTY=y\nCONFIG_VIRTIO_NET=y\n");
  EXPECT_EQ(c.required.at("NET").reasons, (std::vector<std::string>{"net: Sockets.", "app: syscall socket"}));
  EXPECT_EQ(c.required.at("EPOLL").reasons.size(), 2u);

  std::string conf = renderInitConf(c, "/app/echo", {"7", "1"});
  EXPECT_NE(conf.find("mount devtmpfs /dev\n"), std::string::npos);
  EXPECT_NE(conf.find("mount proc /proc\n"), std::string::npos);
  EXPECT_EQ(conf.find("mount sysfs"), std::string::npos);
  EXPECT_NE(conf.find("ifup lo\nifup eth0 10.0.2.15 255.255.255.0 10.0.2.2\n"), std::string::npos);
  EXPECT_NE(conf.find("arg /app/echo\narg 7\narg 1\n"), std::string::npos);
}

TEST(KernelConfig, ReportsUnmetRequirements) {
  KernelConfig c;
  c.required["TTY"] = {"y", {"base: console"}};
  c.required["VIRTIO_NET"] = {"y", {"net: virtio", "app: socket"}};
  c.required["SWAP"] = {"n", {"base: no swap"}};
  std::string resolved = "CONFIG_TTY=y\n# CONFIG_VIRTIO_NET is not set\nCONFIG_SWAP=y\nCONFIG_X=\"s\"\n";
  auto parsed = parseDotConfig(resolved);
  EXPECT_EQ(parsed.at("VIRTIO_NET"), "n");
  EXPECT_EQ(parsed.at("X"), "\"s\"");
  std::vector<std::string> unmet = unmetRequirements(c, resolved);
  ASSERT_EQ(unmet.size(), 2u);
  EXPECT_EQ(unmet[0], "option SWAP=n required by base: no swap is =y after Kconfig (unmet dependency?)");
  EXPECT_EQ(unmet[1], "option VIRTIO_NET required by net: virtio; app: socket is not set after Kconfig (unmet "
                      "dependency?)");
  EXPECT_TRUE(unmetRequirements(c, "CONFIG_TTY=y\nCONFIG_VIRTIO_NET=y\n").empty());
}

// proveResolvedConfig on a tiny tree: a holding proof is cached with its minimality candidates; a
// broken .config is one line naming the constraint; a Kconfig syntax error names file:line.
TEST(KernelConfig, ProvesResolvedConfigAndCachesIt) {
  llvm::SmallString<128> d;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("images-proof", d));
  std::string dir = d.str().str();
  auto write = [&](const std::string &rel, const std::string &text) {
    std::error_code ec;
    llvm::raw_fd_ostream os(dir + "/" + rel, ec);
    os << text;
  };
  write("Kconfig", "config NET\n\tbool \"net\"\n\tselect NLATTR\nconfig NLATTR\n\tbool\n"
                   "config EXTRA\n\tbool \"extra\"\n");
  llvm::sys::fs::create_directories(dir + "/cache");
  KernelSource src{dir, "test"};
  KernelConfig c;
  c.required["NET"].value = "y";
  c.resolved = "CONFIG_NET=y\nCONFIG_NLATTR=y\nCONFIG_EXTRA=y\n";
  auto p = proveResolvedConfig(src, c, dir + "/cache");
  ASSERT_TRUE(!!p) << llvm::toString(p.takeError());
  EXPECT_FALSE(p->cacheHit);
  EXPECT_EQ(p->symbols, 3u);
  EXPECT_EQ(p->removable, std::vector<std::string>{"EXTRA"});
  p = proveResolvedConfig(src, c, dir + "/cache");
  ASSERT_TRUE(!!p);
  EXPECT_TRUE(p->cacheHit);
  EXPECT_EQ(p->removable, std::vector<std::string>{"EXTRA"});

  c.resolved = "CONFIG_NET=y\n# CONFIG_NLATTR is not set\n";
  p = proveResolvedConfig(src, c, dir + "/cache");
  ASSERT_FALSE(!!p);
  std::string e = llvm::toString(p.takeError());
  EXPECT_EQ(e, "the resolved kernel config breaks Kconfig: Kconfig:3: NLATTR: selected by NET, so it must be y "
               "[NET=y NLATTR=n]");
  c.resolved = "CONFIG_NLATTR=y\n";
  p = proveResolvedConfig(src, c, dir + "/cache");
  ASSERT_FALSE(!!p);
  e = llvm::toString(p.takeError());
  EXPECT_NE(e.find("(and 1 more)"), std::string::npos) << e; // NLATTR without a reason, NET not set
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;

  write("Kconfig", "config NET\n\tbool \"net\"\n\tselekt NLATTR\n");
  p = proveResolvedConfig(src, c, dir + "/cache");
  ASSERT_FALSE(!!p);
  EXPECT_EQ(llvm::toString(p.takeError()), "Kconfig:3: unknown keyword 'selekt'");
  llvm::sys::fs::remove_directories(dir);
}

TEST(Boot, ForwardsAndQemuCommand) {
  auto f = parseForward("8080:80");
  ASSERT_TRUE(bool(f));
  EXPECT_EQ(f->hostAddr, "127.0.0.1");
  EXPECT_EQ(f->hostPort, 8080);
  EXPECT_EQ(f->guestPort, 80);
  f = parseForward("0.0.0.0:7000:7");
  ASSERT_TRUE(bool(f));
  EXPECT_EQ(f->hostAddr, "0.0.0.0");
  EXPECT_FALSE(bool(parseForward("7000")));
  llvm::consumeError(parseForward("7000").takeError());
  auto bad = parseForward("1:70000");
  ASSERT_FALSE(bool(bad));
  llvm::consumeError(bad.takeError());

  BootRequest req;
  req.dir = "img";
  req.forwards = {*parseForward("7000:7")};
  std::vector<std::string> cmd = qemuCommand(req, true, false);
  std::string all;
  for (const std::string &a : cmd) all += a + " ";
  EXPECT_NE(all.find("-M pc "), std::string::npos);
  EXPECT_NE(all.find("-kernel img/bzImage -initrd img/initramfs.cpio.gz"), std::string::npos);
  EXPECT_NE(all.find("hostfwd=tcp:127.0.0.1:7000-:61000"), std::string::npos);
  EXPECT_EQ(cmd.back(), "console=ttyS0 quiet panic=-1 -- relay=61000:7");
  EXPECT_EQ(all.find("kvm"), std::string::npos);
  req.direct = true;
  cmd = qemuCommand(req, true, true);
  all.clear();
  for (const std::string &a : cmd) all += a + " ";
  EXPECT_NE(all.find("hostfwd=tcp:127.0.0.1:7000-:7 "), std::string::npos) << all;
  EXPECT_NE(all.find("-accel kvm"), std::string::npos);
  EXPECT_EQ(cmd.back(), "console=ttyS0 quiet panic=-1");
  cmd = qemuCommand(req, false, false);
  all.clear();
  for (const std::string &a : cmd) all += a + " ";
  EXPECT_EQ(all.find("-netdev"), std::string::npos);
}

TEST(Boot, ProbeArgumentFollowsRelays) {
  BootRequest req;
  req.dir = "img";
  req.probeSyscalls = true;
  EXPECT_EQ(qemuCommand(req, false, false).back(), "console=ttyS0 quiet panic=-1 -- probe=syscalls");
  req.forwards = {*parseForward("7000:7")};
  EXPECT_EQ(qemuCommand(req, true, false).back(), "console=ttyS0 quiet panic=-1 -- relay=61000:7 probe=syscalls");
}

TEST(Boot, ParsesInitMarkers) {
  auto parse = [](llvm::StringRef line) {
    auto m = parseInitMarker(line);
    EXPECT_TRUE(bool(m)) << line.str() << ": " << llvm::toString(m.takeError());
    return m ? *m : std::nullopt;
  };
  EXPECT_FALSE(parse("musl-echo: connection closed after 29 bytes"));
  EXPECT_FALSE(parse(""));
  auto m = parse("bespoke-init: start 0.572013");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Start);
  EXPECT_DOUBLE_EQ(m->seconds, 0.572013);
  m = parse("[    1.2] noise bespoke-init: exit 3\r"); // a kernel message may share the line
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Exit);
  EXPECT_EQ(m->value, 3);
  m = parse("bespoke-init: signal 9");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Signal);
  EXPECT_EQ(m->value, 9);
  m = parse("bespoke-init: random ready");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Random);
  EXPECT_EQ(m->value, 1);
  m = parse("bespoke-init: random not-ready");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->value, 0);
  EXPECT_FALSE(bool(parseInitMarker("bespoke-init: random soon")));
  m = parse("bespoke-init: exec /app/musl-echo");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Exec);
  EXPECT_EQ(m->text, "/app/musl-echo");
  m = parse("bespoke-init: seccomp 42 instructions");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Seccomp);
  EXPECT_EQ(m->value, 42);
  m = parse("bespoke-init: error: seccomp: Function not implemented");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Error);
  EXPECT_EQ(m->text, "seccomp: Function not implemented");
  m = parse("bespoke-init: relay up");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Other);
  EXPECT_EQ(m->text, "relay up");

  m = parse("bespoke-init: enosys 134,156,174-177,335-423,451-511");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Enosys);
  EXPECT_EQ(m->numbers.size(), 1u + 1 + 4 + 89 + 61);
  EXPECT_EQ(m->numbers.front(), 134);
  EXPECT_EQ(m->numbers[2], 174);
  EXPECT_EQ(m->numbers.back(), 511);
  m = parse("bespoke-init: enosys");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::Enosys);
  EXPECT_TRUE(m->numbers.empty());
  m = parse("bespoke-init: probe done 232 implemented of 512 in 7644 ms");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, InitMarker::ProbeDone);
  EXPECT_EQ(m->value, 232);
  EXPECT_EQ(m->total, 512);
  EXPECT_DOUBLE_EQ(m->seconds, 7.644);
  m = parse("bespoke-init: probe done 232 implemented of 512");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->seconds, -1);

  for (const char *bad : {"bespoke-init: enosys 9-3", "bespoke-init: enosys 5,3", "bespoke-init: enosys 5,5",
                          "bespoke-init: enosys 1,,2", "bespoke-init: enosys a", "bespoke-init: enosys 1-",
                          "bespoke-init: enosys -4", "bespoke-init: enosys 5000", "bespoke-init: enosys 1-2-3",
                          "bespoke-init: exit x", "bespoke-init: signal", "bespoke-init: start soon",
                          "bespoke-init: exec", "bespoke-init: seccomp 3", "bespoke-init: seccomp x instructions",
                          "bespoke-init: probe done x implemented of 512", "bespoke-init: probe done 600 implemented of 512",
                          "bespoke-init: probe done 1 implemented of 512 in x ms", "bespoke-init: probe started",
                          "bespoke-init: probe done 1 implemented of 512 in 5"}) {
    auto r = parseInitMarker(bad);
    ASSERT_FALSE(bool(r)) << bad;
    EXPECT_NE(llvm::toString(r.takeError()).find("malformed bespoke-init line"), std::string::npos) << bad;
  }
}

TEST(Boot, JsonHasTheSyscallProbe) {
  BootRequest req;
  req.dir = "img";
  BootResult r;
  r.accel = "tcg";
  std::string plain = bootJson(req, r);
  EXPECT_EQ(plain.find("syscall_probe"), std::string::npos);
  r.probe.probed = true;
  r.probe.total = 512;
  r.probe.seconds = 1.5;
  for (int nr = 300; nr < 512; ++nr) r.probe.enosys.push_back(nr);
  r.probe.enosys.insert(r.probe.enosys.begin(), 134); // uselib
  r.probe.implemented = 512 - int(r.probe.enosys.size());
  std::string text = bootJson(req, r);
  EXPECT_EQ(text, bootJson(req, r));
  auto json = llvm::json::parse(text);
  ASSERT_TRUE(bool(json)) << llvm::toString(json.takeError());
  const llvm::json::Object *probe = json->getAsObject()->getObject("syscall_probe");
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->getInteger("probed"), 512);
  EXPECT_EQ(probe->getInteger("implemented"), 299);
  EXPECT_EQ(probe->getInteger("probe_ms"), 1500);
  const llvm::json::Array *enosys = probe->getArray("enosys"), *names = probe->getArray("implemented_names");
  ASSERT_TRUE(enosys && names);
  EXPECT_EQ(enosys->size(), 213u);
  EXPECT_EQ((*enosys)[0].getAsInteger(), 134);
  ASSERT_EQ(names->size(), 299u);
  EXPECT_EQ((*names)[0].getAsString(), "read");
  EXPECT_EQ((*names)[1].getAsString(), "write");
  for (const llvm::json::Value &n : *names) EXPECT_NE(n.getAsString(), "uselib");
  // Keys in a fixed (sorted) order: the file diffs cleanly between boots.
  EXPECT_LT(text.find("\"implemented\""), text.find("\"implemented_names\""));
  EXPECT_LT(text.find("\"qemu_command\""), text.find("\"syscall_probe\""));
}

// A stand-in for qemu-system-x86_64 that prints bespoke-init's start and exec lines, then ends as QEMU does
// on SIGTERM (its message on standard error, exit 0), or without any message.
static std::string fakeQemu(const std::string &dir, const std::string &how) {
  std::string path = dir + "/qemu-" + how;
  std::string script = "#!/bin/sh\necho 'bespoke-init: start 0.5'\necho 'bespoke-init: random not-ready'\n"
                       "echo 'bespoke-init: exec /app/server'\n"
                       "echo 'listening'\n";
  if (how == "sigterm") script += "echo 'qemu-system-x86_64: terminating on signal 15 from pid 1 (sh)' >&2\n";
  script += "exit 0\n";
  EXPECT_FALSE(bool(writeFileBytes(path, script)));
  chmod(path.c_str(), 0755);
  return path;
}

TEST(Boot, ServerStoppedFromOutsideKeepsItsTimes) {
  std::string dir = testing::TempDir() + "/boot_stop_" + std::to_string(getpid());
  llvm::sys::fs::remove_directories(dir);
  llvm::sys::fs::create_directories(dir);
  for (const char *f : {"bzImage", "initramfs.cpio.gz"}) ASSERT_FALSE(bool(writeFileBytes(dir + "/" + f, "x")));
  ASSERT_FALSE(bool(writeFileBytes(dir + "/image.json", R"({"network": false})")));
  BootRequest req;
  req.dir = dir;
  req.timeoutSeconds = 30;
  std::string out;
  llvm::raw_string_ostream console(out);
  // Ended on SIGTERM while the app ran: 128+15, init's times kept, and boot.json says so.
  req.qemu = fakeQemu(dir, "sigterm");
  auto r = bootImage(req, console);
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(r->exitCode, 143);
  EXPECT_EQ(r->stoppedBySignal, 15);
  EXPECT_EQ(r->guestInitSeconds, 0.5);
  EXPECT_GE(r->hostInitSeconds, 0);
  EXPECT_GE(r->hostFirstOutputSeconds, 0);
  auto json = llvm::json::parse(bootJson(req, *r));
  ASSERT_TRUE(bool(json));
  EXPECT_EQ(json->getAsObject()->getInteger("stopped_by_signal"), 15);
  EXPECT_EQ(json->getAsObject()->getInteger("exit_code"), 143);
  EXPECT_EQ(r->randomReadyAtExec, 0);
  EXPECT_EQ(json->getAsObject()->getBoolean("random_ready_at_exec"), false);
  // QEMU gone without a word (a crash, or killed outright): still an error, not an exit status.
  req.qemu = fakeQemu(dir, "silent");
  r = bootImage(req, console);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("before bespoke-init reported the app's exit"), std::string::npos);
  llvm::sys::fs::remove_directories(dir);
}
