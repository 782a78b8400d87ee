// FunctionAnalysis: the per-function analysis. One FunctionAnalyzer decodes one function's extent,
// answers the questions function discovery asks of it (targets, whether it returns, which registers
// it clobbers), and runs the constant/entry-value dataflow over its blocks to resolve %rax at every
// syscall and the argument registers at every call. Module-level facts it needs (GOT slots, callee
// summaries) come in through ModuleContext, so the analysis runs on any bytes, not only on an ELF file.
#pragma once

#include "analyzer/AbstractState.h"
#include "analyzer/ModuleModel.h"
#include "analyzer/X86Decoder.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace bespoke {

// What one function's analysis knows about the module around it.
struct ModuleContext {
  ModuleContext(const X86Machine &mc, std::function<bool(uint64_t)> isCode, bool absoluteCode)
      : mc(mc), isCode(std::move(isCode)), absoluteCode(absoluteCode) {}

  const X86Machine &mc;
  std::function<bool(uint64_t)> isCode; // the address is in an executable section
  bool absoluteCode; // ET_EXEC: immediates may be code addresses
  // GOT-like slots: address -> (import index) or local target address
  std::unordered_map<uint64_t, int32_t> slotImport;
  std::unordered_map<uint64_t, uint64_t> slotLocal;
  std::vector<std::string> imports;
  std::unordered_map<std::string, int32_t> importIndex;
  // Registers a local function (and what it calls) may overwrite, by start address (bit r = register r).
  // Compilers keep values in caller-saved registers across calls to functions known not to touch them
  // (GCC -fipa-ra).
  std::unordered_map<uint64_t, uint16_t> clobbers;
  std::unordered_set<uint64_t> noReturn; // local functions that never return

  int32_t importOf(const std::string &name);
};

// The raw result of analysing one function before targets are mapped to function indices.
struct RawEdge {
  Edge::Kind kind = Edge::Call;
  uint64_t site = 0;
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
  FunctionAnalyzer(const ModuleContext &ctx, uint64_t start, uint64_t end, bool strict = false)
      : Ctx(ctx), Start(start), End(end), Strict(strict) {}

  // Decodes [Start, End) linearly from `bytes`, the contents of that range.
  void decode(llvm::ArrayRef<uint8_t> bytes);

  // Direct branch/call targets and code addresses referenced, for function discovery.
  void collectTargets(std::vector<uint64_t> &out) const;
  // Whether the function can return by itself, and where it continues when it leaves its extent.
  bool mayReturn(std::vector<uint64_t> &tailTargets) const;
  // Registers this function writes itself, and the local functions it calls or jumps to; `opaque` when
  // it calls something unknown (import, pointer), which may overwrite any caller-saved register.
  uint16_t ownDefs(std::vector<uint64_t> &callees, bool &opaque) const;

  // The dataflow to a fixpoint from `entry`, then the facts: syscall sites and edges.
  RawFunction analyze(const State &entry = State::atFunctionEntry());
  // After analyze(): the state after the extent's last instruction (unreached when no path gets there).
  State stateAtEnd();

private:
  // Basic blocks over Insns: leaders are the entry, in-range branch targets, and instructions after
  // control transfers.
  struct Blocks {
    std::unordered_map<uint64_t, size_t> index; // instruction address -> index in Insns
    std::vector<size_t> starts;                 // first instruction of each block
    std::vector<size_t> blockOf;                // instruction -> block
    std::vector<char> hasPred;                  // instruction has a known predecessor
    size_t count() const { return starts.size(); }
  };
  void buildBlocks();
  void seedStates(const State &entry);
  void iterate();
  void emitFacts();
  void emitFallOff();
  size_t blockEnd(size_t b) const;
  void transferRange(size_t from, size_t to, State &s, RawFunction *out);

  bool callsNoReturn(const Insn &in) const;
  int zeroTested(size_t i, bool taken) const;
  bool isLocalIndirectJump(const Insn &in) const;
  bool fallsOffEnd() const;
  static bool endsFlow(const Insn &l);
  std::vector<uint64_t> codeRefs(const Insn &in) const;
  std::vector<RegValue> knownArgs(const State &s) const;
  static ArgList syscallArgs(const State &s);

  // The transfer function, by kind of instruction; `out` receives facts (null while iterating).
  void transfer(const Insn &in, State &s, RawFunction *out);
  bool transferRegister(const Insn &in, State &s);
  bool transferMemory(const Insn &in, State &s, RawFunction *out);
  bool transferControl(const Insn &in, State &s, RawFunction *out);
  void transferGeneric(const Insn &in, State &s);

  AbsValue read(const State &s, unsigned reg) const;
  static AbsValue plus(const AbsValue &v, int64_t k, bool is32);
  void write(State &s, unsigned reg, AbsValue v, bool is32);
  std::optional<int64_t> slotOf(const State &s, const MemOperand &m) const;
  void clobberCallerSaved(State &s, uint16_t mask);
  uint16_t clobbersOf(uint64_t target) const;
  void genericStore(State &s, const Insn &in);
  void edge(RawFunction *out, Edge::Kind kind, const Insn &in, const State &s, std::optional<uint64_t> local,
            int32_t import, bool indirect);
  void memoryTransfer(const Insn &in, const State &s, RawFunction *out, Edge::Kind kind);

  const ModuleContext &Ctx;
  uint64_t Start, End;
  bool Strict;
  std::vector<Insn> Insns;
  std::set<uint64_t> BadAt;
  // A frame address was written to memory or a register other than rsp/rbp: a callee or an unknown
  // store may then change any stack slot.
  bool Escaped = false;
  RawFunction Raw;
  Blocks B;
  std::vector<State> In; // fixpoint state at each block's entry
};

} // namespace bespoke
