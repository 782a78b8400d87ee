// What an image holds and why: the placement rules of images/README.md, "What the image holds".
#include "images/Contents.h"

#include "analyzer/ElfModule.h"
#include "analyzer/Loader.h"
#include "images/KernelConfig.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

bool under(llvm::StringRef path, llvm::StringRef dir) { return path == dir || path.starts_with((dir + "/").str()); }

std::string mountHiding(llvm::StringRef guest) {
  for (const std::string &m : mountedDirectories())
    if (under(guest, m)) return m;
  return "";
}

// "FILE:LINE: TEXT" (a module's `config`) -> FILE.
std::string configFile(llvm::StringRef config) {
  for (size_t colon = config.find(':'); colon != llvm::StringRef::npos; colon = config.find(':', colon + 1)) {
    llvm::StringRef rest = config.drop_front(colon + 1);
    size_t digits = rest.find_first_not_of("0123456789");
    if (digits > 0 && digits != llvm::StringRef::npos && rest[digits] == ':') return config.take_front(colon).str();
  }
  return "";
}

std::string moduleWhy(const ModuleInfo &m) {
  std::string why = "manifest module " + m.name + " (" + (m.loaded.empty() ? std::string("needed") : m.loaded);
  if (!m.by.empty()) why += " by " + m.by;
  if (!m.target.empty() && m.target != m.path) why += ", as " + m.target;
  return why + ")";
}

// The pieces of composeContents, in the order they run; each adds to `c`.
struct Composer {
  const ContentsRequest &req;
  Contents &c;

  std::string host(const std::string &path) const { return req.hostRoot + path; }
  bool hostRegular(const std::string &path) const { return llvm::sys::fs::is_regular_file(host(path)); }

  llvm::Error app() {
    auto bytes = llvm::MemoryBuffer::getFile(req.binary, false, false);
    if (!bytes) return err(req.binary + ": " + bytes.getError().message());
    c.appPath = "/app/" + llvm::sys::path::filename(req.binary).str();
    auto added = c.tree.addData(c.appPath, (*bytes)->getBuffer().str(), 0755, "the app", req.binary);
    if (!added) return added.takeError();
    c.tree.markOwned(c.appPath);
    auto layout = libraryLayout(req.binary);
    if (!layout) return layout.takeError();
    c.interpreter = layout->interpreter;
    c.libraries = layout->libraries;
    for (const auto &[guest, hostFile] : c.libraries) {
      auto lib = llvm::MemoryBuffer::getFile(hostFile, false, false);
      if (!lib) return err(hostFile + ": " + lib.getError().message());
      auto a = c.tree.addData(guest, (*lib)->getBuffer().str(), 0755, "the app's closure", hostFile);
      if (!a) return a.takeError();
    }
    if (!c.interpreter.empty() && c.interpreter != layout->interpreterTarget) {
      auto a = c.tree.addSymlink(c.interpreter, layout->interpreterTarget, "the app's interpreter (PT_INTERP)");
      if (!a) return a.takeError();
    }
    return llvm::Error::success();
  }

  // A module the analysis put in the footprint, at the place the program loads it from (see the README).
  llvm::Error module(const ModuleInfo &m, bool first) {
    if (m.loaded == "executable" || (m.loaded.empty() && first)) return llvm::Error::success(); // the app
    llvm::SmallString<256> abs(m.path);
    llvm::sys::fs::make_absolute(abs);
    std::string path = abs.str().str();
    std::string label = req.manifestPath + ": module " + m.name + " (" + path + ")";
    auto bytes = llvm::MemoryBuffer::getFile(host(path), false, false);
    if (!bytes)
      return err(label + " " + (bytes.getError() == std::errc::no_such_file_or_directory
                                    ? std::string("no longer exists on this machine")
                                    : "cannot be read: " + bytes.getError().message()) +
                 "; run bespoke analyze again");
    if (std::string hidden = mountHiding(path); !hidden.empty())
      return err(label + " is under " + hidden + ", which bespoke-init mounts over in the image");
    if (!m.sha256.empty() && sha256Hex((*bytes)->getBuffer()) != m.sha256)
      c.warnings.push_back(label + " changed since the manifest was written (sha256 differs): the image carries "
                                   "this machine's file, whose code the manifest's footprint does not cover");
    std::string why = moduleWhy(m);
    bool closure = m.kind != "program" && (m.loaded.empty() || m.loaded == "needed" || m.loaded == "interpreter");
    if (closure) {
      // By the name ld.so looks for, in a directory it searches by default; the host's path when another
      // file of that name is there already (a library found through a RUNPATH).
      std::string guest = std::string(ImageLibraryDir) + "/" + llvm::sys::path::filename(path).str();
      auto added = c.tree.addData(guest, (*bytes)->getBuffer().str(), 0755, why, path);
      if (added) return llvm::Error::success();
      llvm::consumeError(added.takeError());
      why += "; another file of that name is in " + std::string(ImageLibraryDir);
    }
    auto added = c.tree.mirror(path, why);
    if (!added) return err(label + ": " + llvm::toString(added.takeError()));
    if (llvm::Error e = target(m, path, why)) return e;
    if (m.kind == "program") return interpreterOf(path, why);
    return llvm::Error::success();
  }

