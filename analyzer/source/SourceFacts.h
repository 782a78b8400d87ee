// SourceFacts: what the Clang front end reads from a program's translation units, merged over all of
// them. The data type between the front end (ClangFrontend) and the whole-program source analysis
// (SourceAnalyzer), which links it with the binary analyzer's library models into a Footprint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bespoke {

// A place in the source: absolute file path and 1-based line (0 when unknown).
struct SourceLoc {
  std::string file;
  unsigned line = 0;
};

// Why a function runs without being called by name.
enum class EntryKind : uint8_t {
  None,
  Main,          // int main(...)
  Constructor,   // __attribute__((constructor))
  Destructor,    // __attribute__((destructor))
  Callback,      // handed to signal / sigaction / atexit / on_exit / pthread_create / clone / qsort / ...
  Escaping,      // address taken and stored where the analysis cannot follow (assumed callable)
};

// One function known to the program: defined in some translation unit, or only declared (an external,
// e.g. a libc function: resolved later by name through the library models).
struct SourceFunction {
  std::string usr;      // clang USR: the key across translation units (static functions get a TU-unique USR)
  std::string name;     // plain name, e.g. "main", "open"
  std::string type;     // canonical function type, e.g. "int (const char *, int, ...)"; used to match
                        // indirect calls with address-taken functions
  SourceLoc loc;        // the definition (or first declaration for externals)
  bool defined = false; // has a body in some translation unit
  bool addressTaken = false; // its address is taken anywhere (not just called)
  // Added by the front end (ClangFrontend):
  std::string symbol;   // the name the linker sees: the assembler label when there is one (glibc's
                        // __REDIRECT: __open_alias -> "open", open -> "open64"), else `name`
  bool inlineOnly = false;   // every body seen is inline-only (C99 `inline` without extern, gnu_inline
                             // `extern inline`, e.g. glibc's _FORTIFY_SOURCE wrappers of open/read): a
                             // call runs this body or the external definition of `symbol` (e.g. libc's)
  bool typeCastAway = false; // its address is converted to another type somewhere (another function
                             // pointer type, void *, an integer): an indirect call of any type may reach it
  EntryKind entry = EntryKind::None;
  std::string entryWhy; // e.g. "passed to signal at foo.c:12"
};

// A constant-evaluated argument at a call site: the value (integers in decimal; string literals as
// the string itself), or `known == false` when the argument is not a compile-time constant.
struct ArgValue {
  bool known = false;
  bool isString = false;
  int64_t value = 0;
  std::string text; // string literal contents when isString
  // An element of a constant table picked by a run-time index (`syscall(tab[i][0], ...)` with
  // `static const long tab[][N]`): every value it can be, sorted, at least two; `value` is the first.
  std::vector<int64_t> alternatives;
};

// One call from a defined function.
struct SourceCall {
  std::string callerUsr;
  SourceLoc loc;
  // Direct call: the callee's USR. Indirect call (through a pointer): empty, and `indirectType` is
  // the canonical function type of the call; `typeCastAway` when the pointer's type came from a cast
  // that drops the original function type (then any address-taken function is a possible target).
  std::string calleeUsr;
  std::string indirectType;
  bool typeCastAway = false;
  // Arguments, evaluated as constants where possible, for calls to the APIs whose arguments matter
  // (syscall, socket, socketpair, ioctl, open, openat, open64, fopen, creat, mmap, mprotect, prctl,
  // fcntl, clone, and the like). Empty for other calls.
  std::vector<ArgValue> args;
};

// A `syscall` instruction in inline assembly (GNU asm statement whose text contains "syscall").
struct InlineAsmSyscall {
  std::string functionUsr;
  SourceLoc loc;
};

// A translation unit that could not be analysed (a compile error, a missing file).
struct SourceProblem {
  std::string file;    // the translation unit's main file (or the compile database entry)
  std::string message; // one line
};

struct SourceFacts {
  std::vector<SourceFunction> functions; // unique by usr, sorted by usr
  std::vector<SourceCall> calls;         // sorted by (callerUsr, loc)
  std::vector<InlineAsmSyscall> inlineAsm;
  std::vector<SourceProblem> problems;   // non-empty: the analysis is incomplete
  std::vector<std::string> translationUnits; // main files analysed, sorted
  std::string compiler;  // the compiler of the first compile command (e.g. "/usr/bin/musl-gcc"), to guess
                         // which libc the program links when no --binary is given
};

} // namespace bespoke
