// X86Decoder: builds the LLVM MC objects and the opcode/register tables, reads operands, and decodes
// a range of code (see X86Decoder.h).
#include "analyzer/X86Decoder.h"

#include <algorithm>

#include "llvm/MC/MCTargetOptions.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <mutex>

using namespace llvm;

extern "C" void LLVMInitializeX86TargetInfo();
extern "C" void LLVMInitializeX86TargetMC();
extern "C" void LLVMInitializeX86Disassembler();

namespace bespoke {

X86Machine::X86Machine() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86Disassembler();
  });
  std::string err;
  Triple = "x86_64-unknown-linux-gnu";
  T = TargetRegistry::lookupTarget(Triple, err);
  if (!T)
    return;
  MRI.reset(T->createMCRegInfo(Triple));
  MCTargetOptions opts;
  MAI.reset(T->createMCAsmInfo(*MRI, Triple, opts));
  STI.reset(T->createMCSubtargetInfo(Triple, "", ""));
  MII.reset(T->createMCInstrInfo());
  Ctx = std::make_unique<MCContext>(llvm::Triple(Triple), MAI.get(), MRI.get(), STI.get());
  Dis.reset(T->createMCDisassembler(*STI, *Ctx));
  MIA.reset(T->createMCInstrAnalysis(MII.get()));

  static const std::map<std::string, Op> names = {
      {"MOV8ri", Op::MovRI8}, {"MOV8ri_alt", Op::MovRI8}, {"MOV32ri", Op::MovRI32}, {"MOV32ri_alt", Op::MovRI32}, {"MOV64ri", Op::MovRI64},
      {"MOV64ri32", Op::MovRI64}, {"MOV32rr", Op::MovRR32}, {"MOV32rr_REV", Op::MovRR32},
      {"MOV64rr", Op::MovRR64}, {"MOV64rr_REV", Op::MovRR64}, {"MOVSX64rr32", Op::Movsx32}, {"XOR32rr", Op::Xor32},
      {"XOR32rr_REV", Op::Xor32}, {"XOR64rr", Op::Xor64}, {"XOR64rr_REV", Op::Xor64},
      {"LEA64r", Op::Lea64}, {"LEA32r", Op::Lea32}, {"LEA64_32r", Op::Lea32},
      {"ADD64ri8", Op::AddRI}, {"ADD64ri32", Op::AddRI}, {"SUB64ri8", Op::SubRI}, {"SUB64ri32", Op::SubRI},
      {"ADD32ri8", Op::AddRI32}, {"ADD32ri", Op::AddRI32}, {"SUB32ri8", Op::SubRI32}, {"SUB32ri", Op::SubRI32},
      {"AND32ri8", Op::AndRI32}, {"AND32ri", Op::AndRI32}, {"OR32ri8", Op::OrRI32}, {"OR32ri", Op::OrRI32},
      {"SHL32ri", Op::ShlRI32}, {"SHR32ri", Op::ShrRI32},
      {"MOV64rm", Op::LoadRM64}, {"MOV32rm", Op::LoadRM32}, {"MOV64mr", Op::StoreMR64},
      {"MOV32mr", Op::StoreMR32}, {"MOV64mi32", Op::StoreMI}, {"MOV32mi", Op::StoreMI},
      {"PUSH64r", Op::PushR}, {"PUSH64i8", Op::PushI}, {"PUSH64i32", Op::PushI}, {"PUSH64i16", Op::PushI},
      {"POP64r", Op::PopR}, {"LEAVE64", Op::Leave}, {"LEAVE", Op::Leave},
      {"CALL64pcrel32", Op::CallRel}, {"CALL64r", Op::CallReg}, {"CALL64m", Op::CallMem},
      {"CALL64r_NT", Op::CallReg}, {"CALL64m_NT", Op::CallMem},
      {"JMP_1", Op::JmpRel}, {"JMP_2", Op::JmpRel}, {"JMP_4", Op::JmpRel},
      {"JMP64r", Op::JmpReg}, {"JMP64m", Op::JmpMem}, {"JMP64r_NT", Op::JmpReg}, {"JMP64m_NT", Op::JmpMem},
      {"JCC_1", Op::Jcc}, {"JCC_2", Op::Jcc}, {"JCC_4", Op::Jcc}, {"JCXZ", Op::Jcc}, {"JECXZ", Op::Jcc},
      {"JRCXZ", Op::Jcc}, {"LOOP", Op::Jcc}, {"LOOPE", Op::Jcc}, {"LOOPNE", Op::Jcc},
      {"RET64", Op::Ret}, {"RETI64", Op::Ret}, {"RET32", Op::Ret}, {"RETI32", Op::Ret},
      {"SYSCALL", Op::Syscall}, {"INT", Op::Int}, {"SYSENTER", Op::Sysenter},
      {"TRAP", Op::Trap}, {"UD1Lr", Op::Trap}, {"UD1Qr", Op::Trap}, {"UD1Wr", Op::Trap}, {"HLT", Op::Trap},
  };
  Ops.assign(MII->getNumOpcodes(), Op::Other);
  for (unsigned i = 0; i < MII->getNumOpcodes(); ++i) {
    StringRef name = MII->getName(i);
    auto it = names.find(name.str());
    if (it != names.end())
      Ops[i] = it->second;
    else if (name.starts_with("NOOP") || name == "NOP" || name == "INT3")
      Ops[i] = Op::Nop;
    else if (name == "TEST64rr") // 32-bit tests say nothing about the upper half
      Ops[i] = Op::TestRR;
    else if (name == "CMOV32rr" || name == "CMOV32rr_REV")
      Ops[i] = Op::Cmov32;
    else if (name == "CMOV64rr" || name == "CMOV64rr_REV")
      Ops[i] = Op::Cmov64;
  }
  static const char *gprNames[NumGprs][5] = {
      {"RAX", "EAX", "AX", "AL", "AH"},   {"RCX", "ECX", "CX", "CL", "CH"},
      {"RDX", "EDX", "DX", "DL", "DH"},   {"RBX", "EBX", "BX", "BL", "BH"},
      {"RSP", "ESP", "SP", "SPL", ""},    {"RBP", "EBP", "BP", "BPL", ""},
      {"RSI", "ESI", "SI", "SIL", ""},    {"RDI", "EDI", "DI", "DIL", ""},
      {"R8", "R8D", "R8W", "R8B", ""},    {"R9", "R9D", "R9W", "R9B", ""},
      {"R10", "R10D", "R10W", "R10B", ""}, {"R11", "R11D", "R11W", "R11B", ""},
      {"R12", "R12D", "R12W", "R12B", ""}, {"R13", "R13D", "R13W", "R13B", ""},
      {"R14", "R14D", "R14W", "R14B", ""}, {"R15", "R15D", "R15W", "R15B", ""}};
  std::map<std::string, int> byName;
  for (int g = 0; g < NumGprs; ++g)
    for (const char *n : gprNames[g])
      if (*n)
        byName[n] = g;
  byName["RIP"] = GprRip;
  Gpr.assign(MRI->getNumRegs(), -1);
  for (unsigned r = 1; r < MRI->getNumRegs(); ++r) {
    auto it = byName.find(MRI->getName(r));
    if (it != byName.end())
      Gpr[r] = it->second;
  }
}

