// Unit tests of images/RootImage: the root kinds and their kernel fragments, sizes, the EROFS writer
// (read back with fsck.erofs, byte-identical twice, the size limit, a missing tool), and how boot and
// init.conf change for a block root.
#include "images/Boot.h"
#include "images/Image.h"
#include "images/RootImage.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

using namespace bespoke;

namespace {

std::string scratch(const std::string &name) {
  std::string dir = testing::TempDir() + "/root_image_test_" + std::to_string(getpid()) + "_" + name;
  llvm::sys::fs::remove_directories(dir);
  llvm::sys::fs::create_directories(dir);
  return dir;
}

std::string slurp(const std::string &path) {
  auto b = llvm::MemoryBuffer::getFile(path);
  return b ? (*b)->getBuffer().str() : std::string("<missing>");
}

Initramfs tree() {
  Initramfs fs;
  fs.addFile("init", std::string("\x7f" "ELF init", 9), 0755);
  fs.addFile("bespoke/init.conf", "overlay /bespoke/rw /bespoke/root\narg /app/x\n");
  fs.addDirectory("bespoke/rw");
  fs.addDirectory("bespoke/root");
  fs.addDirectory("tmp");
  fs.addFile("usr/lib/x86_64-linux-gnu/libz.so.1", std::string(200000, 'z'), 0644);
  fs.addSymlink("lib", "usr/lib");
  fs.addFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0600);
  return fs;
}

} // namespace

TEST(RootImage, KindsAndNames) {
  EXPECT_EQ(parseRootKind("erofs"), RootKind::Erofs);
  EXPECT_EQ(parseRootKind("initramfs"), RootKind::Initramfs);
  EXPECT_FALSE(parseRootKind("ext4"));
  EXPECT_FALSE(parseRootKind(""));
  EXPECT_EQ(rootKindNames(), "initramfs, erofs");
  EXPECT_TRUE(rootFormat(RootKind::Erofs).block());
  EXPECT_FALSE(rootFormat(RootKind::Initramfs).block());
  EXPECT_STREQ(rootFormat(RootKind::Erofs).file, "root.erofs");
  EXPECT_STREQ(rootFormat(RootKind::Initramfs).file, "initramfs.cpio.gz");
}

TEST(RootImage, EachKindBringsItsKernelOptionsWithReasons) {
  auto ram = parseFragment(rootFragmentText(RootKind::Initramfs), "images/root-initramfs.config");
  ASSERT_TRUE(bool(ram)) << llvm::toString(ram.takeError());
  for (const char *o : {"BLK_DEV_INITRD", "RD_GZIP"}) {
    ASSERT_TRUE(ram->options.count(o)) << o;
    EXPECT_FALSE(ram->options.at(o).reason.empty()) << o;
  }
  EXPECT_FALSE(ram->options.count("BLOCK"));
  auto blk = parseFragment(rootFragmentText(RootKind::Erofs), "images/root-erofs.config");
  ASSERT_TRUE(bool(blk)) << llvm::toString(blk.takeError());
  for (const char *o : {"BLOCK", "VIRTIO_BLK", "EROFS_FS", "OVERLAY_FS"}) {
    ASSERT_TRUE(blk->options.count(o)) << o;
    EXPECT_FALSE(blk->options.at(o).reason.empty()) << o;
  }
  EXPECT_FALSE(blk->options.count("BLK_DEV_INITRD")); // no initramfs at all
  EXPECT_FALSE(blk->options.count("PCI"));            // the bus is the machine's (MachineTest)
}

TEST(RootImage, Sizes) {
  EXPECT_EQ(parseSize("64M"), uint64_t(64) << 20);
  EXPECT_EQ(parseSize("4G"), uint64_t(4) << 30);
  EXPECT_EQ(parseSize("512k"), uint64_t(512) << 10);
  EXPECT_EQ(parseSize("1000"), 1000u);
  for (const char *bad : {"", "M", "0", "-1M", "1.5G", "12T", "99999999999999999999"}) EXPECT_FALSE(parseSize(bad)) << bad;
  EXPECT_EQ(humanBytes(512 * 1024), "512.0 KiB");
  EXPECT_EQ(humanBytes(uint64_t(3) << 20), "3.0 MiB");
}

