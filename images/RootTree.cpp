// The image's root file system: guest paths resolved through the tree's links and, where the tree has
// nothing yet, through the host's (see RootTree.h).
#include "images/RootTree.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <deque>
#include <unistd.h>

namespace bespoke {

namespace {

constexpr int MaxLinks = 40; // the kernel's limit on links followed in one lookup

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

std::deque<std::string> components(llvm::StringRef path) {
  llvm::SmallVector<llvm::StringRef> parts;
  path.split(parts, '/', -1, false);
  std::deque<std::string> out;
  for (llvm::StringRef p : parts)
    if (p != ".") out.push_back(p.str());
  return out;
}

std::string join(const std::string &dir, const std::string &name) { return dir.empty() ? name : dir + "/" + name; }

std::string parentDir(const std::string &canonical) {
  size_t slash = canonical.rfind('/');
  return slash == std::string::npos ? "" : canonical.substr(0, slash);
}

std::string readLink(const std::string &path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n <= 0 ? std::string() : std::string(buf, size_t(n));
}

void addReason(TreeEntry &e, const std::string &why) {
  if (!why.empty() && std::find(e.why.begin(), e.why.end(), why) == e.why.end()) e.why.push_back(why);
}

std::string firstReason(const TreeEntry &e) { return e.why.empty() ? std::string("bespoke's own") : e.why.front(); }

// A lookup continues through a link: the target's components come before the rest of the path, from the
// root when the target is absolute.
void followLink(const std::string &target, std::string &cur, std::deque<std::string> &todo) {
  if (llvm::StringRef(target).starts_with("/")) cur.clear();
  std::deque<std::string> more = components(target);
  todo.insert(todo.begin(), more.begin(), more.end());
}

} // namespace

std::string joinLinkTarget(const std::string &dir, const std::string &target) {
  std::string cur = llvm::StringRef(target).starts_with("/") ? "" : dir;
  for (const std::string &c : components(target))
    cur = c == ".." ? parentDir(cur) : join(cur, c);
  return cur;
}

llvm::Expected<std::pair<std::string, std::string>> RootTree::parentOf(const std::string &guest, int &links) {
  if (!llvm::StringRef(guest).starts_with("/")) return err(guest + ": not an absolute path");
  std::deque<std::string> todo = components(guest);
  if (todo.empty()) return err(guest + ": not a file path");
  std::string cur;
  while (todo.size() > 1) {
    std::string c = todo.front();
    todo.pop_front();
    if (c == "..") {
      cur = parentDir(cur);
      continue;
    }
    std::string next = join(cur, c);
    auto it = Entries.find(next);
    if (it == Entries.end()) {
      llvm::sys::fs::file_status st;
      if (!llvm::sys::fs::status(hostPath(next), st, /*Follow=*/false) &&
          st.type() == llvm::sys::fs::file_type::symlink_file) {
        std::string target = readLink(hostPath(next));
        if (target.empty()) return err(guest + ": cannot read the host's link /" + next);
        TreeEntry link{TreeEntry::Symlink, target, "", 0777, {"the host's link, on the way to " + guest}, false};
        it = Entries.emplace(next, std::move(link)).first;
      } else {
        it = Entries.emplace(next, TreeEntry{}).first; // a directory (the host's, or a new one)
      }
    }
    switch (it->second.kind) {
    case TreeEntry::Directory:
      cur = next;
      break;
    case TreeEntry::File:
      return err(guest + ": /" + next + " is a file in the image (" + firstReason(it->second) + "), not a directory");
    case TreeEntry::Symlink: {
      if (++links > MaxLinks) return err(guest + ": too many levels of symbolic links");
      followLink(it->second.data, cur, todo);
      break;
    }
    }
  }
  const std::string &last = todo.front();
  if (last == "..") return err(guest + ": not a file path");
  return std::make_pair(cur, last);
}

llvm::Expected<RootTree::Added> RootTree::putFile(const std::string &guest, std::string data, std::string host,
                                                  uint32_t mode, const std::string &why, int links) {
  auto parent = parentOf(guest, links);
  if (!parent) return parent.takeError();
  std::string path = join(parent->first, parent->second);
  auto it = Entries.find(path);
  if (it == Entries.end()) {
    TreeEntry e{TreeEntry::File, std::move(data), std::move(host), mode, {}, false};
    addReason(e, why);
    Entries.emplace(path, std::move(e));
    return Added::New;
  }
  TreeEntry &e = it->second;
  switch (e.kind) {
  case TreeEntry::Directory:
    return err(guest + ": /" + path + " is a directory in the image");
  case TreeEntry::Symlink:
    if (++links > MaxLinks) return err(guest + ": too many levels of symbolic links");
    return putFile("/" + joinLinkTarget(parent->first, e.data), std::move(data), std::move(host), mode, why, links);
  case TreeEntry::File:
    if (e.data != data)
      return err(guest + ": the image already holds another file at /" + path + " (" + firstReason(e) + ")");
    addReason(e, why);
    return Added::Same;
  }
  return Added::Same;
}

llvm::Expected<RootTree::Added> RootTree::addData(const std::string &guest, std::string data, uint32_t mode,
                                                  const std::string &why, const std::string &host) {
  return putFile(guest, std::move(data), host, mode, why, 0);
}

llvm::Expected<RootTree::Added> RootTree::addHostFile(const std::string &guest, const std::string &host,
                                                      const std::string &why) {
  auto buf = llvm::MemoryBuffer::getFile(host, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf) return err(host + ": " + buf.getError().message());
  llvm::sys::fs::file_status st;
  uint32_t mode = !llvm::sys::fs::status(host, st) && (st.permissions() & llvm::sys::fs::owner_exe) ? 0755 : 0644;
  return putFile(guest, (*buf)->getBuffer().str(), host, mode, why, 0);
}

llvm::Expected<RootTree::Added> RootTree::mirror(const std::string &path, const std::string &why) {
  std::string at = path;
  for (int links = 0;;) {
    auto parent = parentOf(at, links);
    if (!parent) return parent.takeError();
    std::string canon = join(parent->first, parent->second);
    llvm::sys::fs::file_status st;
    if (llvm::sys::fs::status(hostPath(canon), st, /*Follow=*/false))
      return err(path + ": no such file on this machine" + (at == path ? "" : " (/" + canon + ")"));
    if (st.type() == llvm::sys::fs::file_type::directory_file)
      return err(path + ": a directory on this machine, not a file");
    if (st.type() != llvm::sys::fs::file_type::symlink_file) {
      if (st.type() != llvm::sys::fs::file_type::regular_file) return err(path + ": not a regular file on this machine");
      auto buf = llvm::MemoryBuffer::getFile(hostPath(canon), false, false);
      if (!buf) return err(hostPath(canon) + ": " + buf.getError().message());
      uint32_t mode = (st.permissions() & llvm::sys::fs::owner_exe) ? 0755 : 0644;
      return putFile("/" + canon, (*buf)->getBuffer().str(), "/" + canon, mode, why, links);
    }
    std::string target = readLink(hostPath(canon));
    if (target.empty()) return err(path + ": cannot read the host's link /" + canon);
    auto it = Entries.find(canon);
    if (it != Entries.end()) {
      TreeEntry &e = it->second;
      if (e.kind == TreeEntry::File) {
        // The image holds a file where the host has a link (a library stored under its DT_NEEDED name):
        // the same file if the link leads to the same bytes.
        auto buf = llvm::MemoryBuffer::getFile(hostPath(canon), false, false);
        if (!buf || (*buf)->getBuffer() != e.data)
          return err(path + ": the image already holds another file at /" + canon + " (" + firstReason(e) + ")");
        addReason(e, why);
        return Added::Same;
      }
      if (e.kind != TreeEntry::Symlink || e.data != target)
        return err(path + ": the image already holds something else at /" + canon + " (" + firstReason(e) + ")");
      addReason(e, why);
    } else {
      TreeEntry link{TreeEntry::Symlink, target, "", 0777, {}, false};
      addReason(link, why);
      Entries.emplace(canon, std::move(link));
    }
    if (++links > MaxLinks) return err(path + ": too many levels of symbolic links");
    at = "/" + joinLinkTarget(parent->first, target);
  }
}

llvm::Expected<RootTree::Added> RootTree::addSymlink(const std::string &guest, const std::string &target,
                                                     const std::string &why) {
  int links = 0;
  auto parent = parentOf(guest, links);
  if (!parent) return parent.takeError();
  std::string canon = join(parent->first, parent->second);
  auto it = Entries.find(canon);
  if (it == Entries.end()) {
    TreeEntry link{TreeEntry::Symlink, target, "", 0777, {}, false};
    addReason(link, why);
    Entries.emplace(canon, std::move(link));
    return Added::New;
  }
  if (it->second.kind != TreeEntry::Symlink || it->second.data != target)
    return err(guest + ": the image already holds something else at /" + canon + " (" + firstReason(it->second) + ")");
  addReason(it->second, why);
  return Added::Same;
}

llvm::Error RootTree::addDirectory(const std::string &guest) {
  int links = 0;
  auto parent = parentOf(guest, links);
  if (!parent) return parent.takeError();
  std::string canon = join(parent->first, parent->second);
  auto it = Entries.find(canon);
  if (it == Entries.end()) Entries.emplace(canon, TreeEntry{});
  else if (it->second.kind != TreeEntry::Directory)
    return err(guest + ": the image already holds a file at /" + canon + " (" + firstReason(it->second) + ")");
  return llvm::Error::success();
}

llvm::Error RootTree::mirrorDirectory(const std::string &path) {
  // Every component of `path` is on the way to a child of it: parentOf mirrors the links and makes the
  // directories, the last one included.
  int links = 0;
  auto parent = parentOf(path + "/.bespoke-dir", links);
  return parent ? llvm::Error::success() : parent.takeError();
}

std::string RootTree::canonical(const std::string &guest) const {
  std::deque<std::string> todo = components(guest);
  std::string cur;
  int links = 0;
  while (!todo.empty()) {
    std::string c = todo.front();
    todo.pop_front();
    if (c == "..") {
      cur = parentDir(cur);
      continue;
    }
    std::string next = join(cur, c);
    auto it = Entries.find(next);
    if (it == Entries.end()) return "";
    if (it->second.kind != TreeEntry::Symlink) {
      if (it->second.kind == TreeEntry::File && !todo.empty()) return "";
      cur = next;
      continue;
    }
    if (++links > MaxLinks) return "";
    followLink(it->second.data, cur, todo);
  }
  return cur;
}

const TreeEntry *RootTree::find(const std::string &guest) const {
  std::string c = canonical(guest);
  auto it = c.empty() ? Entries.end() : Entries.find(c);
  return it == Entries.end() ? nullptr : &it->second;
}

void RootTree::markOwned(const std::string &guest) {
  std::string c = canonical(guest);
  if (auto it = Entries.find(c); !c.empty() && it != Entries.end()) it->second.ownedByImage = true;
}

Initramfs RootTree::takeInitramfs() {
  Initramfs fs;
  for (auto &[path, e] : Entries) {
    switch (e.kind) {
    case TreeEntry::Directory: fs.addDirectory(path, e.mode); break;
    case TreeEntry::File: fs.addFile(path, std::move(e.data), e.mode); break;
    case TreeEntry::Symlink: fs.addSymlink(path, e.data); break;
    }
  }
  return fs;
}

} // namespace bespoke
