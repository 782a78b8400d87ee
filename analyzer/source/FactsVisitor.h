// FactsVisitor: one translation unit's facts from its Clang AST: the functions it defines and why each
// runs (main, constructors, callbacks, escaping addresses), every call with its constant arguments (values
// propagated from locals written once), indirect calls by type, inline-asm syscalls, string paths. The
// compile-database side (commands, threads, merging the units) is ClangFrontend.cpp's.
#pragma once

#include "analyzer/source/SourceFacts.h"

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace clang {
class ASTContext;
}

namespace bespoke::source {

// One translation unit's facts.
struct FunctionRecord {
  SourceFunction fn;
  bool realDefinition = false;   // a body that is emitted in this TU
  bool inlineDefinition = false; // an inline-only body (C99 inline, gnu_inline extern inline)
};

struct TUResult {
  std::string file; // absolute main file
  bool analysed = false;
  std::optional<SourceProblem> problem;
  std::vector<FunctionRecord> functions;
  std::vector<SourceCall> calls;
  std::vector<InlineAsmSyscall> inlineAsm;
};

// Reads the whole AST of one translation unit into `out` (functions, calls, inline asm).
void collectTUFacts(clang::ASTContext &ctx, const std::string &workingDir, TUResult &out);

// `..` is resolved on the file system (a lexical removal is wrong across a symlink such as /lib ->
// usr/lib); other symlinks are kept as written.
std::string absolutePath(llvm::StringRef path, llvm::StringRef workingDir);

// Keeps the strongest reason a function runs; among equals, the smallest description (deterministic).
void raiseEntry(SourceFunction &f, EntryKind k, const std::string &why);

} // namespace bespoke::source
