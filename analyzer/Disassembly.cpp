// Builds a ModuleModel: finds functions (symbols, .eh_frame FDEs, PLT slots, call and jump targets,
// address-taken code), disassembles them with LLVM MC and runs a small constant/entry-value dataflow per
// function to resolve the syscall number (%rax) at every `syscall` and the argument registers at every call.
#include "analyzer/ModuleModel.h"
#include "analyzer/KernelEntries.h"

#include "llvm/BinaryFormat/ELF.h"
#include "llvm/MC/MCAsmInfo.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCDisassembler/MCDisassembler.h"
#include "llvm/MC/MCInst.h"
#include "llvm/MC/MCInstrAnalysis.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/MCTargetOptions.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/LEB128.h"
#include "llvm/Support/TargetSelect.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

using namespace llvm;

extern "C" void LLVMInitializeX86TargetInfo();
extern "C" void LLVMInitializeX86TargetMC();
extern "C" void LLVMInitializeX86Disassembler();

namespace bespoke {

// ---------------------------------------------------------------------------------------------------
// Abstract values

bool AbsValue::operator==(const AbsValue &o) const {
  if (kind != o.kind)
    return false;
  switch (kind) {
  case Const:
    return n == o.n && std::equal(c, c + n, o.c);
  case Entry:
    return reg == o.reg;
  case Stack:
    return c[0] == o.c[0];
  default:
    return true;
  }
}

AbsValue AbsValue::join(const AbsValue &o) const {
  if (kind == Bot)
    return o;
  if (o.kind == Bot)
    return *this;
  if (*this == o)
    return *this;
  if (kind == Const && o.kind == Const) {
    uint64_t merged[2 * MaxConsts];
    uint64_t *end = std::set_union(c, c + n, o.c, o.c + o.n, merged);
    if (end - merged > MaxConsts)
      return top();
    AbsValue v;
    v.kind = Const;
    v.n = uint8_t(end - merged);
    std::copy(merged, end, v.c);
    return v;
  }
  return top();
}

namespace {

constexpr int RAX = 0, RCX = 1, RDX = 2, RSP = 4, RBP = 5, RSI = 6, RDI = 7, R8 = 8, R9 = 9, R10 = 10,
              R11 = 11;
constexpr int NumGprs = 16;
constexpr int GprRip = 100;

// What the analysis needs to know about an opcode; everything else is handled generically from its
// MCInstrDesc (defined registers become unknown).
enum class Op : uint8_t {
  Other, MovRI8, MovRI32, MovRI64, Cmov32, Cmov64, TestRR, MovRR32, MovRR64, Xor32, Xor64, Lea64, Lea32, AddRI, SubRI, AddRI32, SubRI32,
  LoadRM64, LoadRM32, StoreMR64, StoreMR32, StoreMI, PushR, PushI, PopR, Leave,
  CallRel, CallReg, CallMem, JmpRel, JmpReg, JmpMem, Jcc, Ret, Syscall, Int, Sysenter, Trap, Nop
};

// LLVM MC objects for x86-64 plus opcode and register tables derived from their names (the generated
// X86 enums are not installed with llvm-19-dev).
class X86Machine {
public:
  X86Machine() {
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
        {"MOV64rr", Op::MovRR64}, {"MOV64rr_REV", Op::MovRR64}, {"XOR32rr", Op::Xor32},
        {"XOR32rr_REV", Op::Xor32}, {"XOR64rr", Op::Xor64}, {"XOR64rr_REV", Op::Xor64},
        {"LEA64r", Op::Lea64}, {"LEA32r", Op::Lea32}, {"LEA64_32r", Op::Lea32},
        {"ADD64ri8", Op::AddRI}, {"ADD64ri32", Op::AddRI}, {"SUB64ri8", Op::SubRI}, {"SUB64ri32", Op::SubRI},
        {"ADD32ri8", Op::AddRI32}, {"ADD32ri", Op::AddRI32}, {"SUB32ri8", Op::SubRI32}, {"SUB32ri", Op::SubRI32},
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

  bool ok() const { return Dis && MIA; }
  Op op(const MCInst &i) const { return Ops[i.getOpcode()]; }
  int gpr(unsigned reg) const { return reg < Gpr.size() ? Gpr[reg] : -1; }
  const MCInstrDesc &desc(const MCInst &i) const { return MII->get(i.getOpcode()); }
  const MCRegisterInfo &regInfo() const { return *MRI; }

  std::string Triple;
  const Target *T = nullptr;
  std::unique_ptr<MCRegisterInfo> MRI;
  std::unique_ptr<MCAsmInfo> MAI;
  std::unique_ptr<MCSubtargetInfo> STI;
  std::unique_ptr<MCInstrInfo> MII;
  std::unique_ptr<MCContext> Ctx;
  std::unique_ptr<MCDisassembler> Dis;
  std::unique_ptr<MCInstrAnalysis> MIA;
  std::vector<Op> Ops;
  std::vector<int> Gpr;
};

// ---------------------------------------------------------------------------------------------------
// .eh_frame: FDE address ranges give function boundaries in stripped objects.

int64_t readEncoded(ArrayRef<uint8_t> d, size_t &p, uint8_t enc, uint64_t sectionAddr, bool &ok) {
  if (enc == 0xff) // DW_EH_PE_omit
    return 0;
  uint64_t fieldAddr = sectionAddr + p;
  int64_t v = 0;
  auto need = [&](size_t n) { if (p + n > d.size()) { ok = false; return false; } return true; };
  switch (enc & 0x0f) {
  case 0x00: // absptr
  case 0x04: // udata8
  case 0x0c: // sdata8
    if (!need(8)) return 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | d[p + i];
    p += 8;
    break;
  case 0x03: // udata4
    if (!need(4)) return 0;
    v = uint32_t(d[p] | d[p + 1] << 8 | d[p + 2] << 16 | uint32_t(d[p + 3]) << 24);
    p += 4;
    break;
  case 0x0b: // sdata4
    if (!need(4)) return 0;
    v = int32_t(d[p] | d[p + 1] << 8 | d[p + 2] << 16 | uint32_t(d[p + 3]) << 24);
    p += 4;
    break;
  case 0x02: // udata2
    if (!need(2)) return 0;
    v = uint16_t(d[p] | d[p + 1] << 8);
    p += 2;
    break;
  case 0x0a:
    if (!need(2)) return 0;
    v = int16_t(d[p] | d[p + 1] << 8);
    p += 2;
    break;
  case 0x01: { // uleb128
    unsigned n = 0;
    v = decodeULEB128(d.data() + p, &n, d.data() + d.size());
    if (!n) { ok = false; return 0; }
    p += n;
    break;
  }
  case 0x09: {
    unsigned n = 0;
    v = decodeSLEB128(d.data() + p, &n, d.data() + d.size());
    if (!n) { ok = false; return 0; }
    p += n;
    break;
  }
  default:
    ok = false;
    return 0;
  }
  if ((enc & 0x70) == 0x10) // pcrel
    v += int64_t(fieldAddr);
  return v;
}

std::vector<std::pair<uint64_t, uint64_t>> parseEhFrame(const ElfModule &elf) {
  std::vector<std::pair<uint64_t, uint64_t>> fdes;
  for (const ElfSection &s : elf.sections()) {
    if (s.name != ".eh_frame" || !s.alloc)
      continue;
    ArrayRef<uint8_t> d = elf.contentsAt(s.addr, s.size);
    std::map<size_t, uint8_t> cieEncoding;
    size_t p = 0;
    while (p + 4 <= d.size()) {
      size_t start = p;
      uint64_t len = uint32_t(d[p] | d[p + 1] << 8 | d[p + 2] << 16 | uint32_t(d[p + 3]) << 24);
      p += 4;
      if (len == 0)
        break;
      if (len == 0xffffffff) { // 64-bit DWARF: not produced for x86-64 eh_frame in practice
        break;
      }
      size_t end = p + len;
      if (end > d.size() || len < 4)
        break;
      size_t idPos = p;
      uint32_t id = uint32_t(d[p] | d[p + 1] << 8 | d[p + 2] << 16 | uint32_t(d[p + 3]) << 24);
      p += 4;
      bool ok = true;
      if (id == 0) { // CIE
        uint8_t enc = 0; // absptr
        if (p >= end) break;
        p += 1; // version
        std::string aug;
        while (p < end && d[p]) aug += char(d[p++]);
        ++p;
        unsigned n = 0;
        decodeULEB128(d.data() + p, &n, d.data() + end); p += n; // code align
        decodeSLEB128(d.data() + p, &n, d.data() + end); p += n; // data align
        decodeULEB128(d.data() + p, &n, d.data() + end); p += n; // return register
        if (!aug.empty() && aug[0] == 'z') {
          decodeULEB128(d.data() + p, &n, d.data() + end); p += n;
          for (size_t i = 1; i < aug.size() && p < end && ok; ++i) {
            if (aug[i] == 'R') enc = d[p++];
            else if (aug[i] == 'L') ++p;
            else if (aug[i] == 'P') { uint8_t penc = d[p++]; readEncoded(d.slice(0, end), p, penc & 0x7f, s.addr, ok); }
            else if (aug[i] == 'S' || aug[i] == 'B') {}
            else break;
          }
        }
        cieEncoding[start] = enc;
      } else {
        size_t ciePos = idPos - id;
        auto it = cieEncoding.find(ciePos);
        uint8_t enc = it == cieEncoding.end() ? 0x1b : it->second;
        int64_t begin = readEncoded(d.slice(0, end), p, enc, s.addr, ok);
        int64_t range = readEncoded(d.slice(0, end), p, enc & 0x0f, s.addr, ok);
        if (ok && range > 0)
          fdes.push_back({uint64_t(begin), uint64_t(begin) + uint64_t(range)});
      }
      p = end;
    }
  }
  std::sort(fdes.begin(), fdes.end());
  return fdes;
}

// ---------------------------------------------------------------------------------------------------
// Per-function dataflow

struct Insn {
  uint64_t addr;
  uint32_t size;
  Op op;
  MCInst inst;
};

struct State {
  AbsValue reg[NumGprs];
  std::vector<std::pair<int64_t, AbsValue>> slots; // stack slots by offset from entry rsp (sorted)
  bool reached = false;