MemOperand X86Machine::memOperand(const MCInst &inst, unsigned first) const {
  MemOperand m;
  if (first + 3 >= inst.getNumOperands())
    return m;
  const MCOperand &b = inst.getOperand(first), &ix = inst.getOperand(first + 2), &d = inst.getOperand(first + 3);
  if (!b.isReg() || !ix.isReg() || !d.isImm())
    return m;
  m.base = b.getReg() ? gpr(b.getReg()) : -1;
  m.index = ix.getReg() ? gpr(ix.getReg()) : -1;
  m.disp = d.getImm();
  if (inst.getOperand(first + 1).isImm()) m.scale = inst.getOperand(first + 1).getImm();
  m.valid = true;
  if (b.getReg() && m.base < 0) m.valid = false;
  if (first + 4 < inst.getNumOperands() && inst.getOperand(first + 4).isReg() && inst.getOperand(first + 4).getReg())
    m.valid = false; // fs:/gs: segment
  return m;
}

// LEA's address operands are not typed as memory in the MC descriptions: known layouts first.
int X86Machine::memIndex(const Insn &in) const {
  switch (in.op) {
  case Op::Lea64: case Op::Lea32: case Op::LoadRM64: case Op::LoadRM32: return 1;
  case Op::StoreMR64: case Op::StoreMR32: case Op::StoreMI: case Op::CallMem: case Op::JmpMem: return 0;
  default: return firstMemOperand(in.inst);
  }
}

int X86Machine::firstMemOperand(const MCInst &inst) const {
  const MCInstrDesc &d = desc(inst);
  for (unsigned i = 0; i < d.getNumOperands() && i < inst.getNumOperands(); ++i)
    if (d.operands()[i].OperandType == MCOI::OPERAND_MEMORY)
      return int(i);
  return -1;
}

std::optional<uint64_t> X86Machine::ripAddress(const Insn &in) const {
  int mo = memIndex(in);
  if (mo < 0) return std::nullopt;
  MemOperand m = memOperand(in.inst, unsigned(mo));
  if (m.valid && m.base == GprRip && m.index < 0)
    return in.addr + in.size + uint64_t(m.disp);
  return std::nullopt;
}

bool X86Machine::branchTarget(const Insn &in, uint64_t &target) const {
  return MIA->evaluateBranch(in.inst, in.addr, in.size, target);
}

DecodedRange decodeRange(const X86Machine &mc, ArrayRef<uint8_t> bytes, uint64_t start, uint64_t end) {
  DecodedRange out;
  // MCInst's move is not noexcept, so growing the vector copies every instruction: reserve for the
  // average x86-64 instruction (about 4 bytes) up front.
  out.insns.reserve(size_t(std::min<uint64_t>(end - start, bytes.size()) / 4 + 1));
  uint64_t addr = start;
  while (addr < end && !bytes.empty()) {
    Insn in;
    uint64_t size = 0;
    auto st = mc.Dis->getInstruction(in.inst, size, bytes.slice(addr - start), addr, nulls());
    if (st != MCDisassembler::Success || size == 0) {
      ++out.errors;
      out.badAt.insert(addr + 1);
      addr += 1;
      continue;
    }
    in.addr = addr;
    in.size = uint32_t(size);
    in.op = mc.op(in.inst);
    out.insns.push_back(std::move(in));
    addr += size;
  }
  return out;
}

} // namespace bespoke
