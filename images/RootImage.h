// RootImage: how an image's root file system reaches the guest. Either an initramfs (a cpio archive the
// kernel unpacks into RAM, where every page stays for the guest's lifetime), or a read-only file system
// image on a virtio-blk disk that the kernel mounts as / (root=/dev/vda): its file pages are read when
// touched and stay clean, so the kernel can drop them again. A dynamic app's library closure is mostly
// never touched (redis-server's unpacks to 17.6 MB), which is why block roots are the default for them.
#pragma once

#include "images/Initramfs.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>

namespace bespoke {

enum class RootKind { Initramfs, Erofs };

// A block root is read-only; bespoke-init's `overlay UPPER ROOT` mounts a tmpfs at UPPER, an overlay of
// it over / at ROOT, and moves ROOT to / (images/README.md). Both are empty directories of the image.
inline constexpr const char *OverlayUpperDir = "/bespoke/rw";
inline constexpr const char *OverlayRootDir = "/bespoke/root";

struct RootFormat {
  RootKind kind;
  const char *name;    // --root NAME; image.json's root.kind
  const char *file;    // the file in the image directory
  const char *fstype;  // rootfstype= (block roots)
  const char *tool;    // the program that writes it (block roots; looked up in $PATH)
  const char *package; // the Debian package that has the tool
  bool block() const { return kind != RootKind::Initramfs; }
};

const RootFormat &rootFormat(RootKind kind);
// "initramfs", "erofs"; nullopt for anything else.
std::optional<RootKind> parseRootKind(llvm::StringRef name);
// The names --root accepts, for help and errors: "initramfs, erofs".
std::string rootKindNames();

// The embedded images/root-KIND.config fragment: the kernel options the root needs.
llvm::StringRef rootFragmentText(RootKind kind);

// The tool's full path, or an error naming it and its Debian package (checked before any kernel build).
llvm::Expected<std::string> findRootTool(RootKind kind);

// Writes `fs` as a file system image of `kind` (a block root) at `path`: the entries go to a staging
// directory beside `path` (removed afterwards), the tool writes `path`; deterministic (fixed UUID,
// timestamps 0, owner root, no xattrs). Errors: the files alone, or the image, larger than `limitBytes`
// (nothing written); the tool failing (its last output line). Returns the image's size.
llvm::Expected<uint64_t> writeRootImage(const Initramfs &fs, RootKind kind, const std::string &path,
                                        uint64_t limitBytes);

// Writes `data` to `path` (created or truncated); an error names the path.
llvm::Error writeFileBytes(const std::string &path, llvm::StringRef data);

// The sum of the tree's file sizes, and the error when it (or a written image) is over --max-root-size:
// "LABEL: WHAT SIZE, over the limit of LIMIT[SUFFIX] (--max-root-size)"; success when within the limit.
uint64_t fileBytes(const Initramfs &fs);
llvm::Error checkRootLimit(uint64_t bytes, uint64_t limitBytes, const std::string &label, const std::string &what,
                           const std::string &suffix = "");

// "12.3 MiB" style, for sizes in messages.
std::string humanBytes(uint64_t bytes);

// "64M", "1G", "4096K", "100000" (bytes) -> bytes; nullopt when malformed or zero.
std::optional<uint64_t> parseSize(llvm::StringRef text);

} // namespace bespoke