  AbsValue slot(int64_t off) const {
    for (auto &[o, v] : slots)
      if (o == off)
        return v;
    return AbsValue::top();
  }
  void setSlot(int64_t off, const AbsValue &v) {
    for (auto &[o, x] : slots)
      if (o == off) { x = v; return; }
    slots.push_back({off, v});
    std::sort(slots.begin(), slots.end(), [](auto &a, auto &b) { return a.first < b.first; });
  }
  void killSlotsAround(int64_t off) { // a store of unknown width at `off` clobbers overlapping slots
    slots.erase(std::remove_if(slots.begin(), slots.end(), [&](auto &s) { return s.first > off - 8 && s.first < off + 8; }),
                slots.end());
  }
  bool joinWith(const State &o) {
    if (!o.reached)
      return false;
    if (!reached) { *this = o; return true; }
    bool changed = false;
    for (int r = 0; r < NumGprs; ++r) {
      AbsValue j = reg[r].join(o.reg[r]);
      if (j != reg[r]) { reg[r] = j; changed = true; }
    }
    std::vector<std::pair<int64_t, AbsValue>> kept;
    for (auto &[off, v] : slots) {
      AbsValue j = v.join(o.slot(off));
      if (j.kind != AbsValue::Top)
        kept.push_back({off, j});
    }
    if (kept.size() != slots.size()) changed = true;
    else for (size_t i = 0; i < kept.size(); ++i) if (kept[i].second != slots[i].second) changed = true;
    slots = std::move(kept);
    return changed;
  }
};

class FunctionAnalyzer;

struct ModuleContext {
  const ElfModule &elf;
  const X86Machine &mc;
  // GOT-like slots: address -> (import index) or local target address
  std::unordered_map<uint64_t, int32_t> slotImport;
  std::unordered_map<uint64_t, uint64_t> slotLocal;
  std::vector<std::string> imports;
  std::unordered_map<std::string, int32_t> importIndex;
  bool absoluteCode; // ET_EXEC: immediates may be code addresses
  // Registers a local function (and what it calls) may overwrite, by start address. Compilers keep
  // values in caller-saved registers across calls to functions known not to touch them (GCC -fipa-ra).
  std::unordered_map<uint64_t, uint16_t> clobbers;
  std::unordered_set<uint64_t> noReturn; // local functions that never return

  int32_t importOf(const std::string &name) {
    auto [it, inserted] = importIndex.try_emplace(name, int32_t(imports.size()));
    if (inserted)
      imports.push_back(name);
    return it->second;
  }
};

// The raw result of analysing one function before targets are mapped to function indices.
struct RawEdge {
  Edge::Kind kind;
  uint64_t site;
  uint64_t target = 0;  // local code address
  int32_t import = -1;
  bool indirect = false;
  std::vector<RegValue> args;
};

struct RawFunction {
  std::vector<RawEdge> edges;
  std::vector<SyscallSite> syscalls;
  uint32_t decodeErrors = 0;
};

class FunctionAnalyzer {
public:
  // `strict`: follow control flow from the entry only (for code known by no symbol or FDE).
  FunctionAnalyzer(ModuleContext &ctx, uint64_t start, uint64_t end, bool strict = false)
      : Ctx(ctx), Start(start), End(end), Strict(strict) {}

  // Decodes [Start, End) linearly; returns false when nothing decodes.
  void decode() {
    ArrayRef<uint8_t> bytes = Ctx.elf.contentsAt(Start, End - Start);
    uint64_t addr = Start;
    while (addr < End && !bytes.empty()) {
      Insn in;
      uint64_t size = 0;
      auto st = Ctx.mc.Dis->getInstruction(in.inst, size, bytes.slice(addr - Start), addr, nulls());
      if (st != MCDisassembler::Success || size == 0) {
        ++Raw.decodeErrors;
        BadAt.insert(addr + 1);
        addr += 1;
        continue;
      }
      in.addr = addr;
      in.size = uint32_t(size);
      in.op = Ctx.mc.op(in.inst);
      Insns.push_back(std::move(in));
      addr += size;
    }
  }

  // Direct branch/call targets and code addresses referenced, for function discovery.
  void collectTargets(std::vector<uint64_t> &out) const {
    for (const Insn &in : Insns) {
      uint64_t t;
      switch (in.op) {
      case Op::CallRel:
        if (branchTarget(in, t)) out.push_back(t);
        break;
      case Op::JmpRel:
      case Op::Jcc:
        if (branchTarget(in, t) && (t < Start || t >= End)) out.push_back(t);
        break;
      default:
        for (uint64_t a : codeRefs(in)) out.push_back(a);
      }
    }
    // Code that runs past the end of its FDE (glibc's clone3 ends its FDE before `syscall`) continues
    // in a function of its own.
    if (fallsOffEnd())
      out.push_back(End);
  }

