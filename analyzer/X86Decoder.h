// X86Decoder: the x86-64 instruction model the analysis works on. LLVM MC decodes the bytes; this file
// classifies opcodes into the few kinds the dataflow treats specially (Op), maps MC registers to the
// sixteen general-purpose register numbers, and reads memory operands and branch targets.
// LLVM's generated X86 opcode and register enums are not installed with llvm-19-dev, so both tables are
// derived from the names MC reports.
#pragma once

#include "analyzer/X86Registers.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/MC/MCAsmInfo.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCDisassembler/MCDisassembler.h"
#include "llvm/MC/MCInst.h"
#include "llvm/MC/MCInstrAnalysis.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bespoke {

// What the analysis needs to know about an opcode; everything else is handled generically from its
// MCInstrDesc (defined registers become unknown).
enum class Op : uint8_t {
  Other, MovRI8, MovRI32, MovRI64, Cmov32, Cmov64, TestRR, MovRR32, MovRR64, Movsx32, Xor32, Xor64, Lea64, Lea32, AddRI, SubRI, AddRI32, SubRI32,
  AndRI32, OrRI32, ShlRI32, ShrRI32,
  LoadRM64, LoadRM32, StoreMR64, StoreMR32, StoreMI, PushR, PushI, PopR, Leave,
  CallRel, CallReg, CallMem, JmpRel, JmpReg, JmpMem, Jcc, Ret, Syscall, Int, Sysenter, Trap, Nop
};

struct Insn {
  uint64_t addr;
  uint32_t size;
  Op op;
  llvm::MCInst inst;
};

// A memory operand: base and index as register numbers (GprRip for rip-relative, -1 for none).
// `valid` is false for segment-relative operands and bases outside the general-purpose registers.
struct MemOperand {
  int base = -1, index = -1;
  int64_t scale = 1;
  int64_t disp = 0;
  bool valid = false;
};

// LLVM MC objects for x86-64 plus the opcode and register tables. Not thread-safe (MC objects are not):
// one per thread.
class X86Machine {
public:
  X86Machine();

  bool ok() const { return Dis && MIA; }
  Op op(const llvm::MCInst &i) const { return Ops[i.getOpcode()]; }
  // Register number (0..15, GprRip) of an MC register, any width; -1 for others.
  int gpr(unsigned reg) const { return reg < Gpr.size() ? Gpr[reg] : -1; }
  const llvm::MCInstrDesc &desc(const llvm::MCInst &i) const { return MII->get(i.getOpcode()); }
  const llvm::MCRegisterInfo &regInfo() const { return *MRI; }

  // The memory operand whose five MC operands start at `first`.
  MemOperand memOperand(const llvm::MCInst &inst, unsigned first) const;
  // Index of the instruction's memory operand, or -1: the known layouts, else the first operand the
  // MC description types as memory (firstMemOperand).
  int memIndex(const Insn &in) const;
  int firstMemOperand(const llvm::MCInst &inst) const;
  // Absolute address of a rip-relative memory operand.
  std::optional<uint64_t> ripAddress(const Insn &in) const;
  bool branchTarget(const Insn &in, uint64_t &target) const;

  std::string Triple;
  const llvm::Target *T = nullptr;
  std::unique_ptr<llvm::MCRegisterInfo> MRI;
  std::unique_ptr<llvm::MCAsmInfo> MAI;
  std::unique_ptr<llvm::MCSubtargetInfo> STI;
  std::unique_ptr<llvm::MCInstrInfo> MII;
  std::unique_ptr<llvm::MCContext> Ctx;
  std::unique_ptr<llvm::MCDisassembler> Dis;
  std::unique_ptr<llvm::MCInstrAnalysis> MIA;
  std::vector<Op> Ops;
  std::vector<int> Gpr;
};

// The instructions of [start, end), decoded linearly from `bytes` (the contents of that range; empty
// when the range is not in the file). A byte that does not decode is skipped and counted.
struct DecodedRange {
  std::vector<Insn> insns;
  std::set<uint64_t> badAt; // addresses right after an undecodable byte
  uint32_t errors = 0;
};
DecodedRange decodeRange(const X86Machine &mc, llvm::ArrayRef<uint8_t> bytes, uint64_t start, uint64_t end);

} // namespace bespoke
