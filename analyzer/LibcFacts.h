// LibcFacts: what the analysis knows about C library functions by name and about C libraries by their
// contents. Kept in one place because it is knowledge about libc, not about machine code: the functions
// that never return, those that take a file path, dlopen, and which libc (and version) a module is.
#pragma once

#include "analyzer/ElfModule.h"

#include "llvm/ADT/StringRef.h"

#include <string>
#include <utility>

namespace bespoke {

// Imported functions that never return (exit, abort, __stack_chk_fail, longjmp, __cxa_throw, ...):
// a call to one ends its block, and a function whose every way out is one of them does not return.
bool isNoReturnImport(llvm::StringRef function);

// For a C library function that takes a file path (open, fopen, openat, dlopen, execve, ...), the register
// holding the path (7 = rdi, 6 = rsi); -1 otherwise.
int pathArgumentRegister(llvm::StringRef function);
bool isDlopen(llvm::StringRef function);

// {"glibc" | "musl", version or "unknown"} when the module is a C library (or links one statically);
// {"", ""} otherwise.
std::pair<std::string, std::string> detectLibc(const ElfModule &elf);

} // namespace bespoke
