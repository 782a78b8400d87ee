// Unit tests of images/Machine: the machine kinds, their kernel fragments, which images get one (only those
// with a virtio device: a static initramfs image without a NIC has the same kernel on every machine), the
// QEMU command on each machine, and image.json's machine as `bespoke boot` reads it.
#include "images/Boot.h"
#include "images/Image.h"
#include "images/Machine.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace bespoke;

namespace {

std::string joined(const std::vector<std::string> &cmd) {
  std::string all;
  for (const std::string &a : cmd) all += a + " ";
  return all;
}

// base + net (when `network`) + the root's, the entropy source's (when `entropy`) and the machine's
// fragments, as buildImage composes them.
KernelConfig composed(bool network, RootKind root, MachineKind machine, bool entropy = false) {
  auto base = parseFragment(baseFragmentText(), "images/base.config");
  auto net = parseFragment(netFragmentText(), "images/net.config");
  EXPECT_TRUE(base && net);
  KernelRequirements app;
  if (network) app.options["NET"] = {"syscall socket"};
  KernelConfig c = composeConfig(*base, *net, app);
  if (entropy) c.entropy = "app: syscall getrandom";
  llvm::Error e = addDeviceFragments(c, root, machine);
  EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
  return c;
}

bool has(const KernelConfig &c, const char *option) { return c.required.count(option) > 0; }

} // namespace

TEST(Machine, KindsAndNames) {
  EXPECT_EQ(parseMachineKind("pc"), MachineKind::Pc);
  EXPECT_EQ(parseMachineKind("microvm"), MachineKind::Microvm);
  EXPECT_FALSE(parseMachineKind("q35"));
  EXPECT_FALSE(parseMachineKind(""));
  EXPECT_EQ(machineKindNames(), "pc, microvm");
  EXPECT_STREQ(machineFormat(MachineKind::Microvm).name, "microvm");
  EXPECT_EQ(UnrecordedMachine, MachineKind::Pc); // image.json from before `machine` was recorded
  EXPECT_EQ(DefaultMachine, MachineKind::Microvm); // measured: it boots faster (bench/RESULTS.md)
}

TEST(Machine, EachMachineBringsItsVirtioTransportWithReasons) {
  auto pc = parseFragment(machineFragmentText(MachineKind::Pc), "images/machine-pc.config");
  ASSERT_TRUE(bool(pc)) << llvm::toString(pc.takeError());
  for (const char *o : {"PCI", "VIRTIO_MENU", "VIRTIO_PCI"}) {
    ASSERT_TRUE(pc->options.count(o)) << o;
    EXPECT_FALSE(pc->options.at(o).reason.empty()) << o;
  }
  EXPECT_FALSE(pc->options.count("VIRTIO_MMIO"));
  auto mvm = parseFragment(machineFragmentText(MachineKind::Microvm), "images/machine-microvm.config");
  ASSERT_TRUE(bool(mvm)) << llvm::toString(mvm.takeError());
  for (const char *o : {"VIRTIO_MENU", "VIRTIO_MMIO", "VIRTIO_MMIO_CMDLINE_DEVICES"}) {
    ASSERT_TRUE(mvm->options.count(o)) << o;
    EXPECT_FALSE(mvm->options.at(o).reason.empty()) << o;
  }
  EXPECT_FALSE(mvm->options.count("PCI"));
  EXPECT_FALSE(mvm->options.count("VIRTIO_PCI"));
}