  RawFunction analyze() {
    // Bytes known by no symbol or FDE that do not even decode are data in .text (crypto tables), not code.
    if (Strict && (Raw.decodeErrors || std::any_of(Insns.begin(), Insns.end(), [&](const Insn &in) {
                     return Ctx.mc.MII->getName(in.inst.getOpcode()).starts_with("LRET");
                   })))
      return std::move(Raw);
    // Blocks: leaders are the entry, in-range branch targets, and instructions after control transfers.
    size_t n = Insns.size();
    if (!n)
      return std::move(Raw);
    std::unordered_map<uint64_t, size_t> index;
    index.reserve(n);
    for (size_t i = 0; i < n; ++i) index[Insns[i].addr] = i;
    std::vector<char> leader(n, 0);
    std::vector<std::vector<size_t>> preds(n);
    std::vector<char> hasPred(n, 0);
    leader[0] = 1;
    hasPred[0] = 1;
    for (size_t i = 0; i < n; ++i) {
      const Insn &in = Insns[i];
      if (BadAt.count(in.addr) && i) leader[i] = 1;
      bool ends = in.op == Op::JmpRel || in.op == Op::Jcc || in.op == Op::JmpReg || in.op == Op::JmpMem ||
                  in.op == Op::Ret || in.op == Op::Trap || callsNoReturn(in);
      if (ends && i + 1 < n) leader[i + 1] = 1;
      uint64_t t;
      if ((in.op == Op::JmpRel || in.op == Op::Jcc) && branchTarget(in, t)) {
        auto it = index.find(t);
        if (it != index.end()) { leader[it->second] = 1; hasPred[it->second] = 1; }
      }
      if (!ends && i + 1 < n && Insns[i + 1].addr == in.addr + in.size) hasPred[i + 1] = 1;
      if (in.op == Op::Jcc && i + 1 < n) hasPred[i + 1] = 1;
    }
    std::vector<size_t> blockStarts;
    std::vector<size_t> blockOf(n);
    for (size_t i = 0; i < n; ++i) {
      if (leader[i]) blockStarts.push_back(i);
      blockOf[i] = blockStarts.size() - 1;
    }
    size_t nb = blockStarts.size();
    std::vector<State> in(nb);
    // Entry state: every register holds its entry value (wrappers), rsp points at the return address.
    State entry;
    entry.reached = true;
    for (int r = 0; r < NumGprs; ++r) entry.reg[r] = AbsValue::entry(r);
    entry.reg[RSP] = AbsValue::stack(0);
    in[0] = entry;
    // Blocks without a known predecessor (jump-table targets, landing pads) start knowing nothing.
    State unknown;
    unknown.reached = true;
    // Alignment padding after a jump is not reached at all.
    for (size_t b = 1; b < nb; ++b) {
      if (hasPred[blockStarts[b]]) continue;
      size_t last = b + 1 < nb ? blockStarts[b + 1] : n;
      bool padding = true;
      for (size_t i = blockStarts[b]; i < last && padding; ++i) padding = Insns[i].op == Op::Nop;
      // Code with neither symbol nor FDE is followed only along control flow: it may be data in .text.
      if (!padding && !Strict) in[b] = unknown;
    }

    std::vector<size_t> work;
    std::vector<char> queued(nb, 0);
    for (size_t b = 0; b < nb; ++b) if (in[b].reached) { work.push_back(b); queued[b] = 1; }
    unsigned iterations = 0;
    while (!work.empty()) {
      size_t b = work.back();
      work.pop_back();
      queued[b] = 0;
      if (++iterations > 50 * nb + 1000) { // guarantees termination on pathological code; stays sound
        for (size_t x = 0; x < nb; ++x) in[x] = unknown;
        break;
      }
      State s = in[b];
      size_t i = blockStarts[b];
      size_t last = b + 1 < nb ? blockStarts[b + 1] : n;
      bool fallsThrough = true;
      for (; i < last; ++i) {
        const Insn &ins = Insns[i];
        transfer(ins, s, nullptr);
        uint64_t t;
        if ((ins.op == Op::JmpRel || ins.op == Op::Jcc) && branchTarget(ins, t)) {
          auto it = index.find(t);
          if (it != index.end()) {
            size_t tb = blockOf[it->second];
            State taken = s;
            // `test %r,%r; je` branches with %r == 0 (musl reaches `syscall` with SYS_read = 0 this way).
            if (int z = zeroTested(i, /*taken=*/true); z >= 0) taken.reg[z] = AbsValue::constant(0);
            if (in[tb].joinWith(taken) && !queued[tb]) { work.push_back(tb); queued[tb] = 1; }
          }
        }
        if (ins.op == Op::Jcc)
          if (int z = zeroTested(i, /*taken=*/false); z >= 0) s.reg[z] = AbsValue::constant(0);
        if (isLocalIndirectJump(ins)) // a switch: any block may be its target
          for (size_t tb = 0; tb < nb; ++tb)
            if (in[tb].joinWith(s) && !queued[tb]) { work.push_back(tb); queued[tb] = 1; }
        if (ins.op == Op::JmpRel || ins.op == Op::JmpReg || ins.op == Op::JmpMem || ins.op == Op::Ret ||
            ins.op == Op::Trap || callsNoReturn(ins))
          fallsThrough = false;
      }
      if (fallsThrough && last < n && Insns[last].addr == Insns[last - 1].addr + Insns[last - 1].size) {
        size_t tb = b + 1;
        if (in[tb].joinWith(s) && !queued[tb]) { work.push_back(tb); queued[tb] = 1; }
      }
    }
    // Final pass: emit facts with the fixpoint states.
    for (size_t b = 0; b < nb; ++b) {
      State s = in[b];
      if (!s.reached && Strict) continue;
      if (!s.reached) s = unknown;
      size_t last = b + 1 < nb ? blockStarts[b + 1] : n;
      for (size_t i = blockStarts[b]; i < last; ++i)
        transfer(Insns[i], s, &Raw);
    }
    // Falling off the end of the extent continues in the next function.
    const Insn &lastIn = Insns.back();
    if (fallsOffEnd() && (in[nb - 1].reached || !Strict)) {
      State s = in[nb - 1];
      if (!s.reached) s = unknown;
      for (size_t i = blockStarts[nb - 1]; i < n; ++i) transfer(Insns[i], s, nullptr);
      RawEdge e{Edge::Tail, lastIn.addr, End, -1, false, {}};
      e.args = knownArgs(s);
      Raw.edges.push_back(std::move(e));
    }
    return std::move(Raw);
  }

