// RunTimeCode: the places where a process brings in code its ELF closure does not name — calls of dlopen
// and of the exec family, the C library's plugin systems (NSS, gconv) and the plugin loaders of libpam and
// libcrypto — found on a walked Program. What a site loads is decided by the caller (BinaryAnalyzer): a
// constant path, the machine's configuration, a flag or an observed run. Also the functions whose
// non-constant syscall is glibc's setxid broadcast.
//
// A site's path argument is followed through wrappers the way syscall numbers are: a function that passes
// its own argument on to dlopen or an exec function is a loader too, and its callers are the sites.
#pragma once

#include "analyzer/ElfModule.h"
#include "analyzer/Program.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bespoke {

// A call that loads code: dlopen (or a function passing its argument on to it) or an exec function.
struct CodeSite {
  uint32_t function = 0;            // the caller (global id)
  uint64_t site = 0;                // the call instruction
  uint32_t callee = 0;              // what it calls: dlopen, execvp, a wrapper of them, a PLT slot
  std::vector<std::string> values;  // the constant path(s) or name(s) it passes; empty when not constant
  bool searchesPath = false;        // exec: a name without '/' is looked up in PATH (execvp, posix_spawnp)
  std::string why;                  // when not constant: why not, for the reviewer
};

// Where one function of the program is first reached: the function and the address to show.
struct Reached {
  uint32_t function = 0;
  uint64_t site = 0;
};

struct RunTimeSites {
  std::vector<CodeSite> dlopens; // every reachable dlopen site outside the loaders' own implementation
  std::vector<CodeSite> execs;   // every reachable exec site outside the C library's own implementation, and
                                 // every execve/execveat syscall made outside an exec function (a stripped
                                 // static program's), whose program the analysis cannot name
  // Non-constant dlopen sites inside libpam and libcrypto: those libraries load the modules their
  // configuration names (the PAM stack, OpenSSL providers and engines).
  std::vector<CodeSite> pamDlopens, opensslDlopens;
  std::optional<Reached> nssDispatcher; // glibc's NSS dispatcher, when reachable
  std::optional<Reached> iconvOpen;     // iconv_open / __gconv_open, when reachable
  bool staticNss = false;               // a stripped static glibc program that holds NSS code
  // Functions whose syscall number is read from memory because they are glibc's setxid broadcast
  // (__nptl_setxid and the SIGSETXID handler): the number is one of the set*id calls the program reaches.
  std::set<uint32_t> setxidFunctions;
};

// Per module of the Program (same order): the ELF file (strings at constant addresses, code bytes), and
// whether it is a shared C library or the dynamic loader, whose own non-constant dlopen and exec calls are
// the implementation of the functions the program calls (the program's calls are the sites).
struct RunTimeModule {
  const ElfModule *elf = nullptr;
  bool implementation = false;
};

// `wrappers`: inferWrappers(p), to find execve made through a syscall wrapper (syscall(SYS_execve, ...)).
RunTimeSites findRunTimeSites(const Program &p, const Reach &r, const std::vector<RunTimeModule> &modules,
                              const std::vector<uint16_t> &wrappers);

} // namespace bespoke
