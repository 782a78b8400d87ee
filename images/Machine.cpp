// QEMU machine types for images: the table of what differs between them.
#include "images/Machine.h"

#include "llvm/ADT/StringExtras.h"

#include <vector>

namespace bespoke {

namespace {

const MachineFormat Formats[] = {
    // romfile=: no iPXE option ROM for SeaBIOS to load (the kernel drives the NIC). The kernel's default
    // reboot works: ACPI (none here), then the keyboard controller's reset line.
    {MachineKind::Pc, "pc", "pc", "pci", "virtio-blk-pci", "virtio-net-pci,romfile=", ""},
    // acpi=off: QEMU then appends virtio_mmio.device= for each slot with a device to the kernel command line.
    // reboot=t: microvm has no keyboard controller, so the kernel's default reboot would spin on port 0x64
    // for seconds before it tries a triple fault; a triple fault is QEMU's reset, and -no-reboot its exit.
    {MachineKind::Microvm, "microvm", "microvm,acpi=off", "virtio-mmio", "virtio-blk-device", "virtio-net-device",
     "reboot=t"},
};

} // namespace

const MachineFormat &machineFormat(MachineKind kind) {
  for (const MachineFormat &f : Formats)
    if (f.kind == kind) return f;
  return Formats[0];
}

std::optional<MachineKind> parseMachineKind(llvm::StringRef name) {
  for (const MachineFormat &f : Formats)
    if (name == f.name) return f.kind;
  return std::nullopt;
}

std::string machineKindNames() {
  std::vector<std::string> names;
  for (const MachineFormat &f : Formats) names.push_back(f.name);
  return llvm::join(names, ", ");
}

} // namespace bespoke