  // Whether the function can return by itself, and where it continues when it leaves its extent.
  bool mayReturn(std::vector<uint64_t> &tailTargets) const {
    bool ret = false;
    for (const Insn &in : Insns) {
      uint64_t t;
      if (in.op == Op::Ret || in.op == Op::JmpReg) ret = true;
      else if (in.op == Op::JmpMem) {
        auto a = ripAddress(in);
        auto it = a ? Ctx.slotImport.find(*a) : Ctx.slotImport.end();
        if (it == Ctx.slotImport.end() || !isNoReturnImport(Ctx.imports[size_t(it->second)])) ret = true;
      } else if ((in.op == Op::JmpRel || in.op == Op::Jcc) && branchTarget(in, t) && (t < Start || t >= End))
        tailTargets.push_back(t);
    }
    if (fallsOffEnd())
      tailTargets.push_back(End);
    return ret;
  }

private:
  static bool isNoReturnImport(const std::string &n) {
    static const std::set<std::string> names = {
        "exit", "_exit", "_Exit", "abort", "__stack_chk_fail", "__assert_fail", "__fortify_fail",
        "__chk_fail", "err", "errx", "verr", "verrx", "pthread_exit", "__libc_fatal", "__cxa_throw",
        "__cxa_rethrow", "_Unwind_Resume", "longjmp", "siglongjmp", "_longjmp", "__longjmp_chk",
        "quick_exit", "__cxa_bad_cast", "__cxa_bad_typeid", "__cxa_throw_bad_array_new_length",
        "_ZSt9terminatev", "__ubsan_handle_builtin_unreachable"};
    return names.count(n) > 0;
  }
  // Whether control cannot continue past the last instruction of the extent. A call there is a call
  // to a function that does not return: compilers never fall from a call into the next function.
  bool callsNoReturn(const Insn &in) const {
    uint64_t t;
    if (in.op == Op::CallRel) return branchTarget(in, t) && Ctx.noReturn.count(t);
    if (in.op == Op::CallMem) {
      if (auto a = ripAddress(in)) {
        auto it = Ctx.slotImport.find(*a);
        return it != Ctx.slotImport.end() && isNoReturnImport(Ctx.imports[size_t(it->second)]);
      }
    }
    return false;
  }
  // The register known to be zero on one edge of the conditional jump Insns[i], or -1.
  int zeroTested(size_t i, bool taken) const {
    const Insn &j = Insns[i];
    if (j.op != Op::Jcc || i == 0 || Insns[i - 1].op != Op::TestRR || j.inst.getNumOperands() < 2 ||
        !j.inst.getOperand(1).isImm())
      return -1;
    const MCInst &t = Insns[i - 1].inst;
    if (t.getNumOperands() < 2 || !t.getOperand(0).isReg() || t.getOperand(0).getReg() != t.getOperand(1).getReg())
      return -1;
    int g = Ctx.mc.gpr(t.getOperand(0).getReg());
    if (g < 0 || g >= NumGprs) return -1;
    int64_t cond = j.inst.getOperand(1).getImm(); // X86::CondCode: 4 = E, 5 = NE
    if ((taken && cond == 4) || (!taken && cond == 5)) return g;
    return -1;
  }
  bool isLocalIndirectJump(const Insn &in) const {
    if (in.op == Op::JmpReg) return true;
    if (in.op != Op::JmpMem) return false;
    auto a = ripAddress(in);
    return !a || (!Ctx.slotImport.count(*a) && !Ctx.slotLocal.count(*a));
  }
  // Whether execution can run past the end of the extent: the last instruction that is not padding
  // does not end the flow, and the decoded bytes reach the end.
  bool fallsOffEnd() const {
    if (Insns.empty() || Insns.back().addr + Insns.back().size != End) return false;
    for (auto it = Insns.rbegin(); it != Insns.rend(); ++it)
      if (it->op != Op::Nop) return !endsFlow(*it);
    return true; // only padding: reached only if something jumps here, and then it falls through
  }
  static bool endsFlow(const Insn &l) {
    return l.op == Op::JmpRel || l.op == Op::JmpReg || l.op == Op::JmpMem || l.op == Op::Ret || l.op == Op::Trap ||
           l.op == Op::CallRel || l.op == Op::CallReg || l.op == Op::CallMem;
  }
  bool branchTarget(const Insn &in, uint64_t &t) const {
    return Ctx.mc.MIA->evaluateBranch(in.inst, in.addr, in.size, t);
  }

  struct Mem {
    int base = -1, index = -1;
    int64_t disp = 0;
    bool valid = false;
  };
  Mem memOperand(const MCInst &inst, unsigned first) const {
    Mem m;
    if (first + 3 >= inst.getNumOperands())
      return m;
    const MCOperand &b = inst.getOperand(first), &ix = inst.getOperand(first + 2), &d = inst.getOperand(first + 3);
    if (!b.isReg() || !ix.isReg() || !d.isImm())
      return m;
    m.base = b.getReg() ? Ctx.mc.gpr(b.getReg()) : -1;
    m.index = ix.getReg() ? Ctx.mc.gpr(ix.getReg()) : -1;
    m.disp = d.getImm();
    m.valid = true;
    if (b.getReg() && m.base < 0) m.valid = false;
    if (first + 4 < inst.getNumOperands() && inst.getOperand(first + 4).isReg() && inst.getOperand(first + 4).getReg())
      m.valid = false; // fs:/gs: segment
    return m;
  }
  // LEA's address operands are not typed as memory in the MC descriptions: known layouts first.
  int memIndex(const Insn &in) const {
    switch (in.op) {
    case Op::Lea64: case Op::Lea32: case Op::LoadRM64: case Op::LoadRM32: return 1;
    case Op::StoreMR64: case Op::StoreMR32: case Op::StoreMI: case Op::CallMem: case Op::JmpMem: return 0;
    default: return firstMemOperand(in.inst);
    }
  }
  int firstMemOperand(const MCInst &inst) const {
    const MCInstrDesc &d = Ctx.mc.desc(inst);
    for (unsigned i = 0; i < d.getNumOperands() && i < inst.getNumOperands(); ++i)
      if (d.operands()[i].OperandType == MCOI::OPERAND_MEMORY)
        return int(i);
    return -1;
  }
  // Absolute address of a rip-relative memory operand.
  std::optional<uint64_t> ripAddress(const Insn &in) const {
    int mo = memIndex(in);
    if (mo < 0) return std::nullopt;
    Mem m = memOperand(in.inst, unsigned(mo));
    if (m.valid && m.base == GprRip && m.index < 0)
      return in.addr + in.size + uint64_t(m.disp);
    return std::nullopt;
  }

  // Code addresses an instruction materializes (function pointers taken).
  std::vector<uint64_t> codeRefs(const Insn &in) const {
    std::vector<uint64_t> out;
    if (in.op == Op::Lea64 || in.op == Op::Lea32) {
      if (auto a = ripAddress(in); a && Ctx.elf.inExecutableSection(*a)) out.push_back(*a);
      else if (Ctx.absoluteCode) {
        Mem m = memOperand(in.inst, 1);
        if (m.valid && m.base < 0 && m.index < 0 && Ctx.elf.inExecutableSection(uint64_t(m.disp)))
          out.push_back(uint64_t(m.disp));
      }
      return out;
    }
    if (Ctx.absoluteCode) {
      for (unsigned i = 0; i < in.inst.getNumOperands(); ++i) {
        const MCOperand &o = in.inst.getOperand(i);
        if (o.isImm() && in.op != Op::JmpRel && in.op != Op::Jcc && in.op != Op::CallRel &&
            Ctx.elf.inExecutableSection(uint64_t(o.getImm())) && (in.op == Op::MovRI32 || in.op == Op::MovRI64 ||
                                                                  in.op == Op::StoreMI || in.op == Op::PushI))
          out.push_back(uint64_t(o.getImm()));
      }
    }
    return out;
  }

  static bool isArgReg(int r) { return r != RSP; }

  std::vector<RegValue> knownArgs(const State &s) const {
    std::vector<RegValue> out;
    for (int r = 0; r < NumGprs; ++r)
      if (isArgReg(r) && (s.reg[r].kind == AbsValue::Const || s.reg[r].kind == AbsValue::Entry))
        out.push_back({uint8_t(r), s.reg[r]});
    return out;
  }

