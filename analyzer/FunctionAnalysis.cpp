// FunctionAnalysis: decoding, the questions discovery asks, the block fixpoint (build blocks, seed,
// iterate, emit) and the transfer function of one function (see FunctionAnalysis.h).
#include "analyzer/FunctionAnalysis.h"

#include "analyzer/KernelEntries.h"
#include "analyzer/LibcFacts.h"

#include <algorithm>

using namespace llvm;

namespace bespoke {

namespace {

// The values edges and syscall sites record (and a 32-bit spill keeps): what the resolver can follow.
bool recorded(const AbsValue &v) {
  return v.kind == AbsValue::Const || v.kind == AbsValue::Entry || v.kind == AbsValue::Derived;
}

constexpr uint16_t CallerSaved = 1u << RAX | 1u << RCX | 1u << RDX | 1u << RSI | 1u << RDI |
                                 1u << R8 | 1u << R9 | 1u << R10 | 1u << R11;

bool isArgReg(int r) { return r != RSP; }

} // namespace

int32_t ModuleContext::importOf(const std::string &name) {
  auto [it, inserted] = importIndex.try_emplace(name, int32_t(imports.size()));
  if (inserted)
    imports.push_back(name);
  return it->second;
}

// ---------------------------------------------------------------------------------------------------
// Decoding and the questions function discovery asks

void FunctionAnalyzer::decode(ArrayRef<uint8_t> bytes) {
  DecodedRange d = decodeRange(Ctx.mc, bytes, Start, End);
  Insns = std::move(d.insns);
  BadAt = std::move(d.badAt);
  Raw.decodeErrors += d.errors;
}

void FunctionAnalyzer::collectTargets(std::vector<uint64_t> &out) const {
  for (const Insn &in : Insns) {
    uint64_t t;
    switch (in.op) {
    case Op::CallRel:
      if (Ctx.mc.branchTarget(in, t)) out.push_back(t);
      break;
    case Op::JmpRel:
    case Op::Jcc:
      if (Ctx.mc.branchTarget(in, t) && (t < Start || t >= End)) out.push_back(t);
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

bool FunctionAnalyzer::mayReturn(std::vector<uint64_t> &tailTargets) const {
  bool ret = false;
  for (const Insn &in : Insns) {
    uint64_t t;
    if (in.op == Op::Ret || in.op == Op::JmpReg) ret = true;
    else if (in.op == Op::JmpMem) {
      auto a = Ctx.mc.ripAddress(in);
      auto it = a ? Ctx.slotImport.find(*a) : Ctx.slotImport.end();
      if (it == Ctx.slotImport.end() || !isNoReturnImport(Ctx.imports[size_t(it->second)])) ret = true;
    } else if ((in.op == Op::JmpRel || in.op == Op::Jcc) && Ctx.mc.branchTarget(in, t) && (t < Start || t >= End))
      tailTargets.push_back(t);
  }
  if (fallsOffEnd())
    tailTargets.push_back(End);
  return ret;
}

uint16_t FunctionAnalyzer::ownDefs(std::vector<uint64_t> &callees, bool &opaque) const {
  uint16_t defs = 0;
  opaque = false;
  auto def = [&](unsigned reg) { int g = Ctx.mc.gpr(reg); if (g >= 0 && g < NumGprs) defs |= uint16_t(1u << g); };
  for (const Insn &in : Insns) {
    uint64_t t;
    switch (in.op) {
    case Op::CallRel:
      if (Ctx.mc.branchTarget(in, t)) { if (!Ctx.noReturn.count(t)) callees.push_back(t); }
      else opaque = true;
      continue;
    case Op::CallMem:
      if (!callsNoReturn(in)) opaque = true;
      continue;
    case Op::CallReg: case Op::JmpMem:
      opaque = true;
      continue;
    case Op::JmpRel: case Op::Jcc:
      if (Ctx.mc.branchTarget(in, t) && (t < Start || t >= End)) callees.push_back(t);
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

// Whether control cannot continue past the last instruction of the extent. A call there is a call
// to a function that does not return: compilers never fall from a call into the next function.
bool FunctionAnalyzer::callsNoReturn(const Insn &in) const {
  uint64_t t;
  if (in.op == Op::CallRel) return Ctx.mc.branchTarget(in, t) && Ctx.noReturn.count(t);
  if (in.op == Op::CallMem) {
    if (auto a = Ctx.mc.ripAddress(in)) {
      auto it = Ctx.slotImport.find(*a);
      return it != Ctx.slotImport.end() && isNoReturnImport(Ctx.imports[size_t(it->second)]);
    }
  }
  return false;
}

// The register known to be zero on one edge of the conditional jump Insns[i], or -1.
int FunctionAnalyzer::zeroTested(size_t i, bool taken) const {
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

bool FunctionAnalyzer::isLocalIndirectJump(const Insn &in) const {
  if (in.op == Op::JmpReg) return true;
  if (in.op != Op::JmpMem) return false;
  auto a = Ctx.mc.ripAddress(in);
  return !a || (!Ctx.slotImport.count(*a) && !Ctx.slotLocal.count(*a));
}

// Whether execution can run past the end of the extent: the last instruction that is not padding
// does not end the flow, and the decoded bytes reach the end.
bool FunctionAnalyzer::fallsOffEnd() const {
  if (Insns.empty() || Insns.back().addr + Insns.back().size != End) return false;
  for (auto it = Insns.rbegin(); it != Insns.rend(); ++it)
    if (it->op != Op::Nop) return !endsFlow(*it);
  return true; // only padding: reached only if something jumps here, and then it falls through
}

bool FunctionAnalyzer::endsFlow(const Insn &l) {
  return l.op == Op::JmpRel || l.op == Op::JmpReg || l.op == Op::JmpMem || l.op == Op::Ret || l.op == Op::Trap ||
         l.op == Op::CallRel || l.op == Op::CallReg || l.op == Op::CallMem;
}

// Code addresses an instruction materializes (function pointers taken).
std::vector<uint64_t> FunctionAnalyzer::codeRefs(const Insn &in) const {
  std::vector<uint64_t> out;
  if (in.op == Op::Lea64 || in.op == Op::Lea32) {
    if (auto a = Ctx.mc.ripAddress(in); a && Ctx.isCode(*a)) out.push_back(*a);
    else if (Ctx.absoluteCode) {
      MemOperand m = Ctx.mc.memOperand(in.inst, 1);
      if (m.valid && m.base < 0 && m.index < 0 && Ctx.isCode(uint64_t(m.disp)))
        out.push_back(uint64_t(m.disp));
    }
    return out;
  }
  if (Ctx.absoluteCode) {
    for (unsigned i = 0; i < in.inst.getNumOperands(); ++i) {
      const MCOperand &o = in.inst.getOperand(i);
      if (o.isImm() && in.op != Op::JmpRel && in.op != Op::Jcc && in.op != Op::CallRel &&
          Ctx.isCode(uint64_t(o.getImm())) && (in.op == Op::MovRI32 || in.op == Op::MovRI64 ||
                                               in.op == Op::StoreMI || in.op == Op::PushI))
        out.push_back(uint64_t(o.getImm()));
    }
  }
  return out;
}

// The argument registers of the x86-64 syscall convention known at a `syscall` (argument facts).
ArgList FunctionAnalyzer::syscallArgs(const State &s) {
  ArgList out;
  for (int r : SyscallArgRegs)
    if (recorded(s.reg[r])) out.push_back({uint8_t(r), s.reg[r]});
  return out;
}

std::vector<RegValue> FunctionAnalyzer::knownArgs(const State &s) const {
  std::vector<RegValue> out;
  for (int r = 0; r < NumGprs; ++r)
    if (isArgReg(r) && recorded(s.reg[r]))
      out.push_back({uint8_t(r), s.reg[r]});
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The fixpoint: build blocks, seed their entry states, iterate, then emit facts with the final states.

RawFunction FunctionAnalyzer::analyze(const State &entry) {
  // Bytes known by no symbol or FDE that do not even decode are data in .text (crypto tables), not code.
  if (Strict && (Raw.decodeErrors || std::any_of(Insns.begin(), Insns.end(), [&](const Insn &in) {
                   return Ctx.mc.MII->getName(in.inst.getOpcode()).starts_with("LRET");
                 })))
    return std::move(Raw);
  if (Insns.empty())
    return std::move(Raw);
  buildBlocks();
  seedStates(entry);
  iterate();
  emitFacts();
  emitFallOff();
  return std::move(Raw);
}

State FunctionAnalyzer::stateAtEnd() {
  if (In.empty()) return State();
  size_t last = B.count() - 1;
  State s = In[last];
  if (s.reached) transferRange(B.starts[last], Insns.size(), s, nullptr);
  return s;
}

void FunctionAnalyzer::buildBlocks() {
  size_t n = Insns.size();
  B.index.reserve(n);
  for (size_t i = 0; i < n; ++i) B.index[Insns[i].addr] = i;
  std::vector<char> leader(n, 0);
  B.hasPred.assign(n, 0);
  leader[0] = 1;
  B.hasPred[0] = 1;
  for (size_t i = 0; i < n; ++i) {
    const Insn &in = Insns[i];
    if (BadAt.count(in.addr) && i) leader[i] = 1;
    bool ends = in.op == Op::JmpRel || in.op == Op::Jcc || in.op == Op::JmpReg || in.op == Op::JmpMem ||
                in.op == Op::Ret || in.op == Op::Trap || callsNoReturn(in);
    if (ends && i + 1 < n) leader[i + 1] = 1;
    uint64_t t;
    if ((in.op == Op::JmpRel || in.op == Op::Jcc) && Ctx.mc.branchTarget(in, t)) {
      auto it = B.index.find(t);
      if (it != B.index.end()) { leader[it->second] = 1; B.hasPred[it->second] = 1; }
    }
    if (!ends && i + 1 < n && Insns[i + 1].addr == in.addr + in.size) B.hasPred[i + 1] = 1;
    if (in.op == Op::Jcc && i + 1 < n) B.hasPred[i + 1] = 1;
  }
  B.blockOf.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (leader[i]) B.starts.push_back(i);
    B.blockOf[i] = B.starts.size() - 1;
  }
}

size_t FunctionAnalyzer::blockEnd(size_t b) const { return b + 1 < B.count() ? B.starts[b + 1] : Insns.size(); }

void FunctionAnalyzer::seedStates(const State &entry) {
  size_t nb = B.count();
  In.assign(nb, State());
  In[0] = entry;
  for (size_t b = 1; b < nb; ++b) {
    // Blocks without a known predecessor (jump-table targets, landing pads) start knowing nothing.
    if (B.hasPred[B.starts[b]]) continue;
    // Alignment padding after a jump is not reached at all.
    bool padding = true;
    for (size_t i = B.starts[b]; i < blockEnd(b) && padding; ++i) padding = Insns[i].op == Op::Nop;
    // Code with neither symbol nor FDE is followed only along control flow: it may be data in .text.
    if (!padding && !Strict) In[b] = State::unknown();
  }
}

void FunctionAnalyzer::iterate() {
  size_t nb = B.count(), n = Insns.size();
  std::vector<size_t> work;
  std::vector<char> queued(nb, 0);
  auto flowTo = [&](size_t tb, const State &s) {
    if (In[tb].joinWith(s) && !queued[tb]) { work.push_back(tb); queued[tb] = 1; }
  };
  for (size_t b = 0; b < nb; ++b) if (In[b].reached) { work.push_back(b); queued[b] = 1; }
  unsigned iterations = 0;
  while (!work.empty()) {
    size_t b = work.back();
    work.pop_back();
    queued[b] = 0;
    if (++iterations > 50 * nb + 1000) { // guarantees termination on pathological code; stays sound
      for (size_t x = 0; x < nb; ++x) In[x] = State::unknown();
      break;
    }
    State s = In[b];
    size_t last = blockEnd(b);
    bool fallsThrough = true;
    for (size_t i = B.starts[b]; i < last; ++i) {
      const Insn &ins = Insns[i];
      transfer(ins, s, nullptr);
      uint64_t t;
      if ((ins.op == Op::JmpRel || ins.op == Op::Jcc) && Ctx.mc.branchTarget(ins, t)) {
        auto it = B.index.find(t);
        if (it != B.index.end()) {
          State taken = s;
          // `test %r,%r; je` branches with %r == 0 (musl reaches `syscall` with SYS_read = 0 this way).
          if (int z = zeroTested(i, /*taken=*/true); z >= 0) taken.reg[z] = AbsValue::constant(0);
          flowTo(B.blockOf[it->second], taken);
        }
      }
      if (ins.op == Op::Jcc)
        if (int z = zeroTested(i, /*taken=*/false); z >= 0) s.reg[z] = AbsValue::constant(0);
      if (isLocalIndirectJump(ins)) // a switch: any block may be its target
        for (size_t tb = 0; tb < nb; ++tb) flowTo(tb, s);
      if (ins.op == Op::JmpRel || ins.op == Op::JmpReg || ins.op == Op::JmpMem || ins.op == Op::Ret ||
          ins.op == Op::Trap || callsNoReturn(ins))
        fallsThrough = false;
    }
    if (fallsThrough && last < n && Insns[last].addr == Insns[last - 1].addr + Insns[last - 1].size)
      flowTo(b + 1, s);
  }
}

void FunctionAnalyzer::emitFacts() {
  for (size_t b = 0; b < B.count(); ++b) {
    State s = In[b];
    if (!s.reached && Strict) continue;
    if (!s.reached) s = State::unknown();
    transferRange(B.starts[b], blockEnd(b), s, &Raw);
  }
}

// Falling off the end of the extent continues in the next function.
void FunctionAnalyzer::emitFallOff() {
  size_t nb = B.count();
  if (!fallsOffEnd() || (!In[nb - 1].reached && Strict)) return;
  State s = In[nb - 1];
  if (!s.reached) s = State::unknown();
  transferRange(B.starts[nb - 1], Insns.size(), s, nullptr);
  RawEdge e;
  e.kind = Edge::Tail;
  e.site = Insns.back().addr;
  e.target = End;
  e.args = knownArgs(s);
  Raw.edges.push_back(std::move(e));
}

void FunctionAnalyzer::transferRange(size_t from, size_t to, State &s, RawFunction *out) {
  for (size_t i = from; i < to; ++i) transfer(Insns[i], s, out);
}

// ---------------------------------------------------------------------------------------------------
// The transfer function

// v + k: a 32-bit addition of an entry or derived value is a derived one (an argument turned into a
// request code, tcsetattr's `lea 0x5402(%r9),%esi`); otherwise constants and frame addresses shift.
AbsValue FunctionAnalyzer::plus(const AbsValue &v, int64_t k, bool is32) {
  if (is32 && (v.kind == AbsValue::Entry || v.kind == AbsValue::Derived)) return v.op32(AbsValue::Add32, uint64_t(k));
  return v.plus(k);
}

AbsValue FunctionAnalyzer::read(const State &s, unsigned reg) const {
  int g = Ctx.mc.gpr(reg);
  if (g < 0 || g >= NumGprs) return AbsValue::top();
  return s.reg[g];
}

void FunctionAnalyzer::write(State &s, unsigned reg, AbsValue v, bool is32) {
  int g = Ctx.mc.gpr(reg);
  if (g < 0 || g >= NumGprs) return;
  if (is32) v = v.zeroExtended32();
  if (v.kind == AbsValue::Stack && g != RSP && g != RBP) Escaped = true;
  s.reg[g] = v;
}

// Stack slot offset addressed by a memory operand, when its base holds a known frame address.
std::optional<int64_t> FunctionAnalyzer::slotOf(const State &s, const MemOperand &m) const {
  if (!m.valid || m.index >= 0 || m.base < 0 || m.base >= NumGprs) return std::nullopt;
  const AbsValue &b = s.reg[m.base];
  if (b.kind != AbsValue::Stack) return std::nullopt;
  return int64_t(b.c[0]) + m.disp;
}

void FunctionAnalyzer::clobberCallerSaved(State &s, uint16_t mask) {
  for (int r = 0; r < NumGprs; ++r)
    if (mask >> r & 1 & (CallerSaved >> r)) s.reg[r] = AbsValue::top();
  if (Escaped) s.slots.clear();
}

uint16_t FunctionAnalyzer::clobbersOf(uint64_t target) const {
  auto it = Ctx.clobbers.find(target);
  return it == Ctx.clobbers.end() ? CallerSaved : it->second;
}

void FunctionAnalyzer::genericStore(State &s, const Insn &in) {
  int mo = Ctx.mc.firstMemOperand(in.inst);
  if (mo < 0) return;
  MemOperand m = Ctx.mc.memOperand(in.inst, unsigned(mo));
  if (auto off = slotOf(s, m)) s.killSlotsAround(*off);
  else if (!m.valid || m.base != GprRip) {
    if (Escaped) s.slots.clear();
  }
}

void FunctionAnalyzer::edge(RawFunction *out, Edge::Kind kind, const Insn &in, const State &s,
                            std::optional<uint64_t> local, int32_t import, bool indirect) {
  if (!out) return;
  RawEdge e;
  e.kind = kind;
  e.site = in.addr;
  if (local) e.target = *local;
  e.import = import;
  e.indirect = indirect;
  if (kind != Edge::AddressTaken) e.args = knownArgs(s);
  out->edges.push_back(std::move(e));
}

// A call or jump through memory: a GOT slot names its target.
void FunctionAnalyzer::memoryTransfer(const Insn &in, const State &s, RawFunction *out, Edge::Kind kind) {
  if (auto a = Ctx.mc.ripAddress(in)) {
    auto it = Ctx.slotImport.find(*a);
    if (it != Ctx.slotImport.end()) return edge(out, kind, in, s, std::nullopt, it->second, false);
    auto lt = Ctx.slotLocal.find(*a);
    if (lt != Ctx.slotLocal.end()) return edge(out, kind, in, s, lt->second, -1, false);
  }
  edge(out, kind, in, s, std::nullopt, -1, true);
}

void FunctionAnalyzer::transfer(const Insn &in, State &s, RawFunction *out) {
  if (out)
    for (uint64_t a : codeRefs(in)) edge(out, Edge::AddressTaken, in, s, a, -1, false);
  if (transferRegister(in, s) || transferMemory(in, s, out) || transferControl(in, s, out))
    return;
  transferGeneric(in, s);
}

// Moves, constants and arithmetic between registers; false when `in` is none of these.
bool FunctionAnalyzer::transferRegister(const Insn &in, State &s) {
  const MCInst &I = in.inst;
  switch (in.op) {
  case Op::MovRI8: { // mov $imm, %al: replaces the low byte of a known register (musl: xor %eax,%eax; mov $56,%al)
    unsigned reg = I.getOperand(0).getReg();
    int g = Ctx.mc.gpr(reg);
    StringRef name = Ctx.mc.regInfo().getName(reg);
    AbsValue v = AbsValue::top();
    if (g >= 0 && g < NumGprs && s.reg[g].kind == AbsValue::Const && (name.ends_with("L") || name.ends_with("B")))
      v = s.reg[g].withLowByte(uint8_t(I.getOperand(1).getImm()));
    if (g >= 0 && g < NumGprs) s.reg[g] = v;
    return true;
  }
  case Op::Cmov32:
  case Op::Cmov64: // either value: musl picks SYS_readv or SYS_read this way
    write(s, I.getOperand(0).getReg(), read(s, I.getOperand(1).getReg()).join(read(s, I.getOperand(2).getReg())),
          in.op == Op::Cmov32);
    return true;
  case Op::MovRI32:
  case Op::MovRI64:
    write(s, I.getOperand(0).getReg(), AbsValue::constant(uint64_t(I.getOperand(1).getImm())), in.op == Op::MovRI32);
    return true;
  case Op::MovRR32:
  case Op::MovRR64:
    write(s, I.getOperand(0).getReg(), read(s, I.getOperand(1).getReg()), in.op == Op::MovRR32);
    return true;
  case Op::Movsx32: // movslq: musl's socket() sign-extends each int argument
    write(s, I.getOperand(0).getReg(), read(s, I.getOperand(1).getReg()).signExtended32(), false);
    return true;
  case Op::Xor32:
  case Op::Xor64:
    if (I.getNumOperands() >= 3 && I.getOperand(1).getReg() == I.getOperand(2).getReg())
      write(s, I.getOperand(0).getReg(), AbsValue::constant(0), false);
    else
      write(s, I.getOperand(0).getReg(), AbsValue::top(), false);
    return true;
  case Op::Lea64:
  case Op::Lea32: {
    MemOperand m = Ctx.mc.memOperand(I, 1);
    AbsValue v = AbsValue::top();
    if (m.valid && m.index < 0) {
      if (m.base == GprRip) v = AbsValue::constant(in.addr + in.size + uint64_t(m.disp));
      else if (m.base >= 0 && m.base < NumGprs) v = plus(s.reg[m.base], m.disp, in.op == Op::Lea32);
      else if (m.base < 0) v = AbsValue::constant(uint64_t(m.disp));
    } else if (m.valid && in.op == Op::Lea32 && m.base < 0 && m.index >= 0 && m.index < NumGprs) {
      // lea k(,%reg,2^s),%r32: a shift and an add (GCC's `flags << 3`)
      int shift = m.scale == 1 ? 0 : m.scale == 2 ? 1 : m.scale == 4 ? 2 : m.scale == 8 ? 3 : -1;
      if (shift >= 0) {
        v = s.reg[m.index].op32(AbsValue::Shl32, uint64_t(shift));
        if (m.disp) v = v.op32(AbsValue::Add32, uint64_t(m.disp));
      }
    }
    write(s, I.getOperand(0).getReg(), v, in.op == Op::Lea32);
    return true;
  }
  case Op::AddRI:
  case Op::SubRI:
  case Op::AddRI32:
  case Op::SubRI32: {
    int64_t k = I.getOperand(2).getImm();
    if (in.op == Op::SubRI || in.op == Op::SubRI32) k = -k;
    bool is32 = in.op == Op::AddRI32 || in.op == Op::SubRI32;
    write(s, I.getOperand(0).getReg(), plus(read(s, I.getOperand(1).getReg()), k, is32), is32);
    return true;
  }
  case Op::AndRI32:
  case Op::OrRI32:
  case Op::ShlRI32:
  case Op::ShrRI32: { // 32-bit bit operations: flag words built from an argument (libsystemd's clone flags)
    AbsValue::DerivedOp op = in.op == Op::AndRI32 ? AbsValue::And32
                             : in.op == Op::OrRI32 ? AbsValue::Or32
                             : in.op == Op::ShlRI32 ? AbsValue::Shl32
                                                    : AbsValue::Shr32;
    if (I.getNumOperands() < 3 || !I.getOperand(2).isImm()) return false;
    write(s, I.getOperand(0).getReg(), read(s, I.getOperand(1).getReg()).op32(op, uint64_t(I.getOperand(2).getImm())), true);
    return true;
  }
  default:
    return false;
  }
}

// Loads, stores, push, pop and leave: the stack slots; false when `in` is none of these.
bool FunctionAnalyzer::transferMemory(const Insn &in, State &s, RawFunction *out) {
  const MCInst &I = in.inst;
  switch (in.op) {
  case Op::LoadRM64:
  case Op::LoadRM32: {
    MemOperand m = Ctx.mc.memOperand(I, 1);
    AbsValue v = AbsValue::top();
    if (auto off = slotOf(s, m)) v = s.slot(*off);
    write(s, I.getOperand(0).getReg(), v, in.op == Op::LoadRM32);
    if (out) { // loading a function pointer from a GOT slot takes its address
      if (auto a = Ctx.mc.ripAddress(in)) {
        auto it = Ctx.slotImport.find(*a);
        if (it != Ctx.slotImport.end()) edge(out, Edge::AddressTaken, in, s, std::nullopt, it->second, false);
        auto lt = Ctx.slotLocal.find(*a);
        if (lt != Ctx.slotLocal.end()) edge(out, Edge::AddressTaken, in, s, lt->second, -1, false);
      }
    }
    return true;
  }
  case Op::StoreMR64:
  case Op::StoreMR32:
  case Op::StoreMI: {
    MemOperand m = Ctx.mc.memOperand(I, 0);
    AbsValue v = in.op == Op::StoreMI ? AbsValue::constant(uint64_t(I.getOperand(5).getImm()))
                                      : read(s, I.getOperand(5).getReg());
    // A 32-bit store keeps a constant (already zero-extended) and an entry value, as a 32-bit register
    // write does (AbstractState.h: zeroExtended32): every use of an entry value reads its low 32 bits
    // (syscall numbers, recorded arguments) or a pointer no compiler spills in halves.
    if (in.op == Op::StoreMR32 && !recorded(v)) v = AbsValue::top();
    if (v.kind == AbsValue::Stack) Escaped = true;
    if (auto off = slotOf(s, m)) {
      s.killSlotsAround(*off);
      s.setSlot(*off, v);
    } else if (Escaped && (!m.valid || m.base != GprRip)) {
      s.slots.clear();
    }
    return true;
  }
  case Op::PushR:
  case Op::PushI: {
    AbsValue v = in.op == Op::PushI ? AbsValue::constant(uint64_t(I.getOperand(0).getImm())) : read(s, I.getOperand(0).getReg());
    AbsValue sp = s.reg[RSP].plus(-8);
    s.reg[RSP] = sp;
    if (sp.kind == AbsValue::Stack) s.setSlot(int64_t(sp.c[0]), v);
    return true;
  }
  case Op::PopR: {
    AbsValue sp = s.reg[RSP];
    AbsValue v = sp.kind == AbsValue::Stack ? s.slot(int64_t(sp.c[0])) : AbsValue::top();
    s.reg[RSP] = sp.plus(8);
    write(s, I.getOperand(0).getReg(), v, false);
    return true;
  }
  case Op::Leave: {
    AbsValue bp = s.reg[RBP];
    AbsValue v = bp.kind == AbsValue::Stack ? s.slot(int64_t(bp.c[0])) : AbsValue::top();
    s.reg[RSP] = bp.plus(8);
    s.reg[RBP] = v;
    return true;
  }
  default:
    return false;
  }
}

// Calls, jumps and system calls: edges and syscall sites; false when `in` is none of these.
bool FunctionAnalyzer::transferControl(const Insn &in, State &s, RawFunction *out) {
  const MCInst &I = in.inst;
  switch (in.op) {
  case Op::CallRel: {
    uint64_t t;
    if (Ctx.mc.branchTarget(in, t)) {
      edge(out, Edge::Call, in, s, t, -1, false);
      clobberCallerSaved(s, clobbersOf(t));
    } else {
      edge(out, Edge::Call, in, s, std::nullopt, -1, true);
      clobberCallerSaved(s, CallerSaved);
    }
    return true;
  }
  case Op::CallReg: {
    // `mov $0xffffffffff600000,%rax; call *%rax` (old static glibc): the kernel emulates a syscall.
    AbsValue target = read(s, I.getOperand(0).getReg());
    if (out && target.kind == AbsValue::Const) {
      AbsValue nrs = AbsValue::bottom();
      for (int i = 0; i < target.n; ++i)
        if (int nr = vsyscallNumber(target.c[i]); nr >= 0) nrs = nrs.join(AbsValue::constant(uint64_t(nr)));
      if (nrs.kind == AbsValue::Const) out->syscalls.push_back({SyscallSite::Syscall, in.addr, nrs, {}});
    }
    edge(out, Edge::Call, in, s, std::nullopt, -1, true);
    clobberCallerSaved(s, CallerSaved);
    return true;
  }
  case Op::CallMem:
    memoryTransfer(in, s, out, Edge::Call);
    clobberCallerSaved(s, CallerSaved);
    return true;
  case Op::JmpRel:
  case Op::Jcc: {
    uint64_t t;
    if (Ctx.mc.branchTarget(in, t) && (t < Start || t >= End)) edge(out, Edge::Tail, in, s, t, -1, false);
    return true;
  }
  case Op::JmpReg:
    // Indirect jumps inside a function are switch tables; leaving it would need a code pointer, which
    // is an address-taken function and reachable anyway.
    return true;
  case Op::JmpMem:
    if (auto a = Ctx.mc.ripAddress(in); a && (Ctx.slotImport.count(*a) || Ctx.slotLocal.count(*a)))
      memoryTransfer(in, s, out, Edge::Tail);
    return true;
  case Op::Syscall:
  case Op::Sysenter:
    if (out) {
      SyscallSite site{in.op == Op::Syscall ? SyscallSite::Syscall : SyscallSite::Sysenter, in.addr, s.reg[RAX], {}};
      if (in.op == Op::Syscall) site.args = syscallArgs(s);
      out->syscalls.push_back(std::move(site));
    }
    s.reg[RAX] = s.reg[RCX] = s.reg[R11] = AbsValue::top();
    return true;
  case Op::Int:
    if (I.getNumOperands() && I.getOperand(0).isImm() && I.getOperand(0).getImm() == 0x80) {
      if (out) out->syscalls.push_back({SyscallSite::Int80, in.addr, s.reg[RAX], {}});
      s.reg[RAX] = AbsValue::top();
    }
    return true;
  default:
    return false;
  }
}

// Any other instruction: every register it defines becomes unknown, and a store may hit the frame.
void FunctionAnalyzer::transferGeneric(const Insn &in, State &s) {
  const MCInst &I = in.inst;
  const MCInstrDesc &d = Ctx.mc.desc(I);
  for (unsigned i = 0; i < d.getNumDefs() && i < I.getNumOperands(); ++i)
    if (I.getOperand(i).isReg()) write(s, I.getOperand(i).getReg(), AbsValue::top(), false);
  for (MCPhysReg r : d.implicit_defs()) write(s, r, AbsValue::top(), false);
  if (d.mayStore()) genericStore(s, in);
}

} // namespace bespoke
