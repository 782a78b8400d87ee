// LibcFacts: the name lists and the banner search behind LibcFacts.h.
#include "analyzer/LibcFacts.h"

#include "analyzer/X86Registers.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

using namespace llvm;

namespace bespoke {

bool isNoReturnImport(StringRef n) {
  static const std::set<std::string, std::less<>> names = {
      "exit", "_exit", "_Exit", "abort", "__stack_chk_fail", "__assert_fail", "__fortify_fail",
      "__chk_fail", "err", "errx", "verr", "verrx", "pthread_exit", "__libc_fatal", "__cxa_throw",
      "__cxa_rethrow", "_Unwind_Resume", "longjmp", "siglongjmp", "_longjmp", "__longjmp_chk",
      "quick_exit", "__cxa_bad_cast", "__cxa_bad_typeid", "__cxa_throw_bad_array_new_length",
      "_ZSt9terminatev", "__ubsan_handle_builtin_unreachable"};
  return names.count(n) > 0;
}

int pathArgumentRegister(StringRef f) {
  static const std::set<std::string, std::less<>> inRdi = {
      "open", "open64", "__open_2", "__open64_2", "fopen", "fopen64", "freopen", "opendir", "access",
      "stat", "stat64", "lstat", "lstat64", "__xstat", "__xstat64", "__lxstat", "__lxstat64", "statfs",
      "statvfs", "readlink", "realpath", "creat", "truncate", "mkdir", "unlink", "rmdir", "chdir", "chmod",
      "chown", "mknod", "execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle", "dlopen",
      "__libc_dlopen_mode", "__nss_files_fopen"};
  static const std::set<std::string, std::less<>> inRsi = {
      "openat", "openat64", "__openat_2", "__openat64_2", "fstatat", "fstatat64", "newfstatat",
      "__fxstatat", "__fxstatat64", "readlinkat", "faccessat", "statx", "mkdirat", "unlinkat", "execveat",
      "posix_spawn", "posix_spawnp", "dlmopen"};
  static const std::set<std::string, std::less<>> inRdx = {"posix_spawn_file_actions_addopen"};
  if (inRdi.count(f)) return RDI;
  if (inRsi.count(f)) return RSI;
  if (inRdx.count(f)) return RDX;
  return -1;
}

bool isPathLike(StringRef t) {
  return !t.empty() && std::none_of(t.begin(), t.end(), [](char c) { return uint8_t(c) < 0x20 || uint8_t(c) == 0x7f; });
}

int symbolLookupNameRegister(StringRef f) {
  if (f == "dlsym" || f == "dlvsym" || f == "DSO_bind_func") return RSI;
  if (f == "DSO_global_lookup") return RDI;
  return -1;
}

bool isSymbolLookup(StringRef f) { return symbolLookupNameRegister(f) >= 0; }

const std::vector<std::string> &opensslBoundNames() {
  static const std::vector<std::string> names = {"OSSL_provider_init", "bind_engine", "v_check"};
  return names;
}

const std::vector<PluginLoader> &pluginLoaders() {
  static const std::vector<PluginLoader> loaders = {
      {"sasl_client_init",
       {"sasl_auxprop_plug_init", "sasl_canonuser_init", "sasl_client_plug_init", "sasl_server_plug_init"},
       ""},
      {"krb5_init_context", {}, "_initvt"},
  };
  return loaders;
}

std::optional<ModelledValues> glibcArgumentModel(StringRef module, StringRef version, StringRef function,
                                                  StringRef callee, long nr, int index) {
  if (module != "libc.so.6" || version != "2.36") return std::nullopt;
  // termios/tcsetattr.c (sysdeps/unix/sysv/linux): TCSANOW, TCSADRAIN, TCSAFLUSH become TCSETS, TCSETSW,
  // TCSETSF, anything else EINVAL; compiled as `cmp $2; ja` then `lea 0x5402(%r9)`.
  if (function == "tcsetattr" && callee.empty() && nr == 16 && index == 1)
    return ModelledValues{{0x5402, 0x5403, 0x5404}, "glibc 2.36 tcsetattr: TCSETS, TCSETSW or TCSETSF"};
  // nss/getaddrinfo.c: the source-address probe opens socket(q->ai_family, SOCK_DGRAM, IPPROTO_IP) for
  // each result, and getaddrinfo only makes AF_INET and AF_INET6 results (any other hint family is
  // EAI_FAMILY; the NSS modules are asked for those two families).
  // inet/rexec.c: rexec_af opens socket(ai->ai_family, ...) for getaddrinfo's results likewise.
  if ((function == "getaddrinfo" || function == "rexec_af") && (callee == "socket" || callee == "__socket") &&
      nr == 41 && index == 0)
    return ModelledValues{{2, 10}, "glibc 2.36 " + function.str() + ": AF_INET or AF_INET6 (getaddrinfo's results)"};
  // sysdeps/unix/sysv/linux/clone-internal.c: __clone_internal, the one caller of clone inside libc.so.6,
  // passes cl_args->flags | cl_args->exit_signal; its callers fill the struct with constants:
  // create_thread (pthread_create) CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|
  // CHILD_CLEARTID and no signal, __spawnix (posix_spawn) CLONE_VM|CLONE_VFORK and SIGCHLD.
  if ((callee == "clone" || callee == "__clone") && nr == 56 && index == 0)
    return ModelledValues{{0x3d0f00, 0x4111}, "glibc 2.36 __clone_internal: pthread_create's or posix_spawn's flags"};
  return std::nullopt;
}

bool isDlopen(StringRef f) { return f == "dlopen" || f == "dlmopen" || f == "__libc_dlopen_mode"; }

std::optional<ExecFunction> execFunction(StringRef f) {
  static const std::map<std::string, ExecFunction, std::less<>> table = {
      {"execve", {RDI, false}},  {"execv", {RDI, false}},       {"execl", {RDI, false}},
      {"execle", {RDI, false}},  {"execvp", {RDI, true}},       {"execvpe", {RDI, true}},
      {"execlp", {RDI, true}},   {"execveat", {RSI, false}},    {"posix_spawn", {RSI, false}},
      {"posix_spawnp", {RSI, true}}, {"fexecve", {-1, false}},
  };
  auto it = table.find(f);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

bool isNssDispatcher(StringRef f) {
  // glibc 2.36: every NSS lookup goes through __nss_database_get and then __nss_lookup / __nss_next2, which
  // load modules with __nss_lookup_function; getXbyY_r callers reach them through the per-database
  // __nss_DB_lookup2 functions.
  return f == "__nss_database_get" || f == "__nss_lookup_function" || f == "__nss_lookup" || f == "__nss_next2" ||
         f == "__nss_configure_lookup" || (f.starts_with("__nss_") && f.ends_with("_lookup2"));
}

bool isIconvOpen(StringRef f) { return f == "iconv_open"; }

bool isSetxidFunction(StringRef f) {
  static const std::set<std::string, std::less<>> names = {"setuid", "setgid", "seteuid", "setegid", "setreuid",
                                                           "setregid", "setresuid", "setresgid", "setgroups"};
  return names.count(f) > 0;
}

bool looksLikeSetxidHandler(llvm::ArrayRef<uint8_t> entry) {
  // `cmp $0x21,%edi`: if (sig != SIGSETXID) return; (SIGSETXID = SIGRTMIN + 1 = 33)
  return entry.size() >= 3 && entry[0] == 0x83 && entry[1] == 0xff && entry[2] == 0x21;
}

std::pair<std::string, std::string> detectLibc(const ElfModule &elf) {
  StringRef data(reinterpret_cast<const char *>(elf.bytes().data()), elf.bytes().size());
  size_t p = data.find("GNU C Library");
  if (p != StringRef::npos) {
    size_t v = data.find("release version ", p);
    if (v != StringRef::npos && v - p < 200) {
      StringRef rest = data.substr(v + 16, 16);
      size_t e = rest.find_first_not_of("0123456789.");
      return {"glibc", rest.substr(0, e).rtrim(".").str()};
    }
    return {"glibc", "unknown"};
  }
  if (data.contains("Fatal glibc error") || data.contains("glibc.malloc"))
    return {"glibc", "unknown"};
  // musl embeds no version banner; Debian's build leaves its source path ("/musl-1.2.3/") in the code.
  for (size_t m = data.find("/musl-"); m != StringRef::npos; m = data.find("/musl-", m + 1)) {
    StringRef rest = data.substr(m + 6, 16);
    size_t e = rest.find_first_not_of("0123456789.");
    if (e > 0 && e != StringRef::npos && isdigit(static_cast<unsigned char>(rest[0])))
      return {"musl", rest.substr(0, e).str()};
  }
  std::string fn = elf.fileName();
  if (StringRef(fn).starts_with("ld-musl") || StringRef(fn).starts_with("libc.musl"))
    return {"musl", "unknown"};
  for (const ElfSymbol &s : elf.staticSymbols())
    if (s.name == "__init_libc" || s.name == "__libc_start_init")
      return {"musl", "unknown"};
  return {};
}

} // namespace bespoke
