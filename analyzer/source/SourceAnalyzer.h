// SourceAnalyzer: the syscall footprint of a program from its source facts (ClangFrontend) and the
// binary analyzer's model of the libraries it links. Stage entry point of analyzer/ for source code.
#pragma once

#include "analyzer/BinaryAnalyzer.h"
#include "analyzer/Footprint.h"
#include "analyzer/source/SourceFacts.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace bespoke {

struct SourceAnalysisOptions {
  // What models the calls into code without source: a linked executable (its whole closure: use the
  // program's own binary, as `--binary` does) or a library (glibc's libc.so.6, musl's libc.so).
  // Empty: guessed from the compiler (musl-gcc -> musl's libc.so, else the system's libc.so.6).
  std::string library;
  std::string appName;       // manifest app.name (default: the directory of the compile database)
  std::string appPath;       // manifest app.path (default: the compile database)
  std::string appSha256;     // manifest app.sha256 (default: of the compile database file)
  BinaryAnalysisOptions binary; // cache, jobs, progress for the library model
};

// The libc a compiler links by default: "/usr/lib/x86_64-linux-musl/libc.so" for musl-gcc, else the
// glibc libc.so.6 the loader would find. Empty if neither exists.
std::string defaultLibraryFor(const std::string &compiler, const LoaderOptions &loader);

// Whole program: call graph over defined functions (direct calls; indirect calls to address-taken
// functions of the same type, or to all of them when the type was cast away), reachable from main,
// constructors/destructors and functions handed to the library (callbacks, escaping addresses). Calls
// to functions without source are resolved through `library` (analyzeLibraryCalls); syscall() with a
// constant number directly. Argument facts of the listed APIs are attached to their syscalls;
// /proc, /sys and /dev path literals go to kernel.paths. Translation units that failed, non-constant
// syscall() numbers, inline-asm syscalls and calls no model exports are `unresolved`.
llvm::Expected<Footprint> analyzeSource(const SourceFacts &facts, const SourceAnalysisOptions &opts);

// Cross-check of two footprints of the same program: syscall names only one of them has.
struct FootprintDiff {
  std::vector<std::string> onlyInFirst, onlyInSecond;
};
FootprintDiff diffSyscalls(const Footprint &first, const Footprint &second);

// `into` gains the syscalls (with their evidence), unresolved sites and kernel paths of `from`.
void mergeFootprint(Footprint &into, const Footprint &from);

} // namespace bespoke
