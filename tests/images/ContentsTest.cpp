// What an image holds besides bespoke's own files (images/Contents.h): accounts from the app's arguments,
// modules and executed programs with their closures, the files the app needs to start, --add collisions,
// and RootTree's handling of the host's links. The host is a scratch root (merged /usr, as Debian 12 has
// it) so that every expectation is exact; only the app binary and its closure come from this machine.
#include "images/Contents.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

namespace bespoke {
namespace {

std::string readFile(const std::string &path) {
  auto b = llvm::MemoryBuffer::getFile(path, false, false);
  return b ? (*b)->getBuffer().str() : std::string("<unreadable " + path + ">");
}

// ---- Accounts

const char *HostPasswd = "root:x:0:0:root:/root:/bin/bash\n"
                         "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                         "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
                         "memcache:x:104:110:Memcached,,,:/nonexistent:/bin/false\n"
                         "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n";
const char *HostGroup = "root:x:0:\n"
                        "daemon:x:1:\n"
                        "www-data:x:33:alice\n"
                        "adm:x:4:alice,memcache\n"
                        "memcache:x:110:\n"
                        "alice:x:1000:\n";

TEST(Accounts, RootAlwaysAndTheUsersTheArgumentsName) {
  AccountNames n = accountNamesFromArgs({"-u", "memcache", "--group=adm", "-p", "11211"}, {}, HostPasswd);
  Accounts a = generateAccounts(n, HostPasswd, HostGroup);
  EXPECT_EQ(a.passwd, "root:x:0:0:root:/root:/bin/sh\n"
                      "memcache:x:104:110:Memcached,,,:/nonexistent:/bin/false\n");
  // memcache's primary group (gid 110) comes with it; adm keeps only the members that are image users.
  EXPECT_EQ(a.group, "root:x:0:\nadm:x:4:memcache\nmemcache:x:110:\n");
  EXPECT_EQ(a.users.at("memcache"), "argument 2 (after -u)");
  EXPECT_EQ(a.groups.at("memcache"), "primary group of memcache");
  EXPECT_EQ(a.groups.at("adm"), "argument 3 (--group=)");
  EXPECT_TRUE(a.leftOut.empty());
}

TEST(Accounts, RootAloneForMinusURoot) {
  Accounts a = generateAccounts(accountNamesFromArgs({"-u", "root"}, {}, HostPasswd), HostPasswd, HostGroup);
  EXPECT_EQ(a.passwd, "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_EQ(a.group, "root:x:0:\n");
  EXPECT_EQ(a.users.size(), 1u);
}

TEST(Accounts, UserEqualsFormAndBareUserName) {
  Accounts a = generateAccounts(accountNamesFromArgs({"--user=www-data", "alice"}, {}, HostPasswd), HostPasswd,
                                HostGroup);
  EXPECT_NE(a.passwd.find("\nwww-data:x:33:33:"), std::string::npos);
  EXPECT_NE(a.passwd.find("\nalice:x:1000:1000:"), std::string::npos);
  EXPECT_NE(a.group.find("\nwww-data:x:33:alice\n"), std::string::npos); // alice is an image user now
  EXPECT_EQ(a.users.at("alice"), "argument 2 (a user name of this machine)");
}

TEST(Accounts, NginxUserLineInANamedConfigFile) {
  std::vector<ConfigText> configs{{2, "/etc/nginx/nginx.conf",
                                   "# user nobody;\nworker_processes auto;\nuser www-data;\npid /run/nginx.pid;\n"}};
  AccountNames n = accountNamesFromArgs({"-c", "/etc/nginx/nginx.conf", "-g", "daemon off;"}, configs, HostPasswd);
  EXPECT_EQ(n.users.size(), 1u);
  EXPECT_EQ(n.users.at("www-data"), "/etc/nginx/nginx.conf:3: user www-data; (argument 2)");
  EXPECT_TRUE(n.groups.empty()); // "daemon off;" is no account name
  Accounts a = generateAccounts(n, HostPasswd, HostGroup);
  EXPECT_EQ(a.passwd, "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n");
  EXPECT_EQ(a.group, "root:x:0:\nwww-data:x:33:\n");
}

TEST(Accounts, UnknownNamesAreLeftOut) {
  Accounts a = generateAccounts(accountNamesFromArgs({"-u", "nosuchuser", "-g", "nosuchgroup"}, {}, HostPasswd),
                                HostPasswd, HostGroup);
  EXPECT_EQ(a.passwd, "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_EQ(a.group, "root:x:0:\n");
  ASSERT_EQ(a.leftOut.size(), 2u);
  EXPECT_EQ(a.leftOut[0], "user nosuchuser (argument 2 (after -u))");
  EXPECT_EQ(a.leftOut[1], "group nosuchgroup (argument 4 (after -g))");
}

TEST(Accounts, NeverThisMachinesWholeFiles) {
  std::string passwd = readFile("/etc/passwd"), group = readFile("/etc/group");
  ASSERT_NE(passwd.find("root:"), std::string::npos);
  // Every user and group of the machine named at once still gives root plus those, never the files.
  std::vector<std::string> args;
  for (const std::string &text : {passwd, group})
    for (llvm::StringRef line : llvm::split(llvm::StringRef(text), '\n'))
      if (!line.empty()) args.push_back("--user=" + line.split(':').first.str());
  Accounts a = generateAccounts(accountNamesFromArgs({"-u", "root"}, {}, passwd), passwd, group);
  EXPECT_NE(a.passwd, passwd);
  EXPECT_NE(a.group, group);
  EXPECT_EQ(a.passwd, "root:x:0:0:root:/root:/bin/sh\n");
  Accounts all = generateAccounts(accountNamesFromArgs(args, {}, passwd), passwd, group);
  EXPECT_NE(all.passwd, passwd); // root's line is bespoke's own
  EXPECT_NE(all.group, group);
}

// ---- A scratch host: merged /usr, links as Debian has them, a few programs and libraries.

class ScratchHost : public ::testing::Test {
protected:
  void SetUp() override {
    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("bespoke-contents", dir));
    Root = dir.str().str();
    for (const char *d : {"usr/bin", "usr/sbin", "usr/lib/x86_64-linux-gnu/plug", "usr/lib64", "usr/lib/nginx/modules",
                          "usr/share/nginx", "usr/share/zoneinfo/Etc", "etc/nginx"})
      ASSERT_FALSE(llvm::sys::fs::create_directories(Root + "/" + d));
    link("usr/bin", "bin");
    link("usr/sbin", "sbin");
    link("usr/lib", "lib");
    link("usr/lib64", "lib64");
    link("../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2");
    link("../../lib/nginx/modules", "usr/share/nginx/modules");
    link("/usr/share/zoneinfo/Etc/UTC", "etc/localtime");
    link("dash", "usr/bin/sh");
    copy("/usr/bin/dash", "usr/bin/dash"); // a real ELF: its PT_INTERP is read
    write("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "LOADER");
    write("usr/lib/x86_64-linux-gnu/libc.so.6", "LIBC");
    write("usr/lib/x86_64-linux-gnu/libdep.so.1", "DEP");
    write("usr/lib/x86_64-linux-gnu/plug/libplug.so", "PLUGIN");
    write("usr/lib/x86_64-linux-gnu/libnss_extra.so.2", "NSS");
    write("usr/lib/nginx/modules/ngx_x_module.so", "NGXMOD");
    write("usr/share/zoneinfo/Etc/UTC", "TZif2 UTC");
    write("etc/passwd", HostPasswd);
    write("etc/group", HostGroup);
    write("etc/nsswitch.conf", "passwd: files extra\nhosts: files dns\n");
    write("etc/hosts", "127.0.0.1 localhost\n10.1.2.3 build-host\n");
    write("etc/nginx/nginx.conf", "user www-data;\ninclude /etc/nginx/modules-enabled/*.conf;\n");
    write("etc/app.conf", "x = 1\n");
  }
  void TearDown() override { llvm::sys::fs::remove_directories(Root); }

  void link(const std::string &target, const std::string &at) {
    ASSERT_EQ(::symlink(target.c_str(), (Root + "/" + at).c_str()), 0) << at;
  }
  void write(const std::string &at, const std::string &data) { std::ofstream(Root + "/" + at) << data; }
  void copy(const std::string &from, const std::string &at) {
    ASSERT_FALSE(llvm::sys::fs::copy_file(from, Root + "/" + at));
    llvm::sys::fs::setPermissions(Root + "/" + at, llvm::sys::fs::all_read | llvm::sys::fs::all_exe |
                                                       llvm::sys::fs::owner_write);
  }

  static ModuleInfo module(const std::string &name, const std::string &path, const std::string &kind,
                           const std::string &loaded, const std::string &by, const std::string &target = "",
                           const std::string &config = "") {
    ModuleInfo m;
    m.name = name, m.path = path, m.kind = kind, m.loaded = loaded, m.by = by, m.target = target, m.config = config;
    return m;
  }

  // The bundled static musl echo server as the app, and a manifest whose modules come from the scratch host.
  Footprint footprint() const {
    Footprint fp;
    fp.app.name = "musl-echo", fp.app.path = BESPOKE_MUSL_ECHO, fp.app.libc = "musl";
    fp.modules = {
        module("musl-echo", BESPOKE_MUSL_ECHO, "program", "executable", ""),
        module("libplug.so", "/usr/lib/x86_64-linux-gnu/plug/libplug.so", "library", "dlopen", "musl-echo",
               "/usr/lib/x86_64-linux-gnu/plug/libplug.so"),
        module("libdep.so.1", "/usr/lib/x86_64-linux-gnu/libdep.so.1", "library", "needed", "libplug.so"),
        module("sh", "/bin/sh", "program", "exec", "musl-echo", "/bin/sh"),
        module("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "library", "needed", "sh"),
        module("ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "library", "interpreter",
               "libc.so.6"),
        module("libnss_extra.so.2", "/lib/x86_64-linux-gnu/libnss_extra.so.2", "library", "nss", "libc.so.6", "",
               "/etc/nsswitch.conf:1: passwd: files extra"),
        module("ngx_x_module.so", "/usr/lib/nginx/modules/ngx_x_module.so", "library", "flag", "")};
    return fp;
  }

  llvm::Expected<Contents> compose(const Footprint &fp, std::vector<std::string> args = {},
                                   std::vector<std::pair<std::string, std::string>> adds = {}) {
    ContentsRequest req{"m.yaml", &fp, BESPOKE_MUSL_ECHO, std::move(args), std::move(adds), Root};
    return composeContents(req);
  }

  static std::string fileAt(const Contents &c, const std::string &guest) {
    const TreeEntry *e = c.tree.find(guest);
    return e && e->kind == TreeEntry::File ? e->data : std::string("<no file " + guest + ">");
  }
  static std::string linkAt(const Contents &c, const std::string &canonical) {
    auto it = c.tree.entries().find(canonical);
    return it != c.tree.entries().end() && it->second.kind == TreeEntry::Symlink ? it->second.data : "<no link>";
  }

  std::string Root;
};

TEST_F(ScratchHost, ModulesAndExecutedProgramsWithTheirClosures) {
  Footprint fp = footprint();
  auto c = compose(fp);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(c->appPath, "/app/musl-echo");
  // dlopen'd plugin at its own path; its DT_NEEDED library where ld.so looks by default.
  EXPECT_EQ(fileAt(*c, "/usr/lib/x86_64-linux-gnu/plug/libplug.so"), "PLUGIN");
  EXPECT_EQ(fileAt(*c, "/lib/x86_64-linux-gnu/libdep.so.1"), "DEP");
  // The executed /bin/sh at its host path, through the host's links (bin -> usr/bin, sh -> dash).
  EXPECT_EQ(linkAt(*c, "bin"), "usr/bin");
  EXPECT_EQ(linkAt(*c, "usr/bin/sh"), "dash");
  EXPECT_EQ(fileAt(*c, "/bin/sh"), readFile("/usr/bin/dash"));
  EXPECT_EQ(c->tree.canonical("/bin/sh"), "usr/bin/dash");
  // sh's closure and its interpreter, reached by the host's PT_INTERP path.
  EXPECT_EQ(fileAt(*c, "/lib/x86_64-linux-gnu/libc.so.6"), "LIBC");
  EXPECT_EQ(fileAt(*c, "/lib64/ld-linux-x86-64.so.2"), "LOADER");
  EXPECT_EQ(linkAt(*c, "lib64"), "usr/lib64");
  EXPECT_EQ(linkAt(*c, "usr/lib64/ld-linux-x86-64.so.2"), "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  // NSS module and the --dlopen module.
  EXPECT_EQ(fileAt(*c, "/lib/x86_64-linux-gnu/libnss_extra.so.2"), "NSS");
  EXPECT_EQ(fileAt(*c, "/usr/lib/nginx/modules/ngx_x_module.so"), "NGXMOD");
  // Listed with why.
  std::vector<ListedFile> files = listAddedFiles(*c);
  auto sh = std::find_if(files.begin(), files.end(), [](const ListedFile &f) { return f.path == "/usr/bin/dash"; });
  ASSERT_NE(sh, files.end());
  EXPECT_EQ(sh->why.front(), "manifest module sh (exec by musl-echo)");
  EXPECT_EQ(sh->from, "/usr/bin/dash");
}

TEST_F(ScratchHost, FilesTheAppNeedsToStart) {
  Footprint fp = footprint();
  auto c = compose(fp, {"-u", "www-data", "-c", "/etc/app.conf"});
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(fileAt(*c, "/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n");
  EXPECT_EQ(fileAt(*c, "/etc/group"), "root:x:0:\nwww-data:x:33:\n");
  EXPECT_EQ(fileAt(*c, "/etc/nsswitch.conf"), readFile(Root + "/etc/nsswitch.conf")); // config of an NSS module
  EXPECT_EQ(fileAt(*c, "/etc/hosts"), readFile(Root + "/etc/hosts"));
  EXPECT_EQ(fileAt(*c, "/etc/app.conf"), "x = 1\n"); // named by an argument
  EXPECT_EQ(c->tree.find("/etc/localtime"), nullptr); // nothing read the time zone
  EXPECT_EQ(c->tree.find("/usr/share/zoneinfo/Etc/UTC"), nullptr);
}

TEST_F(ScratchHost, NginxConfigNamesTheUser) {
  Footprint fp = footprint();
  auto c = compose(fp, {"-c", "/etc/nginx/nginx.conf", "-g", "daemon off;"});
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(fileAt(*c, "/etc/nginx/nginx.conf"), readFile(Root + "/etc/nginx/nginx.conf"));
  EXPECT_EQ(c->accounts.users.at("www-data"), "/etc/nginx/nginx.conf:1: user www-data; (argument 2)");
  EXPECT_TRUE(c->warnings.empty()) << c->warnings.front();
}

TEST_F(ScratchHost, TimeZoneOnlyWhenTheManifestSaysItIsRead) {
  Footprint fp = footprint();
  fp.files.push_back(FileUse{"/etc/localtime", {}});
  auto c = compose(fp);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(linkAt(*c, "etc/localtime"), "/usr/share/zoneinfo/Etc/UTC");
  EXPECT_EQ(fileAt(*c, "/etc/localtime"), "TZif2 UTC");
  EXPECT_TRUE(c->notCarried.empty());

  Footprint zoneDir = footprint();
  zoneDir.files.push_back(FileUse{"/usr/share/zoneinfo/Etc/UTC", {}});
  auto z = compose(zoneDir);
  ASSERT_TRUE(bool(z)) << llvm::toString(z.takeError());
  EXPECT_EQ(fileAt(*z, "/usr/share/zoneinfo/Etc/UTC"), "TZif2 UTC");
  EXPECT_EQ(fileAt(*z, "/etc/localtime"), "TZif2 UTC");
}

// Files an observed run opened or looked up (manifest files: with root: observed): carried at their host
// path through the host's links, directories made, the generated accounts kept over the host's, secrets and
// the loader cache never carried; a static chain for a file carries nothing.
TEST_F(ScratchHost, ObservedFilesAndDirectories) {
  for (const char *d : {"usr/lib/python3.11/json", "usr/lib/python3.11/lib-dynload"})
    ASSERT_FALSE(llvm::sys::fs::create_directories(Root + "/" + d));
  write("usr/lib/python3.11/json/__init__.py", "JSON");
  write("usr/lib/python3.11/os.py", "OS");
  write("etc/shadow", "root:SECRET");
  write("etc/ld.so.cache", "CACHE");
  write("etc/static.conf", "STATIC");
  Footprint fp = footprint();
  auto observed = [](const std::string &path) {
    return FileUse{path, Evidence{"observed", {Frame{"python3.11", "openat", 0, "", 0}}}};
  };
  for (const char *p : {"/lib/python3.11/json/__init__.py", "/usr/lib/python3.11/os.py",
                        "/usr/lib/python3.11/lib-dynload", "/etc/passwd", "/etc/shadow", "/etc/ld.so.cache",
                        "/tmp/hidden", "/proc/self/status"})
    fp.files.push_back(observed(p));
  fp.files.push_back(FileUse{"/etc/static.conf", Evidence{"entry", {Frame{"app", "main", 0x10, "", 0}}}});
  auto c = compose(fp);
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(linkAt(*c, "lib"), "usr/lib");
  EXPECT_EQ(fileAt(*c, "/usr/lib/python3.11/json/__init__.py"), "JSON");
  EXPECT_EQ(fileAt(*c, "/usr/lib/python3.11/os.py"), "OS");
  const TreeEntry *dynload = c->tree.find("/usr/lib/python3.11/lib-dynload");
  ASSERT_NE(dynload, nullptr);
  EXPECT_EQ(dynload->kind, TreeEntry::Directory);
  EXPECT_EQ(fileAt(*c, "/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n"); // generated, not the host's
  EXPECT_EQ(c->tree.find("/etc/shadow"), nullptr);
  EXPECT_EQ(c->tree.find("/etc/ld.so.cache"), nullptr);
  EXPECT_EQ(c->tree.find("/etc/static.conf"), nullptr);
  // Listed as not carried (add them with --add when the app needs them); /tmp and /proc are init's mounts.
  EXPECT_EQ(c->notCarried, (std::vector<std::string>{"/etc/shadow", "/etc/ld.so.cache", "/etc/static.conf"}));
  auto skipped = [&](const std::string &prefix) {
    return std::count_if(c->skipped.begin(), c->skipped.end(),
                         [&](const std::string &s) { return llvm::StringRef(s).starts_with(prefix); });
  };
  EXPECT_EQ(skipped("/etc/shadow (observed: python3.11 openat): not carried"), 1);
  EXPECT_EQ(skipped("/etc/ld.so.cache (observed: python3.11 openat): not carried"), 1);
  EXPECT_EQ(skipped("/etc/passwd (observed: python3.11 openat)"), 1);
  EXPECT_EQ(skipped("/tmp/hidden (observed: python3.11 openat): would be hidden by bespoke-init's mount on /tmp"), 1);
  std::vector<ListedFile> files = listAddedFiles(*c);
  auto os = std::find_if(files.begin(), files.end(), [](const ListedFile &f) { return f.path == "/usr/lib/python3.11/os.py"; });
  ASSERT_NE(os, files.end());
  EXPECT_EQ(os->why.front(), "observed: python3.11 openat");
}

TEST_F(ScratchHost, AModuleMissingHereIsAnErrorNamingTheManifestAndTheFile) {
  Footprint fp = footprint();
  fp.modules.push_back(module("gone.so", "/usr/lib/x86_64-linux-gnu/gone.so", "library", "dlopen", "musl-echo"));
  auto c = compose(fp);
  ASSERT_FALSE(bool(c));
  EXPECT_EQ(llvm::toString(c.takeError()), "m.yaml: module gone.so (/usr/lib/x86_64-linux-gnu/gone.so) no longer "
                                           "exists on this machine; run bespoke analyze again");
  Footprint prog = footprint();
  prog.modules.push_back(module("xz", "/usr/bin/xz", "program", "exec", "musl-echo", "xz"));
  auto p = compose(prog);
  ASSERT_FALSE(bool(p));
  EXPECT_NE(llvm::toString(p.takeError()).find("m.yaml: module xz (/usr/bin/xz) no longer exists"), std::string::npos);
}

TEST_F(ScratchHost, AddCollisionsAreErrors) {
  Footprint fp = footprint();
  std::string q = Root + "/etc/app.conf";
  auto expectError = [&](const std::string &guest, const std::string &want) {
    auto c = compose(fp, {}, {{q, guest}});
    ASSERT_FALSE(bool(c)) << guest;
    std::string e = llvm::toString(c.takeError());
    EXPECT_NE(e.find(want), std::string::npos) << e;
  };
  expectError("/bin/sh", "guest path /bin/sh is already in the image (manifest module sh");
  expectError("/usr/bin/dash", "is already in the image");
  expectError("/usr/lib/nginx/modules", "collides with /usr/lib/nginx/modules/ngx_x_module.so in the image");
  expectError("/app/musl-echo/x", "collides with /app/musl-echo in the image (the app)");
  expectError("/tmp/x", "hidden by bespoke-init's mount on /tmp");
  expectError("/init", "bespoke-init's own");
  // Over a file the image would generate or copy for the app's start-up: --add wins, and image.json says so.
  auto c = compose(fp, {}, {{q, "/etc/passwd"}});
  ASSERT_TRUE(bool(c)) << llvm::toString(c.takeError());
  EXPECT_EQ(fileAt(*c, "/etc/passwd"), "x = 1\n");
  ASSERT_EQ(c->skipped.size(), 1u);
  EXPECT_EQ(c->skipped[0].rfind("/etc/passwd (generated", 0), 0u) << c->skipped[0];
}

// ---- RootTree

TEST_F(ScratchHost, RootTreeFollowsTheHostsLinks) {
  RootTree t(Root);
  ASSERT_TRUE(bool(t.addData("/bin/tool", "T", 0755, "test")));
  EXPECT_EQ(t.canonical("/bin/tool"), "usr/bin/tool");
  EXPECT_EQ(t.canonical("/usr/bin/tool"), "usr/bin/tool");
  ASSERT_NE(t.find("/bin"), nullptr);
  EXPECT_EQ(t.entries().at("bin").kind, TreeEntry::Symlink);
  // The same bytes again through the other path: no change; other bytes: a collision naming the first.
  auto same = t.addData("/usr/bin/tool", "T", 0755, "again");
  ASSERT_TRUE(bool(same));
  EXPECT_EQ(*same, RootTree::Added::Same);
  EXPECT_EQ(t.entries().at("usr/bin/tool").why, (std::vector<std::string>{"test", "again"}));
  auto other = t.addData("/bin/tool", "U", 0755, "other");
  ASSERT_FALSE(bool(other));
  EXPECT_EQ(llvm::toString(other.takeError()), "/bin/tool: the image already holds another file at /usr/bin/tool (test)");
  // A relative link of the host on the way (/usr/share/nginx/modules -> ../../lib/nginx/modules).
  ASSERT_TRUE(bool(t.mirror("/usr/share/nginx/modules/ngx_x_module.so", "module")));
  EXPECT_EQ(t.canonical("/usr/share/nginx/modules/ngx_x_module.so"), "usr/lib/nginx/modules/ngx_x_module.so");
  EXPECT_EQ(t.entries().at("usr/share/nginx/modules").data, "../../lib/nginx/modules");
  // An absolute link at the end is kept as a link and its target mirrored.
  ASSERT_TRUE(bool(t.mirror("/etc/localtime", "tz")));
  EXPECT_EQ(t.entries().at("etc/localtime").data, "/usr/share/zoneinfo/Etc/UTC");
  EXPECT_EQ(t.entries().at("usr/share/zoneinfo/Etc/UTC").data, "TZif2 UTC");
  // A file where a directory is needed, and a directory where a file goes.
  auto under = t.addData("/bin/tool/x", "X", 0644, "x");
  ASSERT_FALSE(bool(under));
  EXPECT_NE(llvm::toString(under.takeError()).find("/usr/bin/tool is a file in the image"), std::string::npos);
  auto dir = t.addData("/usr/bin", "X", 0644, "x");
  ASSERT_FALSE(bool(dir));
  EXPECT_NE(llvm::toString(dir.takeError()).find("is a directory in the image"), std::string::npos);
  // Not on this machine.
  auto missing = t.mirror("/usr/bin/nope", "x");
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(llvm::toString(missing.takeError()), "/usr/bin/nope: no such file on this machine");
}

TEST_F(ScratchHost, RootTreeArchiveHoldsTheHostsLinksAsLinks) {
  RootTree t(Root);
  ASSERT_TRUE(bool(t.mirror("/bin/sh", "sh")));
  Initramfs fs = t.takeInitramfs();
  auto back = readCpio(writeCpio(fs), "test");
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  const auto &e = back->entries;
  ASSERT_TRUE(e.count("bin") && e.count("usr/bin/sh") && e.count("usr/bin/dash"));
  EXPECT_EQ(e.at("bin").kind, InitramfsEntry::Symlink);
  EXPECT_EQ(e.at("bin").data, "usr/bin");
  EXPECT_EQ(e.at("usr/bin/sh").kind, InitramfsEntry::Symlink);
  EXPECT_EQ(e.at("usr/bin/sh").data, "dash");
  EXPECT_EQ(e.at("usr/bin/dash").kind, InitramfsEntry::File);
  EXPECT_EQ(e.at("usr/bin/dash").mode, 0755u);
  EXPECT_EQ(e.at("usr/bin").kind, InitramfsEntry::Directory);
  EXPECT_FALSE(e.count("bin/sh")); // one file, reached through the link
}

TEST(RootTree, JoinLinkTarget) {
  EXPECT_EQ(joinLinkTarget("usr/share/nginx", "../../lib/nginx/modules"), "usr/lib/nginx/modules");
  EXPECT_EQ(joinLinkTarget("etc", "/usr/share/zoneinfo/Etc/UTC"), "usr/share/zoneinfo/Etc/UTC");
  EXPECT_EQ(joinLinkTarget("", "usr/bin"), "usr/bin");
  EXPECT_EQ(joinLinkTarget("usr/bin", "./dash"), "usr/bin/dash");
}

} // namespace
} // namespace bespoke