  AbsValue read(const State &s, unsigned reg) const {
    int g = Ctx.mc.gpr(reg);
    if (g < 0 || g >= NumGprs) return AbsValue::top();
    return s.reg[g];
  }
  void write(State &s, unsigned reg, AbsValue v, bool is32) {
    int g = Ctx.mc.gpr(reg);
    if (g < 0 || g >= NumGprs) return;
    if (is32 && v.kind == AbsValue::Const) {
      for (int i = 0; i < v.n; ++i) v.c[i] &= 0xffffffffULL;
      std::sort(v.c, v.c + v.n);
      v.n = uint8_t(std::unique(v.c, v.c + v.n) - v.c);
    } else if (is32 && v.kind == AbsValue::Stack) {
      v = AbsValue::top();
    }
    if (v.kind == AbsValue::Stack && g != RSP && g != RBP) Escaped = true;
    s.reg[g] = v;
  }
  static AbsValue addConst(const AbsValue &v, int64_t k) {
    if (v.kind == AbsValue::Const) {
      AbsValue r = v;
      for (int i = 0; i < r.n; ++i) r.c[i] += uint64_t(k);
      std::sort(r.c, r.c + r.n);
      return r;
    }
    if (v.kind == AbsValue::Stack) return AbsValue::stack(int64_t(v.c[0]) + k);
    return AbsValue::top();
  }
  // Stack slot offset addressed by a memory operand, when its base holds a known frame address.
  std::optional<int64_t> slotOf(const State &s, const Mem &m) const {
    if (!m.valid || m.index >= 0 || m.base < 0 || m.base >= NumGprs) return std::nullopt;
    const AbsValue &b = s.reg[m.base];
    if (b.kind != AbsValue::Stack) return std::nullopt;
    return int64_t(b.c[0]) + m.disp;
  }
  static constexpr uint16_t CallerSaved = 1u << RAX | 1u << RCX | 1u << RDX | 1u << RSI | 1u << RDI |
                                          1u << R8 | 1u << R9 | 1u << R10 | 1u << R11;
  void clobberCallerSaved(State &s, uint16_t mask = CallerSaved) {
    for (int r = 0; r < NumGprs; ++r)
      if (mask >> r & 1 & (CallerSaved >> r)) s.reg[r] = AbsValue::top();
    if (Escaped) s.slots.clear();
  }
  uint16_t clobbersOf(uint64_t target) const {
    auto it = Ctx.clobbers.find(target);
    return it == Ctx.clobbers.end() ? CallerSaved : it->second;
  }

public:
  // Registers this function writes itself, and the local functions it calls or jumps to; `opaque` when
  // it calls something unknown (import, pointer), which may overwrite any caller-saved register.
  uint16_t ownDefs(std::vector<uint64_t> &callees, bool &opaque) const {
    uint16_t defs = 0;
    opaque = false;
    auto def = [&](unsigned reg) { int g = Ctx.mc.gpr(reg); if (g >= 0 && g < NumGprs) defs |= uint16_t(1u << g); };
    for (const Insn &in : Insns) {
      uint64_t t;
      switch (in.op) {
      case Op::CallRel:
        if (branchTarget(in, t)) { if (!Ctx.noReturn.count(t)) callees.push_back(t); }
        else opaque = true;
        continue;
      case Op::CallMem:
        if (!callsNoReturn(in)) opaque = true;
        continue;
      case Op::CallReg: case Op::JmpMem:
        opaque = true;
        continue;
      case Op::JmpRel: case Op::Jcc:
        if (branchTarget(in, t) && (t < Start || t >= End)) callees.push_back(t);
        continue;
      case Op::Syscall: case Op::Sysenter: case Op::Int:
        defs |= 1u << RAX | 1u << RCX | 1u << R11;
        continue;
      default:
        break;
      }
      const MCInstrDesc &d = Ctx.mc.desc(in.inst);
      for (unsigned i = 0; i < d.getNumDefs() && i < in.inst.getNumOperands(); ++i)
        if (in.inst.getOperand(i).isReg()) def(in.inst.getOperand(i).getReg());
      for (MCPhysReg r : d.implicit_defs()) def(r);
      if (in.op == Op::PopR || in.op == Op::Leave) def(in.inst.getNumOperands() ? in.inst.getOperand(0).getReg() : 0);
    }
    if (fallsOffEnd()) // falling into the next function
      callees.push_back(End);
    return defs;
  }

private:
  void genericStore(State &s, const Insn &in) {
    int mo = firstMemOperand(in.inst);
    if (mo < 0) return;
    Mem m = memOperand(in.inst, unsigned(mo));
    if (auto off = slotOf(s, m)) s.killSlotsAround(*off);
    else if (!m.valid || m.base != GprRip) {
      if (Escaped) s.slots.clear();
    }
  }

  void edge(RawFunction *out, Edge::Kind kind, const Insn &in, const State &s, std::optional<uint64_t> local,
            int32_t import, bool indirect) {
    if (!out) return;
    RawEdge e{kind, in.addr, 0, -1, false, {}};
    if (local) e.target = *local;
    e.import = import;
    e.indirect = indirect;
    if (kind != Edge::AddressTaken) e.args = knownArgs(s);
    out->edges.push_back(std::move(e));
  }
  // A call or jump through memory: a GOT slot names its target.
  void memoryTransfer(const Insn &in, const State &s, RawFunction *out, Edge::Kind kind) {
    if (auto a = ripAddress(in)) {
      auto it = Ctx.slotImport.find(*a);
      if (it != Ctx.slotImport.end()) return edge(out, kind, in, s, std::nullopt, it->second, false);
      auto lt = Ctx.slotLocal.find(*a);
      if (lt != Ctx.slotLocal.end()) return edge(out, kind, in, s, lt->second, -1, false);
    }
    edge(out, kind, in, s, std::nullopt, -1, true);
  }

