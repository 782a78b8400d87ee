#include "verify/EbpfSafety.h"

#include <array>
#include <cstddef>
#include <optional>
#include <string>

#include "verify/Equivalence.h"

#include <llvm/ADT/StringExtras.h>

namespace bespoke {

std::vector<ContextField> readableContextFields(NetHook hook) {
  if (hook == NetHook::SockCreate)
    return {{offsetof(bpf_sock, family), "family"},
            {offsetof(bpf_sock, type), "type"},
            {offsetof(bpf_sock, protocol), "protocol"}};
  std::vector<ContextField> fields;
  if (isIpv6(hook)) {
    static const char *Names[] = {"user_ip6[0]", "user_ip6[1]", "user_ip6[2]", "user_ip6[3]"};
    for (int i = 0; i < 4; ++i)
      fields.push_back({static_cast<int16_t>(offsetof(bpf_sock_addr, user_ip6) + 4 * i), Names[i]});
  } else {
    fields.push_back({offsetof(bpf_sock_addr, user_ip4), "user_ip4"});
  }
  fields.push_back({offsetof(bpf_sock_addr, user_port), "user_port"});
  return fields;
}

namespace {

constexpr size_t MaxInstructions = EbpfMaxInstructions;
constexpr unsigned NumRegs = 11; // r0..r10
constexpr uint8_t FramePointer = 10;

// What a register holds at an instruction, joined over the paths to it.
enum class Kind : uint8_t { Unwritten, Number, Context, Mixed };

struct RegState {
  Kind kind = Kind::Unwritten;
  bool zeroOrOne = false; // a number that is 0 or 1 on every path (by the simple rule in the header)
};
using State = std::array<RegState, NumRegs>;

State join(const State &a, const State &b) {
  State s;
  for (unsigned r = 0; r < NumRegs; ++r) {
    Kind x = a[r].kind, y = b[r].kind;
    s[r].kind = x == y ? x : (x == Kind::Unwritten || y == Kind::Unwritten) ? Kind::Unwritten : Kind::Mixed;
    s[r].zeroOrOne = a[r].zeroOrOne && b[r].zeroOrOne;
  }
  return s;
}

bool isAllowedAluOp(uint8_t op) {
  switch (op) {
  case BPF_ADD: case BPF_SUB: case BPF_AND: case BPF_OR: case BPF_XOR: case BPF_LSH: case BPF_RSH: case BPF_MOV:
    return true;
  default:
    return false;
  }
}

bool isCondJumpOp(uint8_t op) {
  switch (op) {
  case BPF_JEQ: case BPF_JNE: case BPF_JGT: case BPF_JGE: case BPF_JLT: case BPF_JLE:
  case BPF_JSGT: case BPF_JSGE: case BPF_JSLT: case BPF_JSLE: case BPF_JSET:
    return true;
  default:
    return false;
  }
}

class Checker {
public:
  explicit Checker(const EbpfProgram &p) : prog(p), n(p.insns.size()) {}

  llvm::Error run() {
    if (n == 0)
      return fail("empty program: a network program has 1 to 4096 instructions");
    if (n > MaxInstructions)
      return fail(std::to_string(n) + " instructions: more than the limit of 4096");
    for (size_t pc = 0; pc < n; ++pc)
      if (auto err = checkShape(pc))
        return err;
    return dataflow();
  }

private:
  const EbpfProgram &prog;
  size_t n;

  llvm::Error fail(const std::string &msg) const {
    return llvm::make_error<ProofError>(ProofError::KernelWouldRefuse, msg);
  }
  llvm::Error at(size_t pc, const std::string &msg) const {
    return fail("insn " + std::to_string(pc) + " (" + disassemble(prog.insns[pc]) + "): " + msg);
  }

