// QEMU machine types for images: the table of what differs between them.
#include "images/Machine.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <vector>

namespace bespoke {

namespace {

const MachineFormat Formats[] = {
    // romfile=: no iPXE option ROM for SeaBIOS to load (the kernel drives the NIC). The kernel's default
    // reboot works: ACPI (none here), then the keyboard controller's reset line.
    {MachineKind::Pc, "pc", "pc", "pci", "virtio-blk-pci", "virtio-net-pci,romfile=", "virtio-rng-pci", ""},
    // acpi=off: no ACPI tables (the kernel has no ACPI), one IO-APIC, and the fixed virtio-mmio layout of
    // virtioSlot. auto-kernel-cmdline=off: QEMU would append the slots' virtio_mmio.device= after init's
    // "--" arguments, where the kernel does not read them; bespoke names them itself.
    // rtc=on: the guest's wall clock from the CMOS clock (QEMU leaves it out under KVM otherwise; pc has one).
    // The PIT, PIC and serial port stay (without the PIT this kernel does not boot; without the PIC and RTC it
    // reaches init in twice the time under TCG).
    // reboot=t: microvm has no keyboard controller; the kernel's default reboot polls port 0x64 (QEMU had not
    // exited after 120 s under TCG). A triple fault is QEMU's reset at once, and -no-reboot makes it its exit.
    {MachineKind::Microvm, "microvm", "microvm,acpi=off,auto-kernel-cmdline=off,rtc=on", "virtio-mmio",
     "virtio-blk-device", "virtio-net-device", "virtio-rng-device", "reboot=t"},
};

} // namespace

VirtioSlot virtioSlot(MachineKind kind, unsigned index) {
  if (kind != MachineKind::Microvm) return {};
  // QEMU's microvm without ACPI (hw/i386/microvm.c): eight transports, number N at 0xfeb00000 + N * 512 on
  // IRQ 5 + N, created in order, so its bus is virtio-mmio-bus.N.
  constexpr uint64_t Base = 0xfeb00000, Size = 512;
  constexpr unsigned IrqBase = 5;
  return {llvm::formatv(",bus=virtio-mmio-bus.{0}", index).str(),
          llvm::formatv("virtio_mmio.device={0}@{1:x}:{2}", Size, Base + index * Size, IrqBase + index).str()};
}

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
