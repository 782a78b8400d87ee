// X86Registers: the numbering of the sixteen x86-64 general-purpose registers shared by the abstract
// state, the decoder, the module model (AbsValue::reg, RegValue::reg) and the whole-program analysis.
// The numbers are the hardware encoding order, so they are stable across LLVM versions and in the cache.
#pragma once

#include "llvm/ADT/StringRef.h"

namespace bespoke {

constexpr int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7, R8 = 8, R9 = 9,
              R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;
constexpr int NumGprs = 16;
// The registers of a syscall's arguments 1 to 6, in order.
constexpr int SyscallArgRegs[6] = {RDI, RSI, RDX, R10, R8, R9};
// Not a register of the state: the decoder's number for %rip as a memory operand's base.
constexpr int GprRip = 100;

// Lower-case 64-bit names ("rax" .. "r15"), indexed by register number.
constexpr const char *GprNames[NumGprs] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                           "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

// The number of a 64-bit register name as GprNames spells it, or -1.
inline int gprNumber(llvm::StringRef name) {
  for (int r = 0; r < NumGprs; ++r)
    if (name == GprNames[r])
      return r;
  return -1;
}

} // namespace bespoke
