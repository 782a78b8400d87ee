// Machine: the QEMU machine type an image boots on (image.json's `machine`), and what it means for the
// image's kernel and QEMU command. `pc` is QEMU's i440FX PC (SeaBIOS, PCI; virtio devices on PCI);
// `microvm` has no PCI and no ACPI (qboot; virtio devices on memory-mapped slots that QEMU names on the
// kernel command line). Only an image with a virtio device (a disk root or a NIC) needs a bus driver, so
// an image without one has the same kernel on either machine.
#pragma once

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace bespoke {

enum class MachineKind { Pc, Microvm };

struct MachineFormat {
  MachineKind kind;
  const char *name;        // --machine NAME; image.json's machine.kind
  const char *qemuMachine; // -M VALUE
  const char *bus;         // the virtio transport: image.json's machine.bus
  const char *blockDevice; // -device for the root disk
  const char *netDevice;   // -device for the NIC (",netdev=n0" follows)
  const char *rngDevice;   // -device for the entropy source (",rng=rng0" follows)
  const char *kernelArgs;  // added to the kernel command line ("" for none)
};

const MachineFormat &machineFormat(MachineKind kind);
// "pc", "microvm"; nullopt for anything else.
std::optional<MachineKind> parseMachineKind(llvm::StringRef name);
// The names --machine accepts, for help and errors: "pc, microvm".
std::string machineKindNames();

// What `bespoke rewrite` uses without --machine (images/README.md: measured), and what an image.json
// without `machine` (written before it was recorded) boots on.
inline constexpr MachineKind DefaultMachine = MachineKind::Microvm;
inline constexpr MachineKind UnrecordedMachine = MachineKind::Pc;
// image.json's machine.why without --machine.
inline constexpr const char *DefaultMachineWhy =
    "default: boots faster than pc (TCG, bench/RESULTS.md: host time to init 0.85x pc's for a static image "
    "without devices, 0.81x for sqlite3 on an EROFS disk with a NIC)";

// The embedded images/machine-KIND.config fragment: the bus and virtio transport the machine's devices need.
llvm::StringRef machineFragmentText(MachineKind kind);

// Where the image's virtio device number `index` (0: the root disk when there is one, then the NIC, then the
// entropy source) sits.
// pc: nowhere in particular (QEMU places PCI devices, the kernel probes the bus): both empty. microvm:
// transport `index` (",bus=virtio-mmio-bus.N" after -device) and the kernel argument naming it
// ("virtio_mmio.device=512@0xADDR:IRQ"), before init's "--" (QEMU's own would come after it, where the
// kernel does not read them).
struct VirtioSlot {
  std::string deviceSuffix, kernelArg;
};
VirtioSlot virtioSlot(MachineKind kind, unsigned index);

// True when the image has a virtio device, and so its kernel needs the machine's fragment.
inline bool needsVirtioBus(bool network, bool blockRoot, bool entropy) { return network || blockRoot || entropy; }

} // namespace bespoke
