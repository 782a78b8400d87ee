// ClangFrontend: reads a program's translation units (from a compile_commands.json) with Clang and
// returns what the source analysis needs, merged over all of them: functions, direct and indirect calls,
// entry points, constant arguments of the calls whose arguments matter, and `syscall` in inline assembly.
//
// Each translation unit is parsed once (syntax only), in parallel, with the flags of its compile command
// run through Clang's own driver in the mode the compiler's name implies (gcc-style commands included:
// options clang does not know are dropped, musl-gcc's include directories are made explicit, the Clang
// resource directory is supplied, errors gcc would only warn about are downgraded). A TU with an error
// contributes no facts, only a SourceProblem. What the AST walk records:
//  - every function defined in the TU (inline functions only when the TU refers to them), or called, or
//    whose address is taken; keyed by clang USR, to which a function without external linkage (static)
//    gets "@" and the TU's main file appended (clang's USR names only the base name of its file);
//  - direct calls (caller, callee, file:line of the call's file-level location; also cleanup-attribute
//    calls) and indirect calls (the canonical function type called; `typeCastAway` when the callee
//    expression casts to a function pointer type);
//  - entry kinds: main, constructor/destructor attributes, functions passed to a callback API
//    (isCallbackApi), other address-taken functions (Escaping);
//  - argument values of calls to isArgumentApi functions: integer constants (folded by Clang, including
//    enum constants and macros), string literals, null/integer pointers, and locals (or file-scope
//    constants) whose single value is known: a const or never-reassigned local with a constant
//    initializer, or an uninitialized local assigned exactly once, whose address is never taken.
//    Anything else: known=false;
//  - a function whose address is converted to another type (cast to a different function pointer type,
//    to void *, to an integer) is marked `typeCastAway`: an indirect call of any type may reach it.
//  - C++: `symbol` is the mangled name; constructors, destructors (locals, temporaries, delete; objects
//    with static storage make theirs a Callback), operator new/delete; a virtual call is also an
//    indirect call of the method's type, and defined virtual methods count as address-taken; calls in a
//    global's initializer make the callee a Constructor entry.
// Not seen: function pointers that change type through a variable of another pointer type without a cast
// at the call; code in assembly sources (reported as a problem, with their `syscall` lines).
#pragma once

#include "analyzer/source/SourceFacts.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <string>

namespace bespoke {

struct FrontendOptions {
  unsigned jobs = 0;                                 // 0: one per core
  std::function<void(const std::string &)> progress; // optional, one line per translation unit
};

// Callee names whose arguments are evaluated (SourceCall::args): syscall, socket, socketpair, ioctl,
// open, open64, openat, openat64, creat, creat64, fopen, fopen64, freopen, freopen64, opendir, mmap,
// mmap64, mprotect, madvise, prctl, fcntl, fcntl64, clone, clone3, accept4, pipe2, dup3, eventfd,
// epoll_create1, signalfd, timerfd_create, inotify_init1, memfd_create, setsockopt, getsockopt,
// personality, unshare, setns, ptrace, access, faccessat, stat, stat64, lstat, lstat64, statx, readlink,
// readlinkat, execve, execv, execvp, mount, umount2. A callee matches by its name or its assembler label,
// if it has C language linkage (not a C++ method, not a static function of the program).
bool isArgumentApi(const std::string &name);

// Functions that call a function pointer argument later (its target becomes EntryKind::Callback):
// signal, sigset, bsd_signal, sysv_signal, atexit, at_quick_exit, on_exit, __cxa_atexit, pthread_create,
// pthread_once, pthread_atfork, pthread_key_create, thrd_create, call_once, tss_create, clone, qsort,
// qsort_r, bsearch, tsearch, tfind, tdelete, twalk, twalk_r, lsearch, lfind, ftw, nftw, scandir,
// scandirat, glob, dl_iterate_phdr, makecontext, __libc_start_main.
bool isCallbackApi(const std::string &name);

// Loads the compile database (an error names the file: missing, unreadable, malformed, not an array, no
// entries) and analyses every entry. A missing source file or a TU that does not compile is a
// SourceProblem, not an error. The result is sorted as SourceFacts documents and does not depend on
// `jobs` or on thread scheduling.
llvm::Expected<SourceFacts> collectSourceFacts(const std::string &compileCommandsPath, const FrontendOptions &opts);

} // namespace bespoke
