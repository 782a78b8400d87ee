// Contents: what an image's root file system holds besides bespoke's own init files, and why — the app,
// its library closure, every module the manifest lists (libraries loaded at run time, programs the app
// executes, their closures), the files the app needs to start (generated /etc/passwd, /etc/group and
// /etc/hosts, the host's /etc/nsswitch.conf and the configuration files that named the manifest's modules,
// time zone data, the files the app's arguments name) and --add files. Where each goes and why is in
// images/README.md ("What the image holds"). Everything is read here, before any kernel is built.
#pragma once

#include "analyzer/Footprint.h"
#include "images/Accounts.h"
#include "images/RootTree.h"

#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace bespoke {

struct ContentsRequest {
  std::string manifestPath;      // labels errors and warnings
  const Footprint *footprint = nullptr;
  std::string binary;            // the app (x86-64 ELF)
  std::vector<std::string> args; // the app's arguments (argv[1...])
  std::vector<std::pair<std::string, std::string>> adds; // --add: host file -> absolute guest path
  std::string hostRoot;          // "" is "/": the machine whose files are read (tests use a scratch root)
};

// One file or link of the image as image.json lists it.
struct ListedFile {
  std::string path;             // canonical guest path (absolute)
  bool link = false;
  std::string from;             // file: the host file; empty when generated
  std::string target;           // link: its target
  uint64_t bytes = 0;
  std::vector<std::string> why;
};

struct Contents {
  RootTree tree;
  std::string appPath;          // /app/NAME
  std::string interpreter;      // the app's PT_INTERP (empty: static)
  // The app's closure: guest path -> host file (ld.so's search result on this machine).
  std::vector<std::pair<std::string, std::string>> libraries;
  Accounts accounts;
  std::vector<std::string> warnings;   // one line each, for standard error and image.json
  std::vector<std::string> notCarried; // manifest `files:` the image does not hold (add them with --add)
  std::vector<std::string> skipped;    // files a rule wanted that another rule's file took, with why
};

// The guest directories bespoke-init mounts over (their contents in the archive would be hidden).
const std::vector<std::string> &mountedDirectories();

// The default library directory of the image: glibc's ld.so searches it without an ld.so.cache.
inline constexpr const char *ImageLibraryDir = "/lib/x86_64-linux-gnu";

// Where a dynamic app's closure goes in the image: every library (found the way ld.so finds it on this
// machine, analyzer/Loader.h) under ImageLibraryDir by the name it was found under, and the interpreter's
// PT_INTERP path a symlink to its copy there. A static binary has an empty layout. Errors name the missing
// library.
struct LibraryLayout {
  std::vector<std::pair<std::string, std::string>> libraries; // guest path -> host file, load order
  std::string interpreter, interpreterTarget;                 // PT_INTERP -> its guest copy
};
llvm::Expected<LibraryLayout> libraryLayout(const std::string &binary);

llvm::Expected<Contents> composeContents(const ContentsRequest &req);

// Every file and link of the tree but bespoke's own and the app's closure (image.json's `files`), by path.
std::vector<ListedFile> listAddedFiles(const Contents &c);

} // namespace bespoke
