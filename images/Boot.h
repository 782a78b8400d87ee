// Boot: runs an image directory (from writeImage) in qemu-system-x86_64 -M pc, streams the guest's
// serial console, and returns the app's exit status reported by bespoke-init's marker lines.
#pragma once

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
  double timeoutSeconds = 600;
  std::string qemu = "qemu-system-x86_64";
};

struct BootResult {
  int exitCode = 0;       // the app's status; 128+N when a signal N ended it
  std::string accel;      // "kvm" or "tcg"
  double guestInitSeconds = -1;       // guest uptime when init started (its marker)
  double hostInitSeconds = -1;        // host wall time from QEMU's start to that marker
  double hostFirstOutputSeconds = -1; // host wall time to the app's first console line (-1: none)
  double wallSeconds = 0;             // QEMU's whole run
  std::vector<std::string> command;   // the QEMU command line
};

// The QEMU command for the image (exposed for tests and --dry-run style inspection).
std::vector<std::string> qemuCommand(const BootRequest &req, bool network, bool kvm);

// Boots and waits. Console lines go to `console` as they arrive (carriage returns removed). Errors:
// QEMU missing, image incomplete, timeout (QEMU killed), QEMU ending without init's exit marker.
llvm::Expected<BootResult> bootImage(const BootRequest &req, llvm::raw_ostream &console);

// boot.json for the result.
std::string bootJson(const BootRequest &req, const BootResult &r);

} // namespace bespoke
