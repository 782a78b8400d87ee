// PluginConfig: the shared objects that four plugin systems load because the machine's configuration names
// them (glibc NSS and gconv, Linux-PAM, OpenSSL providers and engines), found the way the real loader finds
// them, each with the configuration file and line that brought it in. The ELF closure never names these
// objects, so a footprint without them misses every system call they make. This header is the
// configuration side only: whether a program can reach a plugin system, and analysing each module, is the
// whole-program analysis' business. The rules (what is parsed how, what is an error, what a warning, and
// why) are in analyzer/PLUGINS.md.
#pragma once

#include "analyzer/Loader.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace bespoke {

// Where the configuration names a module. Every path here and in PluginModule is as found on this machine,
// that is under PluginConfigOptions::root.
struct ConfigSource {
  std::string file;   // "/etc/nsswitch.conf"; for a module no line names: the directory or cache it came from
  unsigned line = 0;  // 1-based; 0 when no line names it (a built-in default, a directory listing, a cache)
  std::string text;   // the line as written (continuations joined), or what stands in for it when line is 0
};

struct PluginModule {
  std::string system; // "nss", "gconv", "pam", "openssl"
  std::string name;   // as configured: "systemd", "ISO8859-1" (the gconv module file), "pam_unix.so", "legacy"
  std::string path;   // the file the loader would open
  ConfigSource source;
};

struct PluginConfigOptions {
  // Prefix of every configuration and library path: "/" for this machine, a directory to analyse a target
  // root (a container image, an initramfs tree). Symbolic links are followed on this machine as they are.
  std::string root = "/";
  // How dlopen searches a bare library name (NSS modules, OpenSSL configuration modules), inside root.
  LoaderOptions loader;
};

// Each function returns the modules in a deterministic order (configuration order, then directory order
// sorted by name), one entry per file, with the first line that names it. It returns an llvm::Error (one
// line naming the file and the problem) where the analysis cannot honestly go on: a configuration file that
// exists but cannot be read, or a defect that makes the real library reject its whole configuration. Where
// the library carries on (a missing file with a built-in default, a line it skips, a named module that is
// not installed) it appends a one-line note to `warnings` and so does the analysis.

// glibc 2.36 NSS: libnss_<service>.so.2 for every service the databases name, except the built-in `files`
// and `dns`. `databases`: those the program can query ("passwd", "hosts", ...); empty means all of them.
llvm::Expected<std::vector<PluginModule>> nssModules(const PluginConfigOptions &opts,
                                                     std::vector<std::string> &warnings,
                                                     const std::vector<std::string> &databases = {});

// glibc 2.36 iconv: every module file gconv-modules and gconv-modules.d/*.conf name (and gconv-modules.cache,
// which glibc reads instead when it is valid), resolved against the gconv directory.
llvm::Expected<std::vector<PluginModule>> gconvModules(const PluginConfigOptions &opts,
                                                       std::vector<std::string> &warnings);

// Linux-PAM 1.5.2 as Debian 12 builds it: the modules pam_start() loads for each service (its file in
// /etc/pam.d or /usr/lib/pam.d, then `other`), following @include, include and substack. `services`: the
// names the program passes to pam_start(); empty means every file in the PAM directories.
llvm::Expected<std::vector<PluginModule>> pamModules(const PluginConfigOptions &opts,
                                                     std::vector<std::string> &warnings,
                                                     const std::vector<std::string> &services = {});

// OpenSSL 3.0: the providers, engines and configuration modules openssl.cnf's openssl_conf section loads
// (source: the line), then every .so in MODULESDIR and ENGINESDIR, because a program can load any of them by
// name at run time (source: the directory, line 0).
llvm::Expected<std::vector<PluginModule>> opensslModules(const PluginConfigOptions &opts,
                                                         std::vector<std::string> &warnings);

} // namespace bespoke