TEST(Machine, OnlyImagesWithAVirtioDeviceGetTheMachinesFragment) {
  // A static initramfs image without a NIC: no bus at all, and the same kernel on both machines.
  KernelConfig pc = composed(false, RootKind::Initramfs, MachineKind::Pc);
  KernelConfig mvm = composed(false, RootKind::Initramfs, MachineKind::Microvm);
  for (const char *o : {"PCI", "VIRTIO_PCI", "VIRTIO_MMIO", "VIRTIO_MENU"}) {
    EXPECT_FALSE(has(pc, o)) << o;
    EXPECT_FALSE(has(mvm, o)) << o;
  }
  EXPECT_EQ(pc.fragment(), mvm.fragment());
  EXPECT_TRUE(has(pc, "BLK_DEV_INITRD"));

  // A NIC, or a disk root, or both: the machine's transport, with "machine: ..." reasons.
  for (auto [network, root] : {std::pair{true, RootKind::Initramfs}, {false, RootKind::Erofs}, {true, RootKind::Erofs}}) {
    SCOPED_TRACE(std::string(network ? "network " : "") + rootFormat(root).name);
    pc = composed(network, root, MachineKind::Pc);
    mvm = composed(network, root, MachineKind::Microvm);
    EXPECT_TRUE(has(pc, "PCI") && has(pc, "VIRTIO_PCI"));
    EXPECT_FALSE(has(pc, "VIRTIO_MMIO"));
    EXPECT_TRUE(has(mvm, "VIRTIO_MMIO") && has(mvm, "VIRTIO_MMIO_CMDLINE_DEVICES"));
    EXPECT_FALSE(has(mvm, "PCI") || has(mvm, "VIRTIO_PCI"));
    EXPECT_EQ(pc.required.at("VIRTIO_PCI").reasons.size(), 1u);
    EXPECT_EQ(pc.required.at("VIRTIO_PCI").reasons[0].rfind("machine: ", 0), 0u) << pc.required.at("VIRTIO_PCI").reasons[0];
    EXPECT_EQ(mvm.required.at("VIRTIO_MMIO").reasons[0].rfind("machine: ", 0), 0u);
    EXPECT_NE(pc.fragment(), mvm.fragment());
    EXPECT_EQ(has(pc, "VIRTIO_NET"), network);
    EXPECT_EQ(has(mvm, "VIRTIO_BLK"), root == RootKind::Erofs);
  }
}

TEST(Machine, AnAppThatWaitsForRandomnessGetsTheEntropySource) {
  Footprint fp;
  EXPECT_EQ(entropyReason(fp), "");
  fp.kernel.paths = {"/dev/urandom"}; // never waits
  EXPECT_EQ(entropyReason(fp), "");
  fp.kernel.paths.push_back("/dev/random");
  EXPECT_EQ(entropyReason(fp), "app: path /dev/random");
  SyscallUse getrandom;
  getrandom.name = "getrandom";
  fp.syscalls.push_back(getrandom);
  EXPECT_EQ(entropyReason(fp), "app: syscall getrandom");
  // A static initramfs image without a NIC still gets a bus for it: the entropy source is a virtio device.
  for (MachineKind machine : {MachineKind::Pc, MachineKind::Microvm}) {
    KernelConfig c = composed(false, RootKind::Initramfs, machine, true);
    ASSERT_TRUE(has(c, "HW_RANDOM_VIRTIO") && has(c, "HW_RANDOM"));
    EXPECT_EQ(c.required.at("HW_RANDOM_VIRTIO").reasons[0].rfind("entropy: ", 0), 0u);
    EXPECT_TRUE(has(c, machine == MachineKind::Pc ? "VIRTIO_PCI" : "VIRTIO_MMIO"));
    EXPECT_FALSE(has(composed(false, RootKind::Initramfs, machine), "HW_RANDOM_VIRTIO"));
  }
  // Its device follows the disk and the NIC: on microvm in the next slot, named before init's "--".
  BootRequest req;
  req.dir = "img";
  req.forwards = {*parseForward("7000:7")};
  std::string all = joined(qemuCommand(req, true, false, {"root.erofs", "erofs", ""}, MachineKind::Microvm, true));
  EXPECT_NE(all.find("-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-device,rng=rng0,"
                     "bus=virtio-mmio-bus.2 "), std::string::npos) << all;
  EXPECT_NE(all.find("virtio_mmio.device=512@0xfeb00400:7 root=/dev/vda"), std::string::npos) << all;
  all = joined(qemuCommand(req, false, false, {}, MachineKind::Pc, true));
  EXPECT_NE(all.find("-device virtio-rng-pci,rng=rng0 "), std::string::npos) << all;
  EXPECT_EQ(joined(qemuCommand(req, false, false, {}, MachineKind::Pc)).find("rng"), std::string::npos);
}