  // The path the program names (exec's /bin/sh, dlopen's absolute path) when it is not the file's own.
  llvm::Error target(const ModuleInfo &m, const std::string &path, const std::string &why) {
    if (!llvm::StringRef(m.target).starts_with("/") || m.target == path) return llvm::Error::success();
    llvm::sys::fs::file_status st;
    bool onHost = !llvm::sys::fs::status(host(m.target), st, /*Follow=*/false);
    auto added = onHost ? c.tree.mirror(m.target, why) : c.tree.addSymlink(m.target, path, why);
    if (!added) return err(req.manifestPath + ": module " + m.name + ": " + llvm::toString(added.takeError()));
    return llvm::Error::success();
  }

  // An executed program's PT_INTERP, as the host has it (its loader is in the image already).
  llvm::Error interpreterOf(const std::string &path, const std::string &why) {
    auto elf = ElfModule::open(host(path));
    if (!elf) {
      llvm::consumeError(elf.takeError()); // a script: the module is its interpreter, `path` the script
      return llvm::Error::success();
    }
    std::string interp = (*elf)->interpreter();
    if (interp.empty() || c.tree.find(interp)) return llvm::Error::success();
    auto added = c.tree.mirror(interp, why + ": its interpreter");
    if (!added) return err(path + ": its interpreter " + interp + ": " + llvm::toString(added.takeError()));
    return llvm::Error::success();
  }

  llvm::Error adds() {
    for (const auto &[hostFile, guest] : req.adds) {
      if (!llvm::sys::fs::is_regular_file(hostFile)) return err(hostFile + ": no such file (--add)");
      if (guest.empty() || guest[0] != '/' || guest.back() == '/' || guest.find("/../") != std::string::npos ||
          llvm::StringRef(guest).ends_with("/.."))
        return err(hostFile + ": guest path '" + guest + "' is not an absolute file path (--add HOST[:GUEST])");
      if (std::string m = mountHiding(guest); !m.empty())
        return err(hostFile + ": guest path " + guest + " would be hidden by bespoke-init's mount on " + m + " (--add)");
      if (under(guest, "/bespoke") || guest == "/init")
        return err(hostFile + ": guest path " + guest + " is bespoke-init's own (--add)");
      if (std::string held = heldAt(guest); !held.empty())
        return err(hostFile + ": guest path " + guest + " " + held + " (--add)");
      auto added = c.tree.addHostFile(guest, hostFile, "--add " + hostFile);
      if (!added) return err(hostFile + ": " + llvm::toString(added.takeError()) + " (--add)");
    }
    return llvm::Error::success();
  }

  // What the tree holds at `guest` or on the way to it, as "is already in the image (WHY)" or "collides
  // with /PATH in the image (WHY)"; empty when the path is free. --add never replaces what the app,
  // the modules or the other --add files put there, even with the same bytes.
  std::string heldAt(const std::string &guest) const {
    auto why = [](const TreeEntry &e) { return e.why.empty() ? std::string("bespoke's own") : e.why.front(); };
    for (size_t slash = guest.find('/', 1); slash != std::string::npos; slash = guest.find('/', slash + 1))
      if (const TreeEntry *e = c.tree.find(guest.substr(0, slash)); e && e->kind == TreeEntry::File)
        return "collides with " + guest.substr(0, slash) + " in the image (" + why(*e) + ")";
    const TreeEntry *e = c.tree.find(guest);
    if (!e) return "";
    if (e->kind != TreeEntry::Directory) return "is already in the image (" + why(*e) + ")";
    std::string dir = c.tree.canonical(guest) + "/";
    for (const auto &[path, inside] : c.tree.entries())
      if (llvm::StringRef(path).starts_with(dir) && inside.kind != TreeEntry::Directory)
        return "collides with /" + path + " in the image (" + why(inside) + ")";
    return "is a directory in the image";
  }

  // A file a rule wants unless an earlier rule (or --add) put other bytes at its path: then it is skipped
  // and image.json says so (the same bytes are no conflict).
  void soft(const std::string &guest, const std::string &why,
            const std::function<llvm::Expected<RootTree::Added>()> &add) {
    auto added = add();
    if (!added) c.skipped.push_back(guest + " (" + why + "): " + llvm::toString(added.takeError()));
  }

