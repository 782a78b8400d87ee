// AbstractState: the abstract domain of the per-function dataflow. AbsValue is what one register or
// stack slot may hold (it is also stored in the ModuleModel, at syscall sites and call edges); State is
// the registers and stack slots at one program point, with the join the fixpoint uses at merges.
// Kept apart from the transfer function (FunctionAnalysis) so the domain can be read and tested alone.
#pragma once

#include "analyzer/X86Registers.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace bespoke {

// Abstract value of a register or stack slot: a small set of constants, the value some register had
// at function entry (for syscall wrappers), a 32-bit function of such a value (Derived), an address in
// the current stack frame, or unknown.
struct AbsValue {
  enum Kind : uint8_t { Bot, Const, Entry, Stack, Top, Derived };
  // Derived: the low 32 bits are the entry register's low 32 bits put through 32-bit operations with
  // immediates, in order (c[2i] the operation, c[2i+1] its operand, n = 2 × their number): what
  // `lea 0x5402(%r9),%esi` or `shl $15,%esi; and $0x10000000,%esi; or $0x11,%esi` make of an argument.
  // The resolver evaluates them on the constants callers pass. The upper half is not modelled: every
  // use of a derived value (an argument fact) reads its low 32 bits.
  enum DerivedOp : uint8_t { Add32 = 1, And32, Or32, Shl32, Shr32 };
  static constexpr int MaxConsts = 8;
  static constexpr int MaxOps = MaxConsts / 2;
  Kind kind = Top;
  uint8_t reg = 0; // Entry, Derived: register number (0=rax .. 15=r15)
  uint8_t n = 0;   // Const: number of constants; Derived: words of operations
  uint64_t c[MaxConsts] = {}; // Const: sorted constants; Stack: c[0] = offset from entry rsp; Derived: operations

  static AbsValue top() { return {}; }
  static AbsValue bottom() { AbsValue v; v.kind = Bot; return v; }
  static AbsValue constant(uint64_t x) { AbsValue v; v.kind = Const; v.n = 1; v.c[0] = x; return v; }
  static AbsValue entry(int r) { AbsValue v; v.kind = Entry; v.reg = uint8_t(r); return v; }
  static AbsValue stack(int64_t off) { AbsValue v; v.kind = Stack; v.c[0] = uint64_t(off); return v; }
  bool operator==(const AbsValue &o) const;
  bool operator!=(const AbsValue &o) const { return !(*this == o); }
  // Least upper bound: constant sets merge up to MaxConsts, anything else that differs is Top.
  AbsValue join(const AbsValue &o) const;

  // The value plus `k`: constants and frame addresses shift, anything else is unknown.
  AbsValue plus(int64_t k) const;
  // What a 32-bit register write leaves: the CPU zero-extends, so constants lose their upper half and a
  // frame address (64 bits wide) is unknown. Entry values are kept as they are.
  AbsValue zeroExtended32() const;
  // What movslq leaves: constants sign-extended from their low half; entry values kept (their low 32
  // bits are the entry value's, which is what every use of one reads); a frame address is unknown.
  AbsValue signExtended32() const;
  // Constants with their low byte replaced by `byte` (a write to %al keeps %rax's upper bytes).
  AbsValue withLowByte(uint8_t byte) const;
  // The result of a 32-bit operation with an immediate (add, and, or, shl, shr): constants computed, an
  // entry or derived value extended by the operation (top beyond MaxOps), anything else top.
  AbsValue op32(DerivedOp op, uint64_t k) const;
  // A derived value's low 32 bits when its entry register held x (an entry value: x's low 32 bits).
  uint64_t evaluate(uint64_t x) const;
  // This entry or derived value in the terms of a caller that passed `arg` (an entry or derived value of
  // the caller's) in its register: arg's operations, then this one's; top when they do not fit.
  AbsValue after(const AbsValue &arg) const;
  static uint64_t apply32(DerivedOp op, uint64_t k, uint64_t x);
};

// Registers and stack slots at one program point.
struct State {
  AbsValue reg[NumGprs];
  std::vector<std::pair<int64_t, AbsValue>> slots; // stack slots by offset from entry rsp (sorted)
  bool reached = false;

  // At a function's entry every register holds its entry value (for wrappers) and rsp points at the
  // return address.
  static State atFunctionEntry();
  // Reached, but nothing known: code entered from where the analysis cannot see.
  static State unknown();

  AbsValue slot(int64_t off) const;
  void setSlot(int64_t off, const AbsValue &v);
  // A store of unknown width at `off` clobbers the slots it may overlap.
  void killSlotsAround(int64_t off);
  // Joins `o` into this state (slots known on one side only become unknown); true when this changed.
  bool joinWith(const State &o);
};

} // namespace bespoke