TEST(Machine, QemuCommandOnPc) {
  BootRequest req;
  req.dir = "img";
  req.forwards = {*parseForward("7000:7")};
  std::vector<std::string> cmd = qemuCommand(req, true, false, {"root.erofs", "erofs", ""}, MachineKind::Pc);
  std::string all = joined(cmd);
  EXPECT_NE(all.find(" -M pc "), std::string::npos) << all;
  EXPECT_NE(all.find("-device virtio-blk-pci,drive=root "), std::string::npos) << all;
  EXPECT_NE(all.find("-device virtio-net-pci,romfile=,netdev=n0 "), std::string::npos) << all;
  EXPECT_EQ(cmd.back(), "console=ttyS0 quiet panic=-1 root=/dev/vda ro rootfstype=erofs init=/init -- relay=61000:7");
  // The default: what an image.json without `machine` boots on.
  EXPECT_EQ(joined(qemuCommand(req, true, false)), joined(qemuCommand(req, true, false, {}, MachineKind::Pc)));
}

TEST(Machine, QemuCommandOnMicrovm) {
  BootRequest req;
  req.dir = "img";
  req.forwards = {*parseForward("7000:7")};
  std::vector<std::string> cmd = qemuCommand(req, true, false, {"root.erofs", "erofs", ""}, MachineKind::Microvm);
  std::string all = joined(cmd);
  EXPECT_NE(all.find(" -M microvm,acpi=off,auto-kernel-cmdline=off,rtc=on "), std::string::npos) << all;
  // The disk in slot 0, the NIC in slot 1, each named on the kernel command line before init's "--".
  EXPECT_NE(all.find("-device virtio-blk-device,drive=root,bus=virtio-mmio-bus.0 "), std::string::npos) << all;
  EXPECT_NE(all.find("-device virtio-net-device,netdev=n0,bus=virtio-mmio-bus.1 "), std::string::npos) << all;
  EXPECT_EQ(all.find("pci"), std::string::npos) << all;
  EXPECT_EQ(all.find("romfile"), std::string::npos) << all;
  EXPECT_NE(all.find("-no-reboot"), std::string::npos) << all;
  // reboot=t: a triple fault ends QEMU at once (microvm has no keyboard controller to reset through).
  EXPECT_EQ(cmd.back(), "console=ttyS0 quiet panic=-1 reboot=t virtio_mmio.device=512@0xfeb00000:5 "
                        "virtio_mmio.device=512@0xfeb00200:6 root=/dev/vda ro rootfstype=erofs init=/init -- "
                        "relay=61000:7");
  // A NIC alone takes slot 0.
  cmd = qemuCommand(req, true, false, {}, MachineKind::Microvm);
  all = joined(cmd);
  EXPECT_NE(all.find("-device virtio-net-device,netdev=n0,bus=virtio-mmio-bus.0 "), std::string::npos) << all;
  EXPECT_EQ(cmd.back(), "console=ttyS0 quiet panic=-1 reboot=t virtio_mmio.device=512@0xfeb00000:5 -- relay=61000:7");
  // No device at all: the initramfs, and nothing on a bus.
  req.forwards.clear();
  cmd = qemuCommand(req, false, false, {}, MachineKind::Microvm);
  all = joined(cmd);
  EXPECT_NE(all.find("-kernel img/bzImage -initrd img/initramfs.cpio.gz"), std::string::npos) << all;
  EXPECT_EQ(all.find("-device"), std::string::npos) << all;
  EXPECT_EQ(cmd.back(), "console=ttyS0 quiet panic=-1 reboot=t");
}

TEST(Machine, BootRefusesAnUnknownMachineInImageJson) {
  std::string dir = testing::TempDir() + "/machine_test_" + std::to_string(getpid());
  llvm::sys::fs::remove_directories(dir);
  llvm::sys::fs::create_directories(dir);
  for (const char *f : {"bzImage", "initramfs.cpio.gz"}) ASSERT_FALSE(bool(writeFileBytes(dir + "/" + f, "x")));
  ASSERT_FALSE(bool(writeFileBytes(dir + "/image.json", R"({"network": false, "machine": {"kind": "q35"}})")));
  BootRequest req;
  req.dir = dir;
  req.qemu = "/nonexistent/qemu-system-x86_64"; // never reached
  std::string out;
  llvm::raw_string_ostream console(out);
  auto r = bootImage(req, console);
  ASSERT_FALSE(bool(r));
  EXPECT_EQ(llvm::toString(r.takeError()), dir + "/image.json: machine.kind 'q35' is not one of pc, microvm");
  llvm::sys::fs::remove_directories(dir);
}