  void generated(const std::string &guest, std::string data, const std::string &why) {
    soft(guest, why, [&] { return c.tree.addData(guest, data, 0644, why); });
  }

  void fromHost(const std::string &path, const std::string &why) {
    soft(path, why, [&] { return c.tree.mirror(path, why); });
  }

  // Configuration files that named the manifest's modules (nsswitch.conf, gconv-modules, /etc/pam.d/...):
  // the library reads them again in the image to find those modules.
  void moduleConfigs() {
    std::map<std::string, std::pair<std::string, size_t>> files; // file -> first module, count
    for (const ModuleInfo &m : req.footprint->modules) {
      std::string f = configFile(m.config);
      if (f.empty() || f[0] != '/' || !hostRegular(f)) continue; // OpenSSL's: a directory scanned for .so
      auto [it, fresh] = files.emplace(f, std::make_pair(m.name + " (" + m.loaded + ")", 0));
      ++it->second.second;
    }
    for (const auto &[f, first] : files)
      fromHost(f, "configuration naming " +
                      (first.second == 1 ? "manifest module " + first.first
                                         : std::to_string(first.second) + " manifest modules, " + first.first + " first"));
    bool glibc = req.footprint->app.libc == "glibc" ||
                 std::any_of(req.footprint->modules.begin(), req.footprint->modules.end(),
                             [](const ModuleInfo &m) { return m.loaded == "nss"; });
    if (glibc && hostRegular("/etc/nsswitch.conf"))
      fromHost("/etc/nsswitch.conf", "glibc reads it (the manifest's NSS modules were found from this file)");
  }

  // Time zone data only when the analysis saw code open it by a constant path (every glibc holds the
  // string /etc/localtime, so the bytes say nothing): /etc/localtime (the link and its zone file) and the
  // zone files the manifest names; a named directory (TZDIR) is not copied whole.
  void timezone() {
    std::string first;
    for (const FileUse &f : req.footprint->files) {
      if (f.path != "/etc/localtime" && !under(f.path, "/usr/share/zoneinfo")) continue;
      if (first.empty()) first = f.path;
      if (f.path != "/etc/localtime" && hostRegular(f.path)) fromHost(f.path, "time zone: the manifest's files: " + f.path);
    }
    llvm::sys::fs::file_status st;
    if (first.empty() || llvm::sys::fs::status(host("/etc/localtime"), st)) return;
    fromHost("/etc/localtime", "time zone: the manifest's files: " + first);
  }

  // Arguments naming host files (absolute, or relative to bespoke-init's working directory "/"); also
  // `--opt=/path`. Files under bespoke-init's mounts would be hidden, directories are not copied.
  std::vector<std::pair<size_t, std::string>> argumentFiles() const {
    std::vector<std::pair<size_t, std::string>> out;
    for (size_t i = 0; i < req.args.size(); ++i) {
      llvm::StringRef a = req.args[i];
      if (a.empty()) continue;
      std::string path;
      if (a.starts_with("/")) path = a.str();
      else if (a.starts_with("-")) {
        llvm::StringRef value = a.split('=').second;
        if (!value.starts_with("/")) continue;
        path = value.str();
      } else path = "/" + a.str();
      llvm::SmallString<256> clean(path);
      llvm::sys::path::remove_dots(clean, /*remove_dot_dot=*/true);
      path = clean.str().str();
      if (!mountHiding(path).empty() || !hostRegular(path)) continue;
      out.push_back({i + 1, path});
    }
    return out;
  }

  std::string readSmallText(const std::string &path) const {
    auto b = llvm::MemoryBuffer::getFile(host(path), false, false);
    if (!b || (*b)->getBufferSize() > (1u << 20) || (*b)->getBuffer().contains('\0')) return "";
    return (*b)->getBuffer().str();
  }

  std::string readHost(const std::string &path) const {
    auto b = llvm::MemoryBuffer::getFile(host(path), false, false);
    return b ? (*b)->getBuffer().str() : std::string();
  }

  // What an observed run (analyze --observe) opened or looked up: files at their host path, directories
  // made (a search path the program checks must exist). Last of the start-up files: generated accounts and
  // the rest win over the host's bytes. Never carried: secrets and the loader's cache of host paths.
  void observedFiles() {
    static const std::set<std::string> never{"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
                                             "/etc/ld.so.cache"};
    for (const FileUse &f : req.footprint->files) {
      if (f.evidence.root != "observed" || f.path == "/" || under(f.path, "/bespoke") || f.path == "/init") continue;
      std::string why = "observed: " + (f.evidence.chain.empty() ? std::string("the run")
                                                                 : f.evidence.chain.front().module + " " +
                                                                       f.evidence.chain.front().symbol);
      if (std::string m = mountHiding(f.path); !m.empty()) {
        if (f.path != m) // a file under /tmp in the observed run: add it elsewhere with --add
          c.skipped.push_back(f.path + " (" + why + "): would be hidden by bespoke-init's mount on " + m);
        continue;
      }
      if (never.count(f.path)) {
        c.skipped.push_back(f.path + " (" + why + "): not carried (a secret or the host's loader cache)");
        continue;
      }
      if (llvm::sys::fs::is_directory(host(f.path))) {
        if (llvm::Error e = c.tree.mirrorDirectory(f.path))
          c.skipped.push_back(f.path + " (" + why + "): " + llvm::toString(std::move(e)));
      } else if (hostRegular(f.path))
        fromHost(f.path, why);
    }
  }

