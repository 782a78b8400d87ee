// MeasuredImage: what a `bespoke rewrite` output directory says about the image, for the decision — its
// sizes, how its last `bespoke boot` went (DIR/boot.json), the memory floor bench/images-bench.py searched
// (DIR/mem_floor.json), and what its kernel (DIR/kernel.config, or boot.json's syscall probe) lacks that
// Debian's generic kernel, the one extend keeps, has. See specializer/README.md.
#pragma once

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bespoke {

// One `bespoke boot DIR` (DIR/boot.json), when it is newer than the image it booted.
struct BootMeasurement {
  std::string file;        // DIR/boot.json
  bool measured = false;   // a current boot.json was read
  std::string accel;       // "kvm" or "tcg"
  int64_t exitCode = 0;    // the app's exit status (128+N: signal N ended it)
  int64_t stoppedBySignal = 0; // N when QEMU was stopped by signal N while the app ran (a server stopped
                               // from outside: exitCode is 128+N, and the app did run)
  std::string mem;         // the guest memory it ran in, as given to QEMU -m ("64M")
  int64_t guestInitMs = -1, hostInitMs = -1, hostFirstOutputMs = -1, wallMs = -1; // -1: not reported
  int64_t probeMs = -1;    // the syscall probe's time when it ran (before the app, so in first output)
  std::string note;        // not booted, or ignored and why, or how to read the numbers
  // Booted and ran: exited 0, or ran until QEMU was stopped from outside.
  bool ran() const { return measured && (exitCode == 0 || stoppedBySignal != 0); }
};

// The smallest guest memory (MiB) in which the image booted and served, searched by
// bench/images-bench.py and written to DIR/mem_floor.json.
struct MemoryFloor {
  std::string file;                // DIR/mem_floor.json
  bool searched = false;           // a current mem_floor.json was read
  std::optional<int64_t> floorMiB; // nullopt: nothing up to hiMiB booted and served
  int64_t loMiB = 0, hiMiB = 0, stepMiB = 0;
  std::string accel;               // of the boot at the floor (empty when none served)
  std::string criterion;           // what "served" meant
  std::vector<std::string> command; // the boot at the floor
  std::string note;                // how to read it; or why there is none
};

// A kernel feature an operator of Debian's generic kernel may count on, and what its absence means.
struct OperatorFeature {
  const char *option;  // Kconfig option without CONFIG_, =y in Debian 12's generic amd64 config
  const char *meaning; // what an operator loses without it, one line
};

// The curated table (specializer/README.md says how it is chosen), in the order reports list it.
const std::vector<OperatorFeature> &operatorFeatures();

struct ImageLacks {
  bool featuresKnown = false;            // DIR/kernel.config was read
  std::vector<OperatorFeature> features; // table rows not =y in the image's kernel.config
  bool syscallsKnown = false;
  std::vector<std::string> syscalls;     // Debian's generic kernel implements them, the image's does not
  std::string syscallsFrom;              // "syscall probe" (boot.json) or "kernel.config"
  std::string note;
};

// The rewrite's image: measured from a built directory, or estimated from the manifest.
struct RewriteImage {
  bool built = false;            // measured from a built image directory
  uint64_t kernelBytes = 0;      // bzImage (0 when not built)
  uint64_t initramfsBytes = 0;   // built: the archive (0 for a block root); estimate: the app's loaded files
  std::string root;              // built: image.json's root kind ("initramfs", "erofs"); estimate: empty
  uint64_t rootBytes = 0;        // built: the root's file (the archive, or the block root's image)
  std::string note;              // how the numbers were obtained
  // Built only:
  std::string dir;
  BootMeasurement boot;
  MemoryFloor memory;
  ImageLacks lacks;
};

// Reads DIR. boot.json and mem_floor.json older than the image (image.json, bzImage, the root file)
// are ignored with a note. Errors (the file and the problem): bzImage or the root missing, image.json,
// boot.json, mem_floor.json malformed, a kernel.config without a CONFIG_ line.
llvm::Expected<RewriteImage> measureImageDirectory(const std::string &dir);

} // namespace bespoke