TEST(RootImage, ErofsHoldsTheTreeAndIsDeterministic) {
  std::string dir = scratch("erofs");
  auto a = writeRootImage(tree(), RootKind::Erofs, dir + "/a.erofs", uint64_t(1) << 30);
  ASSERT_TRUE(bool(a)) << llvm::toString(a.takeError());
  auto b = writeRootImage(tree(), RootKind::Erofs, dir + "/b.erofs", uint64_t(1) << 30);
  ASSERT_TRUE(bool(b)) << llvm::toString(b.takeError());
  EXPECT_GT(*a, 200000u);
  EXPECT_EQ(*a, *b);
  EXPECT_TRUE(slurp(dir + "/a.erofs") == slurp(dir + "/b.erofs")) << "two writes of one tree differ";
  // No staging directory or log is left beside the image.
  std::error_code ec;
  int entries = 0;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) ++entries;
  EXPECT_EQ(entries, 2);

  // The kernel's reader is not here; erofs-utils' own checker reads it back.
  std::string out = dir + "/x";
  std::string cmd = "fsck.erofs --extract=" + out + " " + dir + "/a.erofs >/dev/null 2>&1";
  ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
  EXPECT_EQ(slurp(out + "/bespoke/init.conf"), "overlay /bespoke/rw /bespoke/root\narg /app/x\n");
  EXPECT_EQ(slurp(out + "/usr/lib/x86_64-linux-gnu/libz.so.1"), std::string(200000, 'z'));
  struct stat st;
  ASSERT_EQ(lstat((out + "/init").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(lstat((out + "/etc/passwd").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(lstat((out + "/lib").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  char target[64] = {};
  ASSERT_GT(readlink((out + "/lib").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "usr/lib");
  ASSERT_EQ(lstat((out + "/bespoke/rw").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  llvm::sys::fs::remove_directories(dir);
}

TEST(RootImage, OverTheLimitIsAnErrorAndWritesNothing) {
  std::string dir = scratch("limit");
  auto r = writeRootImage(tree(), RootKind::Erofs, dir + "/r.erofs", 100000);
  ASSERT_FALSE(bool(r));
  std::string msg = llvm::toString(r.takeError());
  EXPECT_NE(msg.find("over the limit of 97.7 KiB (--max-root-size)"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir + "/r.erofs"), std::string::npos) << msg;
  // Files fit, the image (metadata, block padding) does not.
  r = writeRootImage(tree(), RootKind::Erofs, dir + "/r.erofs", 200500);
  ASSERT_FALSE(bool(r));
  msg = llvm::toString(r.takeError());
  EXPECT_NE(msg.find("the erofs image is"), std::string::npos) << msg;
  std::error_code ec;
  EXPECT_TRUE(llvm::sys::fs::directory_iterator(dir, ec) == llvm::sys::fs::directory_iterator()) << "left files";
  llvm::sys::fs::remove_directories(dir);
}

TEST(RootImage, AMissingToolNamesItsPackage) {
  std::string path = getenv("PATH") ? getenv("PATH") : "";
  setenv("PATH", "/nonexistent", 1);
  auto tool = findRootTool(RootKind::Erofs);
  auto none = findRootTool(RootKind::Initramfs);
  auto r = writeRootImage(tree(), RootKind::Erofs, testing::TempDir() + "/never.erofs", uint64_t(1) << 30);
  setenv("PATH", path.c_str(), 1);
  ASSERT_FALSE(bool(tool));
  EXPECT_EQ(llvm::toString(tool.takeError()),
            "mkfs.erofs: not found in PATH (--root erofs needs it: install the Debian package erofs-utils, or run "
            "scripts/bootstrap)");
  ASSERT_TRUE(bool(none));
  EXPECT_EQ(*none, "");
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("erofs-utils"), std::string::npos);
}

TEST(RootImage, BootAttachesTheDiskReadOnlyAndMountsIt) {
  BootRequest req;
  req.dir = "a,b/img";
  BootRoot root{"root.erofs", "erofs", ""};
  std::vector<std::string> cmd = qemuCommand(req, false, false, root);
  std::string all;
  for (const std::string &a : cmd) all += a + " ";
  EXPECT_EQ(all.find("-initrd"), std::string::npos) << all;
  EXPECT_NE(all.find("-drive file=a,,b/img/root.erofs,format=raw,if=none,id=root,readonly=on -device "
                     "virtio-blk-pci,drive=root "),
            std::string::npos)
      << all;
  EXPECT_EQ(cmd.back(), "console=ttyS0 quiet panic=-1 root=/dev/vda ro rootfstype=erofs init=/init");
  req.probeSyscalls = true;
  EXPECT_EQ(qemuCommand(req, false, false, root).back(),
            "console=ttyS0 quiet panic=-1 root=/dev/vda ro rootfstype=erofs init=/init -- probe=syscalls");
  // The default root is the initramfs.
  all.clear();
  for (const std::string &a : qemuCommand(req, false, false)) all += a + " ";
  EXPECT_NE(all.find("-initrd a,b/img/initramfs.cpio.gz"), std::string::npos) << all;
}

TEST(RootImage, InitLaysTheOverlayBeforeAnyMount) {
  KernelConfig c;
  c.procfs = true;
  std::string conf = renderInitConf(c, "/app/x", {}, "", true);
  size_t overlay = conf.find("overlay /bespoke/rw /bespoke/root\n");
  ASSERT_NE(overlay, std::string::npos) << conf;
  EXPECT_LT(overlay, conf.find("mount devtmpfs /dev\n"));
  EXPECT_EQ(renderInitConf(c, "/app/x", {}).find("overlay"), std::string::npos);
}