  void transfer(const Insn &in, State &s, RawFunction *out) {
    const MCInst &I = in.inst;
    if (out)
      for (uint64_t a : codeRefs(in)) edge(out, Edge::AddressTaken, in, s, a, -1, false);
    switch (in.op) {
    case Op::MovRI8: { // mov $imm, %al: replaces the low byte of a known register (musl: xor %eax,%eax; mov $56,%al)
      unsigned reg = I.getOperand(0).getReg();
      int g = Ctx.mc.gpr(reg);
      StringRef name = Ctx.mc.regInfo().getName(reg);
      AbsValue v = AbsValue::top();
      if (g >= 0 && g < NumGprs && s.reg[g].kind == AbsValue::Const && (name.ends_with("L") || name.ends_with("B"))) {
        v = s.reg[g];
        for (int i = 0; i < v.n; ++i) v.c[i] = (v.c[i] & ~0xffULL) | (uint64_t(I.getOperand(1).getImm()) & 0xff);
        std::sort(v.c, v.c + v.n);
        v.n = uint8_t(std::unique(v.c, v.c + v.n) - v.c);
      }
      if (g >= 0 && g < NumGprs) s.reg[g] = v;
      return;
    }
    case Op::Cmov32:
    case Op::Cmov64: // either value: musl picks SYS_readv or SYS_read this way
      write(s, I.getOperand(0).getReg(), read(s, I.getOperand(1).getReg()).join(read(s, I.getOperand(2).getReg())),
            in.op == Op::Cmov32);
      return;
    case Op::MovRI32:
    case Op::MovRI64:
      write(s, I.getOperand(0).getReg(), AbsValue::constant(uint64_t(I.getOperand(1).getImm())), in.op == Op::MovRI32);
      return;
    case Op::MovRR32:
    case Op::MovRR64:
      write(s, I.getOperand(0).getReg(), read(s, I.getOperand(1).getReg()), in.op == Op::MovRR32);
      return;
    case Op::Xor32:
    case Op::Xor64:
      if (I.getNumOperands() >= 3 && I.getOperand(1).getReg() == I.getOperand(2).getReg())
        write(s, I.getOperand(0).getReg(), AbsValue::constant(0), false);
      else
        write(s, I.getOperand(0).getReg(), AbsValue::top(), false);
      return;
    case Op::Lea64:
    case Op::Lea32: {
      Mem m = memOperand(I, 1);
      AbsValue v = AbsValue::top();
      if (m.valid && m.index < 0) {
        if (m.base == GprRip) v = AbsValue::constant(in.addr + in.size + uint64_t(m.disp));
        else if (m.base >= 0 && m.base < NumGprs) v = addConst(s.reg[m.base], m.disp);
        else if (m.base < 0) v = AbsValue::constant(uint64_t(m.disp));
      }
      write(s, I.getOperand(0).getReg(), v, in.op == Op::Lea32);
      return;
    }
    case Op::AddRI:
    case Op::SubRI:
    case Op::AddRI32:
    case Op::SubRI32: {
      int64_t k = I.getOperand(2).getImm();
      if (in.op == Op::SubRI || in.op == Op::SubRI32) k = -k;
      bool is32 = in.op == Op::AddRI32 || in.op == Op::SubRI32;
      AbsValue v = addConst(read(s, I.getOperand(1).getReg()), k);
      write(s, I.getOperand(0).getReg(), v, is32);
      return;
    }
    case Op::LoadRM64:
    case Op::LoadRM32: {
      Mem m = memOperand(I, 1);
      AbsValue v = AbsValue::top();
      if (auto off = slotOf(s, m)) v = s.slot(*off);
      write(s, I.getOperand(0).getReg(), v, in.op == Op::LoadRM32);
      if (out) { // loading a function pointer from a GOT slot takes its address
        if (auto a = ripAddress(in)) {
          auto it = Ctx.slotImport.find(*a);
          if (it != Ctx.slotImport.end()) edge(out, Edge::AddressTaken, in, s, std::nullopt, it->second, false);
          auto lt = Ctx.slotLocal.find(*a);
          if (lt != Ctx.slotLocal.end()) edge(out, Edge::AddressTaken, in, s, lt->second, -1, false);
        }
      }
      return;
    }
    case Op::StoreMR64:
    case Op::StoreMR32:
    case Op::StoreMI: {
      Mem m = memOperand(I, 0);
      AbsValue v = in.op == Op::StoreMI ? AbsValue::constant(uint64_t(I.getOperand(5).getImm()))
                                        : read(s, I.getOperand(5).getReg());
      if (in.op == Op::StoreMR32 && v.kind != AbsValue::Const) v = AbsValue::top();
      if (v.kind == AbsValue::Stack) Escaped = true;
      if (auto off = slotOf(s, m)) {
        s.killSlotsAround(*off);
        s.setSlot(*off, v);
      } else if (Escaped && (!m.valid || m.base != GprRip)) {
        s.slots.clear();
      }
      return;
    }
    case Op::PushR:
    case Op::PushI: {
      AbsValue v = in.op == Op::PushI ? AbsValue::constant(uint64_t(I.getOperand(0).getImm())) : read(s, I.getOperand(0).getReg());
      AbsValue sp = addConst(s.reg[RSP], -8);
      s.reg[RSP] = sp;
      if (sp.kind == AbsValue::Stack) s.setSlot(int64_t(sp.c[0]), v);
      return;
    }
    case Op::PopR: {
      AbsValue sp = s.reg[RSP];
      AbsValue v = sp.kind == AbsValue::Stack ? s.slot(int64_t(sp.c[0])) : AbsValue::top();
      s.reg[RSP] = addConst(sp, 8);
      write(s, I.getOperand(0).getReg(), v, false);
      return;
    }
    case Op::Leave: {
      AbsValue bp = s.reg[RBP];
      AbsValue v = bp.kind == AbsValue::Stack ? s.slot(int64_t(bp.c[0])) : AbsValue::top();
      s.reg[RSP] = addConst(bp, 8);
      s.reg[RBP] = v;
      return;
    }
    case Op::CallRel: {
      uint64_t t;
      if (branchTarget(in, t)) {
        edge(out, Edge::Call, in, s, t, -1, false);
        clobberCallerSaved(s, clobbersOf(t));
      } else {
        edge(out, Edge::Call, in, s, std::nullopt, -1, true);
        clobberCallerSaved(s);
      }
      return;
    }
    case Op::CallReg: {
      // `mov $0xffffffffff600000,%rax; call *%rax` (old static glibc): the kernel emulates a syscall.
      AbsValue target = read(s, I.getOperand(0).getReg());
      if (out && target.kind == AbsValue::Const) {
        AbsValue nrs = AbsValue::bottom();
        for (int i = 0; i < target.n; ++i)
          if (int nr = vsyscallNumber(target.c[i]); nr >= 0) nrs = nrs.join(AbsValue::constant(uint64_t(nr)));
        if (nrs.kind == AbsValue::Const) out->syscalls.push_back({SyscallSite::Syscall, in.addr, nrs});
      }
      edge(out, Edge::Call, in, s, std::nullopt, -1, true);
      clobberCallerSaved(s);
      return;
    }
    case Op::CallMem:
      memoryTransfer(in, s, out, Edge::Call);
      clobberCallerSaved(s);
      return;
    case Op::JmpRel:
    case Op::Jcc: {
      uint64_t t;
      if (branchTarget(in, t) && (t < Start || t >= End)) edge(out, Edge::Tail, in, s, t, -1, false);
      return;
    }
    case Op::JmpReg:
      // Indirect jumps inside a function are switch tables; leaving it would need a code pointer, which
      // is an address-taken function and reachable anyway.
      return;
    case Op::JmpMem:
      if (auto a = ripAddress(in); a && (Ctx.slotImport.count(*a) || Ctx.slotLocal.count(*a)))
        memoryTransfer(in, s, out, Edge::Tail);
      return;
    case Op::Syscall:
    case Op::Sysenter:
      if (out) out->syscalls.push_back({in.op == Op::Syscall ? SyscallSite::Syscall : SyscallSite::Sysenter, in.addr, s.reg[RAX]});
      s.reg[RAX] = s.reg[RCX] = s.reg[R11] = AbsValue::top();
      return;
    case Op::Int:
      if (I.getNumOperands() && I.getOperand(0).isImm() && I.getOperand(0).getImm() == 0x80) {
        if (out) out->syscalls.push_back({SyscallSite::Int80, in.addr, s.reg[RAX]});
        s.reg[RAX] = AbsValue::top();
      }
      return;
    default:
      break;
    }
    // Generic: every register the instruction defines becomes unknown.
    const MCInstrDesc &d = Ctx.mc.desc(I);
    for (unsigned i = 0; i < d.getNumDefs() && i < I.getNumOperands(); ++i)
      if (I.getOperand(i).isReg()) write(s, I.getOperand(i).getReg(), AbsValue::top(), false);
    for (MCPhysReg r : d.implicit_defs()) write(s, r, AbsValue::top(), false);
    if (d.mayStore()) genericStore(s, in);
  }