  void notCarried() {
    for (const FileUse &f : req.footprint->files)
      if (!c.tree.find(f.path) && !llvm::sys::fs::is_directory(host(f.path)) && mountHiding(f.path).empty())
        c.notCarried.push_back(f.path);
  }
};

} // namespace

const std::vector<std::string> &mountedDirectories() {
  static const std::vector<std::string> dirs{"/dev", "/proc", "/sys", "/tmp"};
  return dirs;
}

llvm::Expected<LibraryLayout> libraryLayout(const std::string &binary) {
  auto mods = loadClosure(binary, LoaderOptions{});
  if (!mods) return mods.takeError();
  LibraryLayout out;
  out.interpreter = (*mods)[0].elf->interpreter();
  for (size_t i = 1; i < mods->size(); ++i) { // [0] is the app
    const ElfModule &lib = *(*mods)[i].elf;
    std::string guest = std::string(ImageLibraryDir) + "/" + llvm::sys::path::filename(lib.path()).str();
    out.libraries.push_back({guest, lib.path()});
    if ((*mods)[i].interpreter && out.interpreterTarget.empty()) out.interpreterTarget = guest;
  }
  if (!out.interpreter.empty() && out.interpreterTarget.empty())
    return err(binary + ": its interpreter " + out.interpreter + " was not found");
  return out;
}

llvm::Expected<Contents> composeContents(const ContentsRequest &req) {
  Contents c;
  c.tree = RootTree(req.hostRoot);
  Composer k{req, c};
  if (llvm::Error e = k.app()) return e;
  for (size_t i = 0; i < req.footprint->modules.size(); ++i)
    if (llvm::Error e = k.module(req.footprint->modules[i], i == 0)) return e;
  if (llvm::Error e = k.adds()) return e;

  // Files the app needs to start: accounts (from the names its arguments give), hosts, name service and
  // module configuration, time zone; then the files its arguments name.
  std::vector<std::pair<size_t, std::string>> argFiles = k.argumentFiles();
  std::vector<ConfigText> configs;
  for (const auto &[index, path] : argFiles)
    if (std::string text = k.readSmallText(path); !text.empty()) configs.push_back({index, path, text});
  std::string hostPasswd = k.readHost("/etc/passwd"), hostGroup = k.readHost("/etc/group");
  c.accounts = generateAccounts(accountNamesFromArgs(req.args, configs, hostPasswd), hostPasswd, hostGroup);
  for (const std::string &n : c.accounts.leftOut)
    c.warnings.push_back(n + " is not an account of this machine: the image's /etc/passwd and /etc/group leave it out");
  k.generated("/etc/passwd", c.accounts.passwd, "generated: root and the users the arguments name");
  k.generated("/etc/group", c.accounts.group, "generated: root and the groups the arguments name");
  if (k.hostRegular("/etc/hosts")) k.fromHost("/etc/hosts", "the C library's name lookup reads it (localhost)");
  else k.generated("/etc/hosts", "127.0.0.1\tlocalhost\n", "generated: localhost (this machine has no /etc/hosts)");
  k.moduleConfigs();
  k.timezone();
  for (const auto &[index, path] : argFiles) k.fromHost(path, "argument " + std::to_string(index));
  k.observedFiles();
  k.notCarried();
  return c;
}

std::vector<ListedFile> listAddedFiles(const Contents &c) {
  std::set<std::string> closure;
  for (const auto &[guest, hostFile] : c.libraries) closure.insert(c.tree.canonical(guest));
  std::vector<ListedFile> out;
  for (const auto &[path, e] : c.tree.entries()) {
    if (e.kind == TreeEntry::Directory || e.ownedByImage || closure.count(path)) continue;
    // A link the host has on the way to a file (/bin -> usr/bin) is listed like the files.
    ListedFile f{"/" + path, e.kind == TreeEntry::Symlink, e.host, e.kind == TreeEntry::Symlink ? e.data : "",
                 e.kind == TreeEntry::File ? e.data.size() : 0, e.why};
    out.push_back(std::move(f));
  }
  return out;
}

} // namespace bespoke
