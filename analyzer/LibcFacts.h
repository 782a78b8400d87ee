// LibcFacts: what the analysis knows about C library functions by name and about C libraries by their
// contents. Kept in one place because it is knowledge about libc, not about machine code: the functions
// that never return, those that take a file path, dlopen, the exec family, the entry points of NSS, gconv and
// the setxid broadcast, and which libc (and version) a module is.
#pragma once

#include "analyzer/ElfModule.h"

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>
#include <utility>

namespace bespoke {

// Imported functions that never return (exit, abort, __stack_chk_fail, longjmp, __cxa_throw, ...):
// a call to one ends its block, and a function whose every way out is one of them does not return.
bool isNoReturnImport(llvm::StringRef function);

// For a C library function that takes a file path (open, fopen, openat, dlopen, execve, ...), the register
// holding the path (7 = rdi, 6 = rsi); -1 otherwise.
int pathArgumentRegister(llvm::StringRef function);
bool isDlopen(llvm::StringRef function);
// Functions returning a pointer to an exported function by name: dlsym and dlvsym (the name in rsi), and
// OpenSSL 3's DSO_bind_func (rsi) and DSO_global_lookup (rdi), which reach dlsym through libcrypto's
// DSO_METHOD table (a pointer call the analysis cannot follow). The register holding the name, or -1.
int symbolLookupNameRegister(llvm::StringRef function);
bool isSymbolLookup(llvm::StringRef function);
// The module exporting this function is libcrypto: its own dlsym calls are the DSO methods, reached only
// through DSO_bind_func and DSO_global_lookup.
constexpr const char *OpensslDsoExport = "DSO_bind_func";
// The names libcrypto itself binds (OpenSSL 3.0: crypto/engine/eng_dyn.c binds "v_check" and
// "bind_engine", constants of its dynamic_data_ctx that no control changes; crypto/provider_core.c binds
// "OSSL_provider_init"). Its own calls of DSO_bind_func pass these, through struct fields.
const std::vector<std::string> &opensslBoundNames();
// Plugin loaders that pass dlsym a name they build at run time, from a fixed pattern: the library is the
// module exporting `loaderExport`; a name it passes that is not a constant is one of `names`, or any name
// ending in `suffix` (when not empty).
struct PluginLoader {
  const char *loaderExport;
  std::vector<std::string> names;
  std::string suffix;
};
// Cyrus SASL's libsasl2 (its one dlsym call, _sasl_locate_entry, is given the entry points of its
// callers' plugin tables: cyrus-sasl 2.1.28 lib/client.c and lib/server.c, the same in every 2.1
// release) and MIT Kerberos' libkrb5 ("<interface>_<module>_initvt", the module a [plugins] name of
// krb5.conf: krb5 1.20 lib/krb5/krb/plugin.c, load_if_needed; its other names are constants).
const std::vector<PluginLoader> &pluginLoaders();

// What glibc's own code passes to a syscall where its machine code reads the value from data or computes
// it (so the analysis sees no constant), read from the glibc source and checked against Debian 12's
// libc.so.6: only for the shared glibc ("libc.so.6") of a version listed, nullopt otherwise (the
// argument stays any). `function` is the glibc function at the syscall site or passing the value,
// `callee` the wrapper it passes it to ("" at a syscall instruction), `index` the syscall's argument.
struct ModelledValues {
  std::vector<uint64_t> values;
  std::string what; // for the manifest: which model gave them
};
std::optional<ModelledValues> glibcArgumentModel(llvm::StringRef module, llvm::StringRef version,
                                                  llvm::StringRef function, llvm::StringRef callee, long nr,
                                                  int index);

// Whether a constant string can be a path or a program name a program passes: not empty, no control
// characters (a constant address that happens to point at other bytes is not a path).
bool isPathLike(llvm::StringRef text);

// The exec family (execve, execvp, posix_spawn, ...): which register holds the program's path (-1 for
// fexecve, which takes a descriptor) and whether a name without '/' is looked up in PATH. system() and
// popen() are not here: glibc and musl implement them with posix_spawn of the constant "/bin/sh", which
// the analysis sees inside the C library.
struct ExecFunction {
  int pathRegister = -1;
  bool searchesPath = false;
};
std::optional<ExecFunction> execFunction(llvm::StringRef function);

// glibc's NSS dispatcher: reaching one of these functions can make libc load the NSS modules
// /etc/nsswitch.conf names (through ld.so's _dl_open, a call the analysis cannot follow).
bool isNssDispatcher(llvm::StringRef function);
// iconv_open: it loads the gconv modules gconv-modules names. (glibc's own conversions — gettext catalogs,
// wide-character streams — reach __gconv_open too; the modules make no syscall of their own, see README.)
bool isIconvOpen(llvm::StringRef function);
// The set*id functions that, in a threaded glibc program, broadcast their syscall to every thread
// (__nptl_setxid, and the SIGSETXID handler in each thread, issue a syscall number read from memory).
bool isSetxidFunction(llvm::StringRef function);
// Whether code starting with these bytes is glibc's SIGSETXID handler (it first checks the signal number).
bool looksLikeSetxidHandler(llvm::ArrayRef<uint8_t> entry);

// {"glibc" | "musl", version or "unknown"} when the module is a C library (or links one statically);
// {"", ""} otherwise.
std::pair<std::string, std::string> detectLibc(const ElfModule &elf);

} // namespace bespoke