  ModuleContext &Ctx;
  uint64_t Start, End;
  bool Strict;
  std::vector<Insn> Insns;
  std::set<uint64_t> BadAt;
  bool Escaped = false;
  RawFunction Raw;
};

bool isPltSection(const std::string &n) { return n == ".plt" || n == ".plt.sec" || n == ".plt.got"; }

} // namespace

// ---------------------------------------------------------------------------------------------------

int pathArgumentRegister(StringRef f) {
  static const std::set<std::string, std::less<>> inRdi = {
      "open", "open64", "__open_2", "__open64_2", "fopen", "fopen64", "freopen", "opendir", "access",
      "stat", "stat64", "lstat", "lstat64", "__xstat", "__xstat64", "__lxstat", "__lxstat64", "statfs",
      "statvfs", "readlink", "realpath", "creat", "truncate", "mkdir", "unlink", "rmdir", "chdir", "chmod",
      "chown", "mknod", "execve", "execv", "execvp", "execl", "execlp", "execle", "posix_spawn_file_actions_addopen",
      "dlopen", "dlmopen", "__libc_dlopen_mode"};
  static const std::set<std::string, std::less<>> inRsi = {
      "openat", "openat64", "__openat_2", "__openat64_2", "fstatat", "fstatat64", "newfstatat",
      "__fxstatat", "__fxstatat64", "readlinkat", "faccessat", "statx", "mkdirat", "unlinkat", "execveat",
      "posix_spawn", "posix_spawnp"};
  if (inRdi.count(f)) return 7;
  if (inRsi.count(f)) return 6;
  return -1;
}

bool isDlopen(StringRef f) { return f == "dlopen" || f == "dlmopen" || f == "__libc_dlopen_mode"; }

std::string ModuleModel::functionName(int32_t f) const {
  if (f < 0 || size_t(f) >= functions.size()) return "?";
  const Function &fn = functions[size_t(f)];
  if (!fn.name.empty()) return fn.name;
  char buf[32];
  snprintf(buf, sizeof buf, "sub_%llx", (unsigned long long)fn.addr);
  return buf;
}

int32_t ModuleModel::functionAt(uint64_t addr) const {
  auto it = std::lower_bound(functions.begin(), functions.end(), addr,
                             [](const Function &f, uint64_t a) { return f.addr < a; });
  if (it != functions.end() && it->addr == addr) return int32_t(it - functions.begin());
  return -1;
}

static std::pair<std::string, std::string> detectLibc(const ElfModule &elf) {
  StringRef data(reinterpret_cast<const char *>(elf.bytes().data()), elf.bytes().size());
  size_t p = data.find("GNU C Library");
  if (p != StringRef::npos) {
    size_t v = data.find("release version ", p);
    if (v != StringRef::npos && v - p < 200) {
      StringRef rest = data.substr(v + 16, 16);
      size_t e = rest.find_first_not_of("0123456789.");
      return {"glibc", rest.substr(0, e).rtrim(".").str()};
    }
    return {"glibc", "unknown"};
  }
  if (data.contains("Fatal glibc error") || data.contains("glibc.malloc"))
    return {"glibc", "unknown"};
  // musl embeds no version banner; Debian's build leaves its source path ("/musl-1.2.3/") in the code.
  for (size_t m = data.find("/musl-"); m != StringRef::npos; m = data.find("/musl-", m + 1)) {
    StringRef rest = data.substr(m + 6, 16);
    size_t e = rest.find_first_not_of("0123456789.");
    if (e > 0 && e != StringRef::npos && isdigit(static_cast<unsigned char>(rest[0])))
      return {"musl", rest.substr(0, e).str()};
  }
  std::string fn = elf.fileName();
  if (StringRef(fn).starts_with("ld-musl") || StringRef(fn).starts_with("libc.musl"))
    return {"musl", "unknown"};
  for (const ElfSymbol &s : elf.staticSymbols())
    if (s.name == "__init_libc" || s.name == "__libc_start_init")
      return {"musl", "unknown"};
  return {};
}

Expected<ModuleModel> buildModuleModel(const ElfModule &elf) {
  static thread_local std::unique_ptr<X86Machine> machine; // LLVM MC objects are not thread-safe
  if (!machine) machine = std::make_unique<X86Machine>();
  const X86Machine &mc = *machine;
  if (!mc.ok())
    return createStringError(inconvertibleErrorCode(), "%s: LLVM has no x86-64 disassembler", elf.path().c_str());

  ModuleModel model;
  model.fileName = elf.fileName();
  model.sha256 = elf.sha256();
  std::tie(model.libc, model.libcVersion) = detectLibc(elf);

  ModuleContext ctx{elf, mc, {}, {}, {}, {}, /*absoluteCode=*/!elf.isSharedObject(), {}, {}};

  // GOT slots and data references from dynamic relocations.
  std::set<uint64_t> starts;
  std::set<uint64_t> dataRefs;
  std::set<int32_t> dataImports;
  const auto &dsyms = elf.dynamicSymbols();
  for (const ElfReloc &r : elf.relocations()) {
    const ElfSymbol *sym = r.symbol >= 0 ? &dsyms[size_t(r.symbol)] : nullptr;
    switch (r.type) {
    case ELF::R_X86_64_JUMP_SLOT:
    case ELF::R_X86_64_GLOB_DAT:
    case ELF::R_X86_64_64:
      if (!sym) break;
      if (sym->defined && sym->function && elf.inExecutableSection(sym->value)) {
        // Bound to our own definition unless interposed; both are considered (the import is also recorded).
        ctx.slotLocal[r.offset] = sym->value;
        if (r.type != ELF::R_X86_64_JUMP_SLOT) dataRefs.insert(sym->value);
      }
      if (sym->function || !sym->defined) {
        int32_t imp = ctx.importOf(sym->name);
        ctx.slotImport[r.offset] = imp;
        if (r.type == ELF::R_X86_64_64 || (r.type == ELF::R_X86_64_GLOB_DAT && sym->function))
          dataImports.insert(imp);
        if (sym->weak && !sym->defined) model.weakImports.push_back(sym->name);
      }
      break;
    case ELF::R_X86_64_RELATIVE:
      if (elf.inExecutableSection(uint64_t(r.addend))) {
        ctx.slotLocal[r.offset] = uint64_t(r.addend);
        dataRefs.insert(uint64_t(r.addend));
      }
      break;
    case ELF::R_X86_64_IRELATIVE:
      if (elf.inExecutableSection(uint64_t(r.addend))) starts.insert(uint64_t(r.addend));
      break;
    default:
      break;
    }
  }
  std::set<uint64_t> rootAddrs;
  for (const ElfReloc &r : elf.relocations())
    if (r.type == ELF::R_X86_64_IRELATIVE && elf.inExecutableSection(uint64_t(r.addend)))
      rootAddrs.insert(uint64_t(r.addend));
  // Non-PIE executables store absolute code addresses in data without relocations.
  if (ctx.absoluteCode) {
    for (const ElfSection &s : elf.sections()) {
      if (!s.alloc || s.exec || s.type == ELF::SHT_NOBITS) continue;
      ArrayRef<uint8_t> d = elf.contentsAt(s.addr, s.size);
      for (size_t off = (8 - s.addr % 8) % 8; off + 8 <= d.size(); off += 8) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | d[off + size_t(i)];
        if (v && elf.inExecutableSection(v)) {
          dataRefs.insert(v);
          ctx.slotLocal.emplace(s.addr + off, v);
        }
      }
    }
  }

  // Function starts.
  std::map<uint64_t, std::string> names;
  auto addSymbols = [&](const std::vector<ElfSymbol> &syms) {
    for (const ElfSymbol &s : syms) {
      if (!s.defined || !s.function || !elf.inExecutableSection(s.value)) continue;
      starts.insert(s.value);
      auto &n = names[s.value];
      // Prefer the global name when several symbols alias one address; stable choice otherwise.
      if (n.empty() || (s.exported && n.find('.') != std::string::npos) || (!n.empty() && n[0] == '_' && s.name[0] != '_' && s.exported))
        n = s.name;
    }
  };
  addSymbols(elf.staticSymbols());
  addSymbols(elf.dynamicSymbols());
  std::vector<std::pair<uint64_t, uint64_t>> fdes = parseEhFrame(elf);
  std::set<uint64_t> fdeStarts;
  for (auto [b, e] : fdes) fdeStarts.insert(b);
  std::vector<std::pair<uint64_t, uint64_t>> pltRanges;
  for (const ElfSection &s : elf.sections())
    if (isPltSection(s.name) && s.exec) pltRanges.push_back({s.addr, s.addr + s.size});
  auto inPlt = [&](uint64_t a) {
    for (auto [lo, hi] : pltRanges) if (a >= lo && a < hi) return true;
    return false;
  };
  for (auto [b, e] : fdes)
    if (elf.inExecutableSection(b)) starts.insert(b);
  if (elf.entry() && elf.inExecutableSection(elf.entry())) starts.insert(elf.entry());
  for (uint64_t a : elf.initFunctions())
    if (elf.inExecutableSection(a)) { starts.insert(a); rootAddrs.insert(a); }
  for (uint64_t a : rootAddrs) starts.insert(a);
  for (uint64_t a : dataRefs) starts.insert(a);
  for (const ElfSection &s : elf.sections())
    if (isPltSection(s.name) && s.exec)
      for (uint64_t a = s.addr; a + 16 <= s.addr + s.size; a += 16) starts.insert(a);

  std::vector<std::pair<uint64_t, uint64_t>> execRanges;
  for (const ElfSection &s : elf.sections())
    if (s.alloc && s.exec && s.type != ELF::SHT_NOBITS && s.size) execRanges.push_back({s.addr, s.addr + s.size});
  std::sort(execRanges.begin(), execRanges.end());

  // Extent of a function: up to the next start, its section's end, and the end of the FDE covering it.
  auto extentEnd = [&](uint64_t a) -> uint64_t {
    uint64_t end = UINT64_MAX;
    auto next = starts.upper_bound(a);
    if (next != starts.end()) end = *next;
    for (auto [lo, hi] : execRanges)
      if (a >= lo && a < hi) end = std::min(end, hi);
    auto f = std::upper_bound(fdes.begin(), fdes.end(), std::pair<uint64_t, uint64_t>{a, UINT64_MAX});
    if (f != fdes.begin()) {
      --f;
      if (a >= f->first && a < f->second) end = std::min(end, f->second);
    }
    return end == UINT64_MAX ? a : end;
  };

