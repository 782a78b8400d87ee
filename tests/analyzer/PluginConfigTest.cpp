// Unit tests of analyzer/PluginConfig: the configuration syntax of each plugin system, and its errors and
// warnings, on the fixture roots in testdata/plugins (tiny configuration files and empty stand-ins for the
// modules; the fixtures' comments say which rule each line exercises) and on scratch roots the tests write;
// then this machine's own stock Debian 12 configuration, asserting only what holds on any Debian 12 with the
// package installed (a test skips, saying why, where a package is absent).
#include "analyzer/PluginConfig.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BESPOKE_PLUGIN_TESTDATA
#error "BESPOKE_PLUGIN_TESTDATA must name tests/analyzer/testdata/plugins"
#endif

using namespace bespoke;
namespace fs = std::filesystem;

namespace {

const std::string Fixtures = BESPOKE_PLUGIN_TESTDATA;

PluginConfigOptions rootAt(const std::string &root) {
  PluginConfigOptions opts;
  opts.root = root;
  return opts;
}

std::vector<PluginModule> expectModules(llvm::Expected<std::vector<PluginModule>> result) {
  if (!result) {
    ADD_FAILURE() << "unexpected error: " << llvm::toString(result.takeError());
    return {};
  }
  return std::move(*result);
}

std::string expectError(llvm::Expected<std::vector<PluginModule>> result) {
  if (result) {
    ADD_FAILURE() << "expected an error, got " << result->size() << " modules";
    return "";
  }
  std::string message = llvm::toString(result.takeError());
  EXPECT_EQ(message.find('\n'), std::string::npos) << "an error is one line: " << message;
  return message;
}

std::vector<std::string> namesOf(const std::vector<PluginModule> &modules) {
  std::vector<std::string> names;
  for (const PluginModule &m : modules) names.push_back(m.name);
  return names;
}

const PluginModule &find(const std::vector<PluginModule> &modules, const std::string &name) {
  static const PluginModule none{};
  for (const PluginModule &m : modules)
    if (m.name == name) return m;
  ADD_FAILURE() << "no module named " << name;
  return none;
}

// The one warning that contains every fragment (a test failure when there is none).
std::string warningWith(const std::vector<std::string> &warnings, std::initializer_list<std::string> fragments) {
  for (const std::string &w : warnings)
    if (std::all_of(fragments.begin(), fragments.end(), [&](const std::string &f) { return w.find(f) != std::string::npos; }))
      return w;
  std::string all;
  for (const std::string &w : warnings) all += "\n  " + w;
  ADD_FAILURE() << "no warning with " << *fragments.begin() << " among:" << all;
  return "";
}

bool contains(const std::vector<std::string> &v, const std::string &s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Runs `check` in a child process, as the user nobody when the tests run as root (root reads a file whatever
// its mode); 0 when it returned true.
int unprivileged(const std::function<bool()> &check) {
  pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
      _exit(2);
    _exit(check() ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

// A root the test writes, under the system's temporary directory, removed afterwards.
class ScratchRoot : public ::testing::Test {
protected:
  void SetUp() override {
    Root = fs::temp_directory_path() /
           ("bespoke-plugins-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(Root);
    fs::create_directories(Root);
  }
  void TearDown() override {
    std::error_code ec;
    for (const auto &e : fs::recursive_directory_iterator(Root, ec))
      fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(Root, ec);
  }
  std::string path(const std::string &rel) const { return (Root / rel).string(); }
  std::string write(const std::string &rel, const std::string &text) {
    fs::create_directories(fs::path(path(rel)).parent_path());
    std::ofstream(path(rel), std::ios::binary) << text;
    return path(rel);
  }
  PluginConfigOptions opts() const { return rootAt(Root.string()); }

  // Whether READER, given the root where REL holds TEXT but may not be read, fails with "REL: cannot read it".
  template <class Reader> bool unreadableIsAnError(const std::string &rel, const std::string &text, Reader reader) {
    write(rel, text);
    fs::permissions(path(rel), fs::perms::none);
    return unprivileged([&] {
             std::vector<std::string> warnings;
             auto result = reader(opts(), warnings);
             return !result && llvm::toString(result.takeError()).find(rel + ": cannot read it (") != std::string::npos;
           }) == 0;
  }

  fs::path Root;
  std::vector<std::string> Warnings;
};

// ---- NSS ----

TEST(PluginConfigNss, EveryDatabaseOfTheFixture) {
  std::vector<std::string> warnings;
  std::string root = Fixtures + "/nss", conf = root + "/etc/nsswitch.conf";
  auto mods = expectModules(nssModules(rootAt(root), warnings));
  // Configuration order; files and dns are built in; `Passwd`, `sudoers`, the overridden networks line, the
  // services line after '[', and the last line without a newline load nothing.
  EXPECT_EQ(namesOf(mods), (std::vector<std::string>{"systemd", "mymachines", "compat", "mdns4_minimal", "nis",
                                                     "extrausers"}));
  const PluginModule &systemd = find(mods, "systemd");
  EXPECT_EQ(systemd.system, "nss");
  EXPECT_EQ(systemd.path, root + "/lib/x86_64-linux-gnu/libnss_systemd.so.2");
  EXPECT_EQ(systemd.source.file, conf);
  EXPECT_EQ(systemd.source.line, 4u);
  EXPECT_EQ(systemd.source.text, "passwd: files systemd");
  EXPECT_EQ(find(mods, "compat").source.line, 6u); // "shadow files compat": the colon is optional
  EXPECT_EQ(find(mods, "mdns4_minimal").source.line, 7u);
  EXPECT_EQ(find(mods, "nis").source.line, 14u);
  // The second default directory, after /lib/x86_64-linux-gnu.
  EXPECT_EQ(find(mods, "extrausers").path, root + "/usr/lib/x86_64-linux-gnu/libnss_extrausers.so.2");

  warningWith(warnings, {conf + ":7: hosts names service 'resolve'", "libnss_resolve.so.2 is not installed"});
  warningWith(warnings, {conf + ":12:", "no database name"});
  warningWith(warnings, {conf + ":13:", "'[' where a service should be"});
  warningWith(warnings, {conf + ":14: netgroup names service '#'", "not read '#' after a database as a comment"});
  warningWith(warnings, {conf + ":14: netgroup names service 'comment'"});
  warningWith(warnings, {conf + ":17:", "no newline", "ignores it"});
  warningWith(warnings, {"glibc's default for publickey names service 'nisplus'"});
  EXPECT_EQ(warnings.size(), 7u);
}

TEST(PluginConfigNss, OnlyTheDatabasesTheProgramQueries) {
  std::string root = Fixtures + "/nss";
  auto query = [&](std::vector<std::string> dbs) {
    std::vector<std::string> warnings;
    return expectModules(nssModules(rootAt(root), warnings, dbs));
  };
  EXPECT_EQ(namesOf(query({"passwd"})), std::vector<std::string>{"systemd"});
  EXPECT_EQ(namesOf(query({"hosts"})), std::vector<std::string>{"mdns4_minimal"});
  EXPECT_TRUE(query({"rpc"}).empty()) << "the rpc line has no newline: glibc ignores it and uses 'files'";
  EXPECT_TRUE(query({"networks"}).empty()) << "the later networks line replaces the earlier one";
  // initgroups and gshadow are not configured: initgroups() uses group's list, gshadow inherits group's.
  for (const char *db : {"initgroups", "gshadow"}) {
    auto mods = query({db});
    EXPECT_EQ(namesOf(mods), (std::vector<std::string>{"mymachines", "systemd"})) << db;
    EXPECT_EQ(find(mods, "systemd").source.line, 5u) << db;
  }
  // The compat service reads shadow_compat, which falls back to passwd_compat, whose default is nis.
  auto shadow = query({"shadow"});
  EXPECT_EQ(namesOf(shadow), (std::vector<std::string>{"compat", "nis"}));
  EXPECT_EQ(find(shadow, "nis").source.line, 0u);
  EXPECT_EQ(find(shadow, "nis").source.text, "glibc default: shadow_compat: nis");
}

TEST(PluginConfigNss, AnUnknownDatabaseIsAnError) {
  std::vector<std::string> warnings;
  EXPECT_NE(expectError(nssModules(rootAt(Fixtures + "/nss"), warnings, {"automount"})).find("'automount'"),
            std::string::npos);
}

TEST(PluginConfigNss, AMissingFileMeansGlibcsDefaults) {
  std::vector<std::string> warnings;
  std::string root = Fixtures + "/nss-defaults";
  auto mods = expectModules(nssModules(rootAt(root), warnings));
  ASSERT_EQ(namesOf(mods), std::vector<std::string>{"nis"}); // publickey: nis nisplus
  EXPECT_EQ(mods[0].source.file, root + "/etc/nsswitch.conf");
  EXPECT_EQ(mods[0].source.line, 0u);
  EXPECT_EQ(mods[0].source.text, "glibc default: publickey: nis nisplus");
  warningWith(warnings, {"nsswitch.conf: not found; glibc uses its built-in defaults"});
  warningWith(warnings, {"'nisplus'"});
  std::vector<std::string> quiet;
  EXPECT_TRUE(expectModules(nssModules(rootAt(root), quiet, {"passwd", "group", "hosts"})).empty());
}

TEST(PluginConfigNss, AMalformedActionListIsAnError) {
  std::vector<std::string> warnings;
  std::string message = expectError(nssModules(rootAt(Fixtures + "/nss-malformed"), warnings));
  EXPECT_NE(message.find("/nss-malformed/etc/nsswitch.conf:2: malformed [STATUS=ACTION] list"), std::string::npos)
      << message;
  EXPECT_NE(message.find("every NSS lookup fails"), std::string::npos) << message;
}

TEST_F(ScratchRoot, NssUnterminatedActionListIsAnError) {
  write("etc/nsswitch.conf", "passwd: files [NOTFOUND=return systemd\n");
  EXPECT_NE(expectError(nssModules(opts(), Warnings)).find("nsswitch.conf:1: malformed"), std::string::npos);
}

TEST_F(ScratchRoot, NssFileWithoutReadPermissionIsAnError) {
  EXPECT_TRUE(unreadableIsAnError("etc/nsswitch.conf", "passwd: files systemd\n",
                                  [](const PluginConfigOptions &o, std::vector<std::string> &w) { return nssModules(o, w); }));
}

TEST_F(ScratchRoot, NssDirectoryInsteadOfFileMeansDefaults) {
  fs::create_directories(path("etc/nsswitch.conf"));
  EXPECT_TRUE(expectModules(nssModules(opts(), Warnings, {"passwd"})).empty());
  warningWith(Warnings, {"not found; glibc uses its built-in defaults"});
}

// An ld.so.cache in glibc's new format (what readLdSoCache reads): the header, 24-byte entries, strings.
std::string ldSoCache(const std::vector<std::pair<std::string, std::string>> &entries) {
  auto u32 = [](std::string &out, uint32_t v) { out.append(reinterpret_cast<const char *>(&v), 4); };
  std::string table, strings;
  uint32_t stringsAt = 48 + 24 * entries.size();
  for (const auto &[name, file] : entries) {
    u32(table, 0x303); // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
    u32(table, stringsAt + strings.size());
    strings += name + '\0';
    u32(table, stringsAt + strings.size());
    strings += file + '\0';
    table.append(12, '\0'); // osversion, hwcap
  }
  std::string out = "glibc-ld.so.cache1.1";
  u32(out, entries.size());
  out.resize(48, '\0');
  return out + table + strings;
}

TEST_F(ScratchRoot, NssModulesAreFoundThroughTheLdSoCacheFirst) {
  write("etc/nsswitch.conf", "passwd: files extra\n");
  write("etc/ld.so.cache", ldSoCache({{"libnss_extra.so.2", "/opt/nss/libnss_extra.so.2"}}));
  write("opt/nss/libnss_extra.so.2", "");
  write("lib/x86_64-linux-gnu/libnss_extra.so.2", "");
  auto mods = expectModules(nssModules(opts(), Warnings));
  ASSERT_EQ(mods.size(), 1u);
  EXPECT_EQ(mods[0].path, path("opt/nss/libnss_extra.so.2"));
}

// ---- gconv ----

TEST(PluginConfigGconv, TheFixturesModules) {
  std::vector<std::string> warnings;
  std::string root = Fixtures + "/gconv", dir = root + "/usr/lib/x86_64-linux-gnu/gconv";
  auto mods = expectModules(gconvModules(rootAt(root), warnings));
  // COMMENTED is behind '#', NOTREAD in a file without ".conf", X on a line that does not say "module".
  EXPECT_EQ(namesOf(mods), (std::vector<std::string>{"ISO8859-1", "UTF-7", "EUC-JP.so", "/opt/gconv/FOO", "IBM1047"}));
  const PluginModule &latin1 = find(mods, "ISO8859-1");
  EXPECT_EQ(latin1.system, "gconv");
  EXPECT_EQ(latin1.path, dir + "/ISO8859-1.so");
  EXPECT_EQ(latin1.source.file, dir + "/gconv-modules");
  EXPECT_EQ(latin1.source.line, 3u);
  EXPECT_EQ(latin1.source.text, "module ISO-8859-1// INTERNAL ISO8859-1 1");
  EXPECT_EQ(find(mods, "EUC-JP.so").path, dir + "/EUC-JP.so");
  EXPECT_EQ(find(mods, "/opt/gconv/FOO").path, root + "/opt/gconv/FOO.so");
  EXPECT_EQ(find(mods, "IBM1047").source.file, dir + "/gconv-modules.d/extra.conf");
  EXPECT_EQ(find(mods, "IBM1047").source.line, 1u);
  warningWith(warnings, {dir + "/gconv-modules:8: names module BAR", "BAR.so does not exist"});
  warningWith(warnings, {dir + "/gconv-modules:9: a module line needs FROM TO FILE"});
  warningWith(warnings, {dir + "/gconv-modules:10: neither 'alias' nor 'module'"});
  EXPECT_EQ(warnings.size(), 3u);
}

// gconv-modules.cache as iconvconfig writes it (iconv/iconvconfig.h): a header, strings, a hash table (not
// read here), and one module entry a charset with its module for both directions.
std::string gconvCache(const std::string &dir, const std::vector<std::string> &modules) {
  std::string strings(1, '\0');
  auto add = [&](const std::string &s) {
    uint16_t at = strings.size();
    strings += s + '\0';
    return at;
  };
  uint16_t dirAt = add(dir);
  std::vector<uint16_t> entries(6, 0); // entry 0: INTERNAL
  for (const std::string &m : modules) {
    uint16_t canon = add(m + "//"), file = add(m + ".so");
    entries.insert(entries.end(), {canon, dirAt, file, dirAt, file, 0});
  }
  uint16_t hashAt = 16 + strings.size(), modulesAt = hashAt + 4, otherAt = modulesAt + 2 * entries.size();
  std::string out(16, '\0');
  uint32_t magic = 0x20010324;
  uint16_t header[5] = {16, hashAt, 1, modulesAt, otherAt};
  memcpy(out.data(), &magic, 4);
  memcpy(out.data() + 4, header, sizeof header);
  out += strings + std::string(4, '\0');
  out.append(reinterpret_cast<const char *>(entries.data()), 2 * entries.size());
  return out;
}

TEST_F(ScratchRoot, GconvModulesOnlyTheCacheNames) {
  std::string dir = "usr/lib/x86_64-linux-gnu/gconv";
  write(dir + "/gconv-modules", "module A// INTERNAL A 1\n");
  write(dir + "/gconv-modules.cache", gconvCache("/" + dir + "/", {"A", "CACHED"}));
  write(dir + "/A.so", "");
  write(dir + "/CACHED.so", "");
  auto mods = expectModules(gconvModules(opts(), Warnings));
  EXPECT_EQ(namesOf(mods), (std::vector<std::string>{"A", "CACHED"}));
  EXPECT_EQ(find(mods, "CACHED").source.file, path(dir + "/gconv-modules.cache"));
  EXPECT_EQ(find(mods, "CACHED").source.line, 0u);
  warningWith(Warnings, {"gconv-modules.cache: names /" + dir + "/CACHED.so", "stale cache"});
  EXPECT_EQ(Warnings.size(), 1u);
}

TEST_F(ScratchRoot, GconvInvalidCacheIsIgnored) {
  write("usr/lib/x86_64-linux-gnu/gconv/gconv-modules", "module A// INTERNAL A 1\n");
  write("usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", "not a cache, but long enough");
  write("usr/lib/x86_64-linux-gnu/gconv/A.so", "");
  EXPECT_EQ(namesOf(expectModules(gconvModules(opts(), Warnings))), std::vector<std::string>{"A"});
  warningWith(Warnings, {"not a valid gconv cache; glibc ignores it"});
}

TEST_F(ScratchRoot, GconvWithoutConfiguration) {
  EXPECT_TRUE(expectModules(gconvModules(opts(), Warnings)).empty());
  warningWith(Warnings, {"no gconv configuration", "built-in conversions"});
}

TEST_F(ScratchRoot, GconvUnreadableConfigurationIsAnError) {
  EXPECT_TRUE(unreadableIsAnError("usr/lib/x86_64-linux-gnu/gconv/gconv-modules", "module A// INTERNAL A 1\n",
                                  [](const PluginConfigOptions &o, std::vector<std::string> &w) { return gconvModules(o, w); }));
}

// ---- PAM ----

TEST(PluginConfigPam, LoginFollowsIncludesAndOther) {
  std::vector<std::string> warnings;
  std::string root = Fixtures + "/pam", pamd = root + "/etc/pam.d";
  auto mods = expectModules(pamModules(rootAt(root), warnings, {"login"}));
  // pam_wrongtype (an auth line in a file included for password), pam_account_only (an account line in a
  // substack for session), pam_bogus (illegal type) and pam_commented (after '#') are never loaded.
  EXPECT_EQ(namesOf(mods), (std::vector<std::string>{"pam_faildelay.so", "pam_selinux.so", "pam_systemd.so",
                                                     "pam_unix.so", "pam_deny.so", "pam_mail.so",
                                                     "/opt/pam/pam_custom.so", "pam_limits.so", "pam_legacy.so",
                                                     "pam_env.so", "pam_warn.so"}));
  const PluginModule &pamUnix = find(mods, "pam_unix.so");
  EXPECT_EQ(pamUnix.system, "pam");
  EXPECT_EQ(pamUnix.path, root + "/lib/x86_64-linux-gnu/security/pam_unix.so");
  EXPECT_EQ(pamUnix.source.file, pamd + "/common-auth"); // through "@include common-auth"
  EXPECT_EQ(pamUnix.source.line, 1u);
  EXPECT_EQ(pamUnix.source.text, "auth [success=1 default=ignore] pam_unix.so nullok");
  const PluginModule &custom = find(mods, "/opt/pam/pam_custom.so");
  EXPECT_EQ(custom.path, root + "/opt/pam/pam_custom.so");
  EXPECT_EQ(custom.source.line, 8u);
  EXPECT_EQ(custom.source.text, "account required /opt/pam/pam_custom.so arg1 arg2"); // a continued line
  EXPECT_EQ(find(mods, "pam_legacy.so").path, root + "/lib/security/pam_legacy.so"); // Debian's fallback
  EXPECT_EQ(find(mods, "pam_env.so").source.line, 17u); // "AUTH REQUIRED": case does not matter
  EXPECT_EQ(find(mods, "pam_warn.so").source.file, pamd + "/other");

  warningWith(warnings, {pamd + "/login:6: module pam_notinstalled.so is not installed"});
  warningWith(warnings, {pamd + "/login:12: includes nosuchfile, which is not in /etc/pam.d"});
  warningWith(warnings, {pamd + "/login:14: illegal module type 'bogus'"});
  warningWith(warnings, {pamd + "/login:15: no control flag"});
  warningWith(warnings, {pamd + "/login:16: no module"});
  EXPECT_EQ(warnings.size(), 5u);

  // pam_start uses the name after the last '/', in lower case.
  std::vector<std::string> again;
  EXPECT_EQ(namesOf(expectModules(pamModules(rootAt(root), again, {"bin/LOGIN"}))), namesOf(mods));
}

TEST(PluginConfigPam, VendorDirectoryAndServicesWithoutAFile) {
  std::string root = Fixtures + "/pam";
  std::vector<std::string> warnings;
  auto vendor = expectModules(pamModules(rootAt(root), warnings, {"vendorsvc"}));
  EXPECT_EQ(namesOf(vendor),
            (std::vector<std::string>{"pam_vendor.so", "pam_unix.so", "pam_deny.so", "pam_mail.so", "pam_warn.so"}));
  EXPECT_EQ(find(vendor, "pam_vendor.so").source.file, root + "/usr/lib/pam.d/vendorsvc");
  EXPECT_TRUE(warnings.empty());
  auto none = expectModules(pamModules(rootAt(root), warnings, {"nosuch"}));
  EXPECT_EQ(namesOf(none), (std::vector<std::string>{"pam_unix.so", "pam_deny.so", "pam_mail.so", "pam_warn.so"}));
  warningWith(warnings, {"PAM service 'nosuch' has no file; libpam uses only 'other'"});
}

TEST(PluginConfigPam, EveryServiceFile) {
  std::vector<std::string> warnings;
  auto names = namesOf(expectModules(pamModules(rootAt(Fixtures + "/pam"), warnings)));
  // Read as services of their own, the included files load every line.
  for (const char *m : {"pam_wrongtype.so", "pam_account_only.so", "pam_vendor.so", "pam_faildelay.so"})
    EXPECT_TRUE(contains(names, m)) << m;
  EXPECT_FALSE(contains(names, "pam_bogus.so"));
}

TEST(PluginConfigPam, ConfigurationsLibpamRejectsAreErrors) {
  std::string root = Fixtures + "/pam-errors", pamd = root + "/etc/pam.d";
  auto error = [&](const std::string &service) {
    std::vector<std::string> warnings;
    return expectError(pamModules(rootAt(root), warnings, {service}));
  };
  EXPECT_NE(error("include-missing").find(pamd + "/include-missing:2: @include nosuchfile: no such file"),
            std::string::npos);
  EXPECT_NE(error("include-noname").find(pamd + "/include-noname:2: @include without a file name"),
            std::string::npos);
  EXPECT_NE(error("cycle-a").find("(an include cycle)"), std::string::npos);
  EXPECT_NE(error("nosuch").find("PAM service 'nosuch': neither its file nor 'other'"), std::string::npos);
}

TEST(PluginConfigPam, PamConfWhenThereIsNoPamDirectory) {
  std::string root = Fixtures + "/pam-conf";
  std::vector<std::string> warnings;
  auto login = expectModules(pamModules(rootAt(root), warnings, {"login"}));
  EXPECT_EQ(namesOf(login), (std::vector<std::string>{"pam_unix.so", "pam_warn.so"}));
  EXPECT_EQ(find(login, "pam_unix.so").source.file, root + "/etc/pam.conf");
  EXPECT_EQ(find(login, "pam_unix.so").source.line, 2u);
  auto all = expectModules(pamModules(rootAt(root), warnings));
  EXPECT_EQ(namesOf(all), (std::vector<std::string>{"pam_unix.so", "pam_warn.so", "pam_sshd_only.so"}));
  EXPECT_TRUE(warnings.empty());
}

// ---- OpenSSL ----

TEST(PluginConfigOpenssl, TheFixturesProvidersEnginesAndModules) {
  std::vector<std::string> warnings;
  std::string root = Fixtures + "/openssl", conf = root + "/etc/ssl/openssl.cnf",
              modulesDir = root + "/usr/lib/x86_64-linux-gnu/ossl-modules",
              enginesDir = root + "/usr/lib/x86_64-linux-gnu/engines-3";
  auto mods = expectModules(opensslModules(rootAt(root), warnings));
  // The configuration first (providers, engines, the DSO module mymod; the built-in default provider, the
  // rdrand engine, an engine section with only soft_load and "alg" load nothing), then what the two
  // directories add.
  EXPECT_EQ(namesOf(mods), (std::vector<std::string>{"legacy", "custom", "fips", "extra", "padlock", "pkcs11",
                                                     "mymod", "other", "afalg"}));
  // /usr/lib/ssl/openssl.cnf is an absolute link to /etc/ssl/openssl.cnf, followed inside the root.
  const PluginModule &legacy = find(mods, "legacy");
  EXPECT_EQ(legacy.system, "openssl");
  EXPECT_EQ(legacy.path, modulesDir + "/legacy.so");
  EXPECT_EQ(legacy.source.file, conf);
  EXPECT_EQ(legacy.source.line, 18u);
  EXPECT_EQ(find(mods, "custom").path, root + "/opt/ossl/custom.so"); // "1.custom": the name after the dot
  EXPECT_EQ(find(mods, "custom").source.text, "module = $moddir/custom.so");
  EXPECT_EQ(find(mods, "fips").path, modulesDir + "/fips.so"); // identity, a quoted relative module
  EXPECT_EQ(find(mods, "extra").source.file, root + "/etc/ssl/openssl.d/10-extra.cnf"); // .include of a directory
  EXPECT_EQ(find(mods, "padlock").path, enginesDir + "/padlock.so");
  EXPECT_EQ(find(mods, "padlock").source.line, 37u);
  EXPECT_EQ(find(mods, "pkcs11").path, root + "/opt/engines/pkcs11.so"); // a continued line
  EXPECT_EQ(find(mods, "pkcs11").source.line, 47u);
  EXPECT_EQ(find(mods, "mymod").path, root + "/lib/x86_64-linux-gnu/libmymod.so");
  EXPECT_EQ(find(mods, "afalg").source.file, enginesDir);
  EXPECT_EQ(find(mods, "afalg").source.line, 0u);
  EXPECT_EQ(find(mods, "other").source.file, modulesDir);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
}

TEST_F(ScratchRoot, OpensslConfigurationsOpensslRejectsAreErrors) {
  const std::string conf = "usr/lib/ssl/openssl.cnf";
  auto error = [&](const std::string &text) {
    write(conf, text);
    return expectError(opensslModules(opts(), Warnings));
  };
  EXPECT_NE(error("a = 1\nno equal sign\n").find(conf + ":2: no '='"), std::string::npos);
  EXPECT_NE(error("[ section\n").find(conf + ":1: missing ']'"), std::string::npos);
  EXPECT_NE(error("x = $undefined/y\n").find(conf + ":1: $undefined has no value"), std::string::npos);
  EXPECT_NE(error("x = ${a\n").find("no closing brace"), std::string::npos);
  EXPECT_NE(error(".pragma dollarid:maybe\n").find("invalid .pragma value"), std::string::npos);
  EXPECT_NE(error(".include /" + conf + "\n").find("(an include cycle)"), std::string::npos);
}

TEST_F(ScratchRoot, OpensslConfigurationsOpensslToleratesAreWarnings) {
  write("usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so", "");
  auto run = [&](const std::string &text) {
    Warnings.clear();
    write("usr/lib/ssl/openssl.cnf", text);
    return expectModules(opensslModules(opts(), Warnings));
  };
  // Every module of the directories is there whatever the configuration says.
  EXPECT_EQ(namesOf(run("openssl_conf = init\n")), std::vector<std::string>{"legacy"});
  warningWith(Warnings, {"openssl_conf names section 'init', which does not exist"});
  run("d = $ENV::HOME/x\n.include relative.cnf\n");
  warningWith(Warnings, {":1: $ENV::HOME depends on the program's environment"});
  warningWith(Warnings, {":2: .include relative.cnf is relative to the program's working directory"});
  run("openssl_conf = init\n[init]\nproviders = p\n[p]\ngone = gone_sect\n[gone_sect]\nactivate = 1\n");
  warningWith(Warnings, {"openssl.cnf:5: gone:", "gone.so does not exist"});
  fs::remove(path("usr/lib/ssl/openssl.cnf"));
  EXPECT_EQ(namesOf(expectModules(opensslModules(opts(), Warnings))), std::vector<std::string>{"legacy"});
  warningWith(Warnings, {"openssl.cnf: not found; OpenSSL loads no module from its configuration"});
}

// ---- This machine: stock Debian 12 ----

TEST(PluginConfigRealMachine, NssNamesLibnssSystemd) {
  const std::string systemd = "/lib/x86_64-linux-gnu/libnss_systemd.so.2";
  if (!fs::exists(systemd))
    GTEST_SKIP() << systemd << " is absent (apt-get install libnss-systemd)";
  // The first passwd/group/shadow/gshadow line that names systemd, as Debian's stock file has it.
  std::ifstream in("/etc/nsswitch.conf");
  std::regex naming(R"(^(passwd|group|shadow|gshadow)\s*:?\s.*\bsystemd\b.*)");
  unsigned expectedLine = 0, n = 0;
  for (std::string line; std::getline(in, line) && !expectedLine;)
    if (++n, std::regex_match(line, naming)) expectedLine = n;
  if (!expectedLine)
    GTEST_SKIP() << "/etc/nsswitch.conf names systemd for no user or group database";
  std::string expectedPath = systemd;
  for (const auto &[name, file] : readLdSoCache("/etc/ld.so.cache"))
    if (name == "libnss_systemd.so.2" && fs::is_regular_file(file)) {
      expectedPath = file;
      break;
    }

  std::vector<std::string> warnings;
  auto mods = expectModules(nssModules(PluginConfigOptions{}, warnings));
  const PluginModule &m = find(mods, "systemd");
  EXPECT_EQ(m.path, expectedPath);
  EXPECT_EQ(m.source.file, "/etc/nsswitch.conf");
  EXPECT_EQ(m.source.line, expectedLine);
  for (const char *builtin : {"files", "dns"}) EXPECT_FALSE(contains(namesOf(mods), builtin)) << builtin;
  std::vector<std::string> quiet;
  EXPECT_TRUE(contains(namesOf(expectModules(nssModules(PluginConfigOptions{}, quiet, {"passwd"}))), "systemd"));
}

TEST(PluginConfigRealMachine, GconvModulesOfLibc) {
  const std::string dir = "/usr/lib/x86_64-linux-gnu/gconv";
  if (!fs::exists(dir + "/gconv-modules"))
    GTEST_SKIP() << dir << "/gconv-modules is absent (libc6 installs it)";
  std::vector<std::string> warnings;
  auto mods = expectModules(gconvModules(PluginConfigOptions{}, warnings));
  EXPECT_GE(mods.size(), 200u);
  EXPECT_EQ(find(mods, "ISO8859-1").path, dir + "/ISO8859-1.so");
  for (const PluginModule &m : mods) {
    EXPECT_TRUE(fs::is_regular_file(m.path)) << m.path;
    EXPECT_EQ(m.path.rfind(dir + "/", 0), 0u) << m.path;
    EXPECT_EQ(m.source.file.rfind(dir + "/gconv-modules", 0), 0u) << m.source.file;
  }
}

TEST(PluginConfigRealMachine, PamModulesOfLoginAndOther) {
  if (!fs::exists("/etc/pam.d/login") || !fs::exists("/etc/pam.d/common-auth"))
    GTEST_SKIP() << "/etc/pam.d/login or common-auth is absent (the login and libpam-runtime packages)";
  for (const char *service : {"login", "other"}) {
    std::vector<std::string> warnings;
    auto mods = expectModules(pamModules(PluginConfigOptions{}, warnings, {service}));
    const PluginModule &pamUnix = find(mods, "pam_unix.so");
    EXPECT_EQ(pamUnix.path, "/lib/x86_64-linux-gnu/security/pam_unix.so") << service;
    EXPECT_EQ(pamUnix.source.file, "/etc/pam.d/common-auth") << service;
    for (const PluginModule &m : mods) EXPECT_TRUE(fs::is_regular_file(m.path)) << m.path;
  }
}

TEST(PluginConfigRealMachine, OpensslProvidersAndEngines) {
  const std::string modules = "/usr/lib/x86_64-linux-gnu/ossl-modules", engines = "/usr/lib/x86_64-linux-gnu/engines-3";
  if (!fs::exists(modules + "/legacy.so") || !fs::exists(engines + "/padlock.so"))
    GTEST_SKIP() << "OpenSSL 3's module directories are absent (apt-get install libssl3)";
  std::vector<std::string> warnings;
  auto mods = expectModules(opensslModules(PluginConfigOptions{}, warnings));
  EXPECT_EQ(find(mods, "legacy").path, modules + "/legacy.so");
  for (const char *engine : {"afalg", "loader_attic", "padlock"})
    if (fs::exists(engines + "/" + engine + ".so")) {
      EXPECT_EQ(find(mods, engine).path, engines + "/" + engine + ".so");
      EXPECT_EQ(find(mods, engine).source.line, 0u);
    }
}

} // namespace