  // Opcode, reserved fields, register numbers, jump targets, load fields: what one instruction alone shows.
  llvm::Error checkShape(size_t pc) const {
    const bpf_insn &in = prog.insns[pc];
    uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
    bool x = BPF_SRC(in.code) == BPF_X;
    if (in.dst_reg >= NumRegs || in.src_reg >= NumRegs)
      return at(pc, "register r" + std::to_string(in.dst_reg >= NumRegs ? in.dst_reg : in.src_reg) +
                    " does not exist");
    auto reserved = [&](bool ok) { return ok ? llvm::Error::success() : at(pc, "a reserved field is not zero"); };
    switch (cls) {
    case BPF_LDX: {
      if (BPF_MODE(in.code) != BPF_MEM)
        return at(pc, "only plain memory loads (LDX MEM) are in the subset");
      if (BPF_SIZE(in.code) != BPF_W)
        return at(pc, "a " + std::string(BPF_SIZE(in.code) == BPF_B ? "1" : BPF_SIZE(in.code) == BPF_H ? "2" : "8") +
                      "-byte load: only 4-byte context loads are in the subset");
      if (auto err = reserved(in.imm == 0))
        return err;
      for (const ContextField &f : readableContextFields(prog.hook))
        if (f.offset == in.off)
          return llvm::Error::success();
      std::string allowed;
      for (const ContextField &f : readableContextFields(prog.hook))
        allowed += (allowed.empty() ? "" : ", ") + std::string(f.name) + "@" + std::to_string(f.offset);
      return at(pc, "offset " + std::to_string(in.off) + " is not a field a " + hookName(prog.hook) +
                    " program may read (" + allowed + ")");
    }
    case BPF_ALU:
    case BPF_ALU64: {
      if (!isAllowedAluOp(op))
        return at(pc, "ALU operation 0x" + llvm::utohexstr(op) + " is not in the subset (add, sub, and, or, xor, "
                      "lsh, rsh, mov)");
      if (auto err = reserved(in.off == 0 && (x ? in.imm == 0 : in.src_reg == 0)))
        return err;
      unsigned width = cls == BPF_ALU64 ? 64 : 32;
      if (!x && (op == BPF_LSH || op == BPF_RSH) && (in.imm < 0 || static_cast<unsigned>(in.imm) >= width))
        return at(pc, "shift by " + std::to_string(in.imm) + " (not below " + std::to_string(width) + ")");
      return llvm::Error::success();
    }
    case BPF_JMP:
    case BPF_JMP32: {
      if (cls == BPF_JMP && op == BPF_EXIT)
        return reserved(in.dst_reg == 0 && in.src_reg == 0 && in.off == 0 && in.imm == 0 && !x);
      if (cls == BPF_JMP && op == BPF_CALL)
        return at(pc, "calls (helpers, kfuncs, subprograms) are not in the subset");
      if (cls == BPF_JMP && op == BPF_JA) {
        if (auto err = reserved(in.dst_reg == 0 && in.src_reg == 0 && in.imm == 0 && !x))
          return err;
      } else if (!isCondJumpOp(op)) {
        return at(pc, "jump opcode 0x" + llvm::utohexstr(in.code) + " is not in the subset");
      } else if (auto err = reserved(x ? in.imm == 0 : in.src_reg == 0)) {
        return err;
      }
      if (in.off < 0)
        return at(pc, "backward jump (to insn " + std::to_string(static_cast<long>(pc) + 1 + in.off) +
                      "): the subset has no loops, so every program terminates");
      if (pc + 1 + in.off >= n)
        return at(pc, "jump target " + std::to_string(pc + 1 + in.off) + " is past the end (" + std::to_string(n) +
                      " instructions)");
      return llvm::Error::success();
    }
    default:
      return at(pc, "opcode 0x" + llvm::utohexstr(in.code) + " is not in the subset (no stores, no 64-bit "
                    "immediates, no packet loads)");
    }
  }

  // One forward pass in index order: every jump is forward, so each instruction's predecessors are done.
  llvm::Error dataflow() const {
    std::vector<std::optional<State>> incoming(n);
    State entry;
    entry[1].kind = Kind::Context;
    incoming[0] = entry;
    auto flow = [&](size_t target, const State &s) {
      incoming[target] = incoming[target] ? join(*incoming[target], s) : s;
    };
    for (size_t pc = 0; pc < n; ++pc) {
      if (!incoming[pc])
        return at(pc, "unreachable instruction (the kernel refuses dead code)");
      State s = *incoming[pc];
      const bpf_insn &in = prog.insns[pc];
      uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
      bool x = BPF_SRC(in.code) == BPF_X;
      if (in.dst_reg == FramePointer || (in.src_reg == FramePointer && (cls == BPF_LDX || x)))
        return at(pc, "uses r10, the frame pointer: these programs have no stack");
      // A read of a register as a number.
      auto number = [&](uint8_t r) -> llvm::Error {
        switch (s[r].kind) {
        case Kind::Number: return llvm::Error::success();
        case Kind::Unwritten:
          return at(pc, "reads r" + std::to_string(r) + ", which is not written on every path to here");
        case Kind::Context: return at(pc, "uses r" + std::to_string(r) + ", the context pointer, as a number");
        case Kind::Mixed: return at(pc, "r" + std::to_string(r) + " holds the context pointer on some paths only");
        }
        return llvm::Error::success();
      };
      if (cls == BPF_LDX) {
        if (s[in.src_reg].kind != Kind::Context)
          return at(pc, "loads through r" + std::to_string(in.src_reg) +
                        ", which does not hold the context pointer on every path");
        s[in.dst_reg] = {Kind::Number, false};
      } else if (cls == BPF_ALU || cls == BPF_ALU64) {
        if (op == BPF_MOV) {
          if (x && cls == BPF_ALU64 && s[in.src_reg].kind == Kind::Context) {
            s[in.dst_reg] = {Kind::Context, false};
          } else if (x) {
            if (auto err = number(in.src_reg))
              return err;
            s[in.dst_reg] = {Kind::Number, s[in.src_reg].zeroOrOne};
          } else {
            s[in.dst_reg] = {Kind::Number, in.imm == 0 || in.imm == 1};
          }
        } else {
          if (auto err = number(in.dst_reg))
            return err;
          if (x)
            if (auto err = number(in.src_reg))
              return err;
          s[in.dst_reg] = {Kind::Number, op == BPF_AND && !x && (in.imm == 0 || in.imm == 1)};
        }
      } else if (op == BPF_EXIT) {
        if (s[0].kind == Kind::Unwritten)
          return at(pc, "exit with r0 not written on every path to it");
        if (auto err = number(0))
          return err;
        if (!s[0].zeroOrOne)
          return at(pc, "exit with r0 not shown to be 0 or 1 (the kernel demands a verdict in [0, 1])");
        continue;
      } else if (op == BPF_JA) {
        flow(pc + 1 + in.off, s);
        continue;
      } else { // conditional jump
        if (auto err = number(in.dst_reg))
          return err;
        if (x)
          if (auto err = number(in.src_reg))
            return err;
        flow(pc + 1 + in.off, s);
      }
      if (pc + 1 >= n)
        return at(pc, "falls off the end of the program (the last instruction must be exit or goto)");
      flow(pc + 1, s);
    }
    return llvm::Error::success();
  }
};

} // namespace

llvm::Error checkEbpfSafety(const EbpfProgram &p) { return Checker(p).run(); }

} // namespace bespoke
