// Initramfs: the files of an image's root file system and their "newc" cpio archive (what the kernel
// unpacks from QEMU's -initrd), gzip-compressed. Archives are deterministic: entries sorted by path,
// parents before children, inode numbers in that order, mtime/uid/gid 0.
#pragma once

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>

namespace bespoke {

struct InitramfsEntry {
  enum Kind { Directory, File, CharDevice, Symlink };
  Kind kind = File;
  uint32_t mode = 0644;    // permission bits only; the kind gives the file type
  std::string data;        // file contents, or the symlink target
  uint32_t devMajor = 0, devMinor = 0; // CharDevice
};

struct Initramfs {
  std::map<std::string, InitramfsEntry> entries; // path without leading '/' -> entry

  // Adding an entry adds its missing parent directories (mode 0755).
  void addDirectory(const std::string &path, uint32_t mode = 0755);
  void addFile(const std::string &path, std::string data, uint32_t mode = 0644);
  void addCharDevice(const std::string &path, uint32_t major, uint32_t minor, uint32_t mode = 0600);
  void addSymlink(const std::string &path, std::string target);
};

// The newc archive, with its TRAILER!!! entry.
std::string writeCpio(const Initramfs &fs);

// Reads a newc archive back (tests, inspection). `name` labels errors.
llvm::Expected<Initramfs> readCpio(llvm::StringRef bytes, llvm::StringRef name);

// RFC 1952 gzip (the format the kernel's RD_GZIP reads): deflate via LLVM's zlib, mtime 0.
llvm::Expected<std::string> gzipCompress(llvm::StringRef data);

} // namespace bespoke
