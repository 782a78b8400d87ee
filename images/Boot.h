// Boot: runs an image directory (from writeImage) in qemu-system-x86_64 on the machine its image.json
// names (pc or microvm), streams the guest's serial console, and returns the app's exit status reported by
// bespoke-init's marker lines.
#pragma once

#include "images/Machine.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace bespoke {

// --forward [HOSTADDR:]HOSTPORT:GUESTPORT (HOSTADDR defaults to 127.0.0.1).
struct PortForward {
  std::string hostAddr = "127.0.0.1";
  int hostPort = 0, guestPort = 0;
};
llvm::Expected<PortForward> parseForward(llvm::StringRef text);

struct BootRequest {
  std::string dir;
  std::string mem = "64M";
  std::vector<PortForward> forwards;
  // Forwards go to bespoke-init's relay, which connects to 127.0.0.1:GUESTPORT (servers that bind
  // loopback are reached too); `direct` forwards straight to the guest address instead.
  bool direct = false;
  // Adds `probe=syscalls` to init's arguments: init reports which of syscalls 0..511 return ENOSYS.
  bool probeSyscalls = false;
  double timeoutSeconds = 600;
  std::string qemu = "qemu-system-x86_64";
};

// What bespoke-init's syscall probe found in the booted kernel.
struct SyscallProbe {
  bool probed = false;     // init reported `probe done`
  int total = 0;           // numbers probed: 0..total-1
  int implemented = 0;     // total minus the ENOSYS ones
  std::vector<int> enosys; // ascending
  double seconds = -1;     // the probe's duration in the guest
};

struct BootResult {
  int exitCode = 0;       // the app's status; 128+N when a signal N ended it
  std::string accel;      // "kvm" or "tcg"
  std::string machine;    // image.json's machine.kind ("pc" when it has none)
  double guestInitSeconds = -1;       // guest uptime when init started (its marker)
  double hostInitSeconds = -1;        // host wall time from QEMU's start to that marker
  double hostFirstOutputSeconds = -1; // host wall time to the app's first console line (-1: none)
  double wallSeconds = 0;             // QEMU's whole run
  int randomReadyAtExec = -1;         // the kernel's random pool was initialised as the app started: 1, 0; -1 unknown
  int stoppedBySignal = 0;            // N when QEMU was ended by signal N after the app started (exitCode 128+N)
  std::vector<std::string> command;   // the QEMU command line
  SyscallProbe probe;                 // filled when the request asked for it
};

// One line of bespoke-init's console protocol (images/README.md): `bespoke-init: WORD VALUE`.
struct InitMarker {
  enum Kind { Start, Random, Exec, Exit, Signal, Seccomp, Enosys, ProbeDone, Error, Other } kind = Other;
  double seconds = 0;      // Start: guest uptime; ProbeDone: the probe's duration (-1: not given)
  int value = 0;           // Exit, Signal: N; Seccomp: instructions; ProbeDone: implemented; Random: 1 ready
  int total = 0;           // ProbeDone: numbers probed
  std::vector<int> numbers; // Enosys: the listed ranges expanded, ascending
  std::string text;        // Exec: the program; Error: the message; Other: the whole rest
};

// nullopt when the line holds no marker; an error when it is a known marker with a malformed value
// (`enosys 9-3`, `exit x`, ...). Enosys numbers must be ascending and below 4096.
llvm::Expected<std::optional<InitMarker>> parseInitMarker(llvm::StringRef line);

// How the image's root reaches the guest (image.json's `root`): an initramfs (QEMU -initrd), or a file
// system image on a read-only virtio-blk disk that the kernel mounts as / (fstype set).
struct BootRoot {
  std::string file = "initramfs.cpio.gz"; // in the image directory
  std::string fstype;                     // empty: initramfs; else rootfstype= of /dev/vda
  // A disk root with an initramfs too (its init loads the disk's drivers and switches to it; bench's
  // generic-kernel twins): also passed as -initrd.
  std::string initrd;
};

// The QEMU command for the image (exposed for tests and --dry-run style inspection).
// `machine`: image.json's machine.kind (the disk, the NIC and the entropy source are its virtio devices).
// `entropy`: image.json's entropy is set: a virtio-rng device fed from the host's /dev/urandom.
std::vector<std::string> qemuCommand(const BootRequest &req, bool network, bool kvm, const BootRoot &root = {},
                                     MachineKind machine = UnrecordedMachine, bool entropy = false);

// Boots and waits. Console lines go to `console` as they arrive (carriage returns removed). Errors:
// QEMU missing, image incomplete, timeout (QEMU killed), QEMU ending without init's exit marker, and
// with probeSyscalls a missing, malformed or inconsistent probe report.
llvm::Expected<BootResult> bootImage(const BootRequest &req, llvm::raw_ostream &console);

// boot.json for the result (keys sorted; `syscall_probe` when the probe ran, with the implemented
// numbers' names from the x86-64 syscall table).
std::string bootJson(const BootRequest &req, const BootResult &r);

} // namespace bespoke