  // Discovery to a fixpoint: decode every start not yet covered by a decoded range.
  std::set<uint64_t> decoded;
  std::vector<std::pair<uint64_t, uint64_t>> covered; // decoded extents
  std::vector<uint64_t> pending(starts.begin(), starts.end());
  auto isCovered = [&](uint64_t a) {
    auto it = std::upper_bound(covered.begin(), covered.end(), std::pair<uint64_t, uint64_t>{a, UINT64_MAX});
    if (it == covered.begin()) return false;
    --it;
    return a >= it->first && a < it->second;
  };
  for (int round = 0; !pending.empty() && round < 64; ++round) {
    std::vector<uint64_t> found;
    for (uint64_t a : pending) {
      if (decoded.count(a) || isCovered(a)) { decoded.insert(a); continue; }
      decoded.insert(a);
      uint64_t e = extentEnd(a);
      if (e <= a) continue;
      FunctionAnalyzer fa(ctx, a, e);
      fa.decode();
      fa.collectTargets(found);
      covered.push_back({a, e});
    }
    std::sort(covered.begin(), covered.end());
    pending.clear();
    for (uint64_t t : found)
      if (elf.inExecutableSection(t) && starts.insert(t).second) pending.push_back(t);
    std::sort(pending.begin(), pending.end());
  }

  // Final functions and their analysis.
  model.functions.reserve(starts.size());
  for (uint64_t a : starts) {
    Function f;
    f.addr = a;
    auto n = names.find(a);
    if (n != names.end()) f.name = n->second;
    model.functions.push_back(std::move(f));
  }
  auto localIndex = [&](uint64_t a) -> int32_t {
    int32_t i = model.functionAt(a);
    if (i >= 0) return i;
    // Inside a function (should not happen after discovery): the containing one.
    auto it = std::upper_bound(model.functions.begin(), model.functions.end(), a,
                               [](uint64_t x, const Function &f) { return x < f.addr; });
    return it == model.functions.begin() ? -1 : int32_t(it - model.functions.begin() - 1);
  };
  std::vector<std::unique_ptr<FunctionAnalyzer>> analyzers(model.functions.size());
  {
    size_t nf = model.functions.size();
    // Functions that never return: no ret, and every way out leads to another such function.
    std::vector<char> returns(nf, 0);
    std::vector<std::vector<int32_t>> tails(nf);
    for (size_t i = 0; i < nf; ++i) {
      uint64_t a = model.functions[i].addr, e = extentEnd(a);
      if (e <= a) { returns[i] = 1; continue; }
      bool known = names.count(a) || fdeStarts.count(a) || rootAddrs.count(a) || a == elf.entry() || inPlt(a);
      analyzers[i] = std::make_unique<FunctionAnalyzer>(ctx, a, e, !known);
      analyzers[i]->decode();
      std::vector<uint64_t> targets;
      returns[i] = analyzers[i]->mayReturn(targets);
      for (uint64_t t : targets) {
        int32_t j = model.functionAt(t);
        if (j < 0) returns[i] = 1;
        else tails[i].push_back(j);
      }
    }
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < nf; ++i)
        if (!returns[i])
          for (int32_t j : tails[i])
            if (returns[size_t(j)]) { returns[i] = 1; changed = true; break; }
    }
    for (size_t i = 0; i < nf; ++i)
      if (!returns[i]) ctx.noReturn.insert(model.functions[i].addr);
    // Clobber summaries to a fixpoint over the local call graph (calls that never return don't count).
    std::vector<uint16_t> clob(model.functions.size(), 0);
    std::vector<std::vector<int32_t>> callees(model.functions.size());
    for (size_t i = 0; i < model.functions.size(); ++i) {
      if (!analyzers[i]) continue;
      std::vector<uint64_t> targets;
      bool opaque = false;
      clob[i] = analyzers[i]->ownDefs(targets, opaque);
      if (opaque) clob[i] = 0xffff;
      for (uint64_t t : targets) {
        int32_t j = model.functionAt(t);
        if (j < 0) clob[i] = 0xffff; // enters code we do not model as a function start
        else callees[i].push_back(j);
      }
    }
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < clob.size(); ++i)
        for (int32_t j : callees[i])
          if ((clob[i] | clob[size_t(j)]) != clob[i]) { clob[i] |= clob[size_t(j)]; changed = true; }
    }
    for (size_t i = 0; i < clob.size(); ++i) ctx.clobbers[model.functions[i].addr] = clob[i];
  }
  for (size_t fi = 0; fi < model.functions.size(); ++fi) {
    Function &f = model.functions[fi];
    if (!analyzers[fi]) continue;
    RawFunction raw = analyzers[fi]->analyze();
    analyzers[fi].reset();
    f.decodeErrors = raw.decodeErrors;
    f.syscalls = std::move(raw.syscalls);
    for (RawEdge &re : raw.edges) {
      Edge e2;
      e2.kind = re.kind;
      e2.site = re.site;
      e2.import = re.import;
      e2.indirect = re.indirect;
      e2.args = std::move(re.args);
      if (!re.indirect && re.import < 0) {
        if (int nr = vsyscallNumber(re.target); nr >= 0 && re.kind != Edge::AddressTaken) {
          // A direct call into the legacy vsyscall page: the kernel emulates (and seccomp checks) a syscall.
          f.syscalls.push_back({SyscallSite::Syscall, re.site, AbsValue::constant(uint64_t(nr))});
          continue;
        }
        if (!elf.inExecutableSection(re.target)) continue; // jump into non-code: ignore (data constant)
        e2.local = localIndex(re.target);
        if (e2.local < 0) continue;
      }
      if (e2.kind != Edge::AddressTaken && (e2.import >= 0 || e2.local >= 0)) {
        StringRef callee = e2.import >= 0 ? StringRef(ctx.imports[size_t(e2.import)])
                                          : StringRef(names.count(model.functions[size_t(e2.local)].addr)
                                                          ? names[model.functions[size_t(e2.local)].addr] : "");
        if (int reg = pathArgumentRegister(callee); reg >= 0)
          for (const RegValue &rv : e2.args)
            if (rv.reg == reg && rv.value.kind == AbsValue::Const && rv.value.n == 1)
              if (auto str = elf.cStringAt(rv.value.c[0])) e2.stringArg = *str;
      }
      f.edges.push_back(std::move(e2));
    }
  }
  // PLT slots are named after the import they jump to, as objdump does ("dlopen@plt").
  for (Function &f : model.functions)
    if (f.name.empty() && inPlt(f.addr))
      for (const Edge &e : f.edges)
        if (e.kind == Edge::Tail && e.import >= 0) { f.name = ctx.imports[size_t(e.import)] + "@plt"; break; }
  for (uint64_t a : rootAddrs)
    if (int32_t i = model.functionAt(a); i >= 0) model.roots.push_back(i);
  if (elf.entry()) model.entryFunction = model.functionAt(elf.entry());
  for (uint64_t a : dataRefs)
    if (int32_t i = model.functionAt(a); i >= 0) model.dataAddressTaken.push_back(i);
  model.dataImports.assign(dataImports.begin(), dataImports.end());
  model.imports = ctx.imports;
  for (const ElfSymbol &s : elf.dynamicSymbols())
    if (s.exported && s.function)
      if (int32_t i = model.functionAt(s.value); i >= 0) model.exports.push_back({s.name, i});
  std::sort(model.exports.begin(), model.exports.end());
  model.exports.erase(std::unique(model.exports.begin(), model.exports.end()), model.exports.end());
  std::sort(model.weakImports.begin(), model.weakImports.end());
  model.weakImports.erase(std::unique(model.weakImports.begin(), model.weakImports.end()), model.weakImports.end());
  return model;
}

} // namespace bespoke
