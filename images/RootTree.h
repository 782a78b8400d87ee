// RootTree: the image's root file system as bespoke composes it, before it becomes a cpio archive. Guest
// paths mean what they mean on this machine: every directory on the way to an added path is resolved as
// the host resolves it, and where the host has a symbolic link (/bin -> usr/bin, /lib -> usr/lib on a
// merged-/usr Debian; /usr/share/nginx/modules -> ../../lib/nginx/modules) the image gets the same link
// and the path lands behind it. So /bin/sh and /usr/bin/sh are one file in the image, as on the host, and a
// library put in /lib/x86_64-linux-gnu is the one a module finds in /usr/lib/x86_64-linux-gnu.
//
// Entries are keyed by their canonical path (no links left, no leading '/'). Adding a file where the tree
// already holds the same bytes is no change; different bytes are a collision, reported to the caller.
#pragma once

#include "images/Initramfs.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bespoke {

struct TreeEntry {
  enum Kind { Directory, File, Symlink };
  Kind kind = Directory;
  std::string data;              // File: its bytes; Symlink: the target as the link says it
  std::string host;              // File: the host file the bytes come from (empty: generated)
  uint32_t mode = 0755;          // permission bits
  std::vector<std::string> why;  // why it is in the image, one reason per rule that wanted it
  bool ownedByImage = false;     // bespoke's own (init, the app, init.conf): not listed as an added file
};

class RootTree {
public:
  enum class Added { New, Same }; // Same: the path already held these bytes (the reason is recorded)

  // `hostRoot`: the directory that stands for the host's "/" when host paths are read ("" is "/"; tests
  // give a scratch directory holding links such as bin -> usr/bin).
  explicit RootTree(std::string hostRoot = "") : HostRoot(std::move(hostRoot)) {}

  // Bytes at `guest` (absolute); `host` names the host file they were read from (empty: generated). A
  // link already in the tree at `guest` is followed.
  llvm::Expected<Added> addData(const std::string &guest, std::string data, uint32_t mode, const std::string &why,
                                const std::string &host = "");
  // The bytes of host file `host` (links followed) at `guest`; mode from the host's execute bit.
  llvm::Expected<Added> addHostFile(const std::string &guest, const std::string &host, const std::string &why);
  // The host's `path` at the same path: a link at the end becomes the same link and what it points to is
  // mirrored in turn (up to 40 links, as the kernel allows); the regular file at the end is copied.
  llvm::Expected<Added> mirror(const std::string &path, const std::string &why);
  // A link at `guest` (not followed if the tree has one there already: then it must be the same link).
  llvm::Expected<Added> addSymlink(const std::string &guest, const std::string &target, const std::string &why);
  llvm::Error addDirectory(const std::string &guest);
  // The host's directory `path` (empty) at the same path, links on the way and at the end mirrored.
  llvm::Error mirrorDirectory(const std::string &path);

  // The entry `guest` resolves to through the tree's links, or null when it is not in the tree.
  const TreeEntry *find(const std::string &guest) const;
  // The canonical path (no leading '/') `guest` resolves to through the tree's links; empty when it leads
  // nowhere in the tree.
  std::string canonical(const std::string &guest) const;
  void markOwned(const std::string &guest);

  const std::map<std::string, TreeEntry> &entries() const { return Entries; }
  // The archive's contents; file bytes move out of the tree.
  Initramfs takeInitramfs();

private:
  // Resolves every component but the last, creating directories and mirroring host links on the way;
  // returns the canonical directory (no leading '/', "" for the root) and the last component.
  llvm::Expected<std::pair<std::string, std::string>> parentOf(const std::string &guest, int &links);
  llvm::Expected<Added> putFile(const std::string &guest, std::string data, std::string host, uint32_t mode,
                                const std::string &why, int links);
  std::string hostPath(const std::string &canonical) const { return HostRoot + "/" + canonical; }

  std::string HostRoot;
  std::map<std::string, TreeEntry> Entries;
};

// "a/b" + "../c" style joining of a link target onto the directory holding the link: canonical, no
// leading '/'. An absolute target starts from the root.
std::string joinLinkTarget(const std::string &dir, const std::string &target);

} // namespace bespoke
