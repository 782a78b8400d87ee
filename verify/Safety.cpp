#include "verify/Safety.h"

#include <llvm/ADT/StringExtras.h>

#include <algorithm>

namespace bespoke {

static bool seccompAllows(uint16_t code) {
  switch (code) {
  case BPF_LD | BPF_W | BPF_ABS:
  case BPF_LD | BPF_W | BPF_LEN:
  case BPF_LDX | BPF_W | BPF_LEN:
  case BPF_RET | BPF_K:
  case BPF_RET | BPF_A:
  case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X:
  case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X:
  case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X:
  case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
  case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X:
  case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X:
  case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X:
  case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X:
  case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X:
  case BPF_ALU | BPF_NEG:
  case BPF_LD | BPF_IMM:
  case BPF_LDX | BPF_IMM:
  case BPF_MISC | BPF_TAX:
  case BPF_MISC | BPF_TXA:
  case BPF_LD | BPF_MEM:
  case BPF_LDX | BPF_MEM:
  case BPF_ST:
  case BPF_STX:
  case BPF_JMP | BPF_JA:
  case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
  case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
  case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
  case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X:
    return true;
  default:
    return false;
  }
}

static bool isCondJump(uint16_t code) { return BPF_CLASS(code) == BPF_JMP && BPF_OP(code) != BPF_JA; }

std::vector<std::string> checkSafety(const BpfProgram &prog) {
  std::vector<std::string> problems;
  size_t n = prog.size();
  if (n == 0)
    return {"empty program: a seccomp filter has 1 to 4096 instructions"};
  if (n > BpfMaxInstructions)
    return {std::to_string(n) + " instructions: more than the kernel's limit of 4096"};
  auto at = [&](size_t pc, const std::string &msg) {
    problems.push_back("insn " + std::to_string(pc) + " (" + disassemble(prog[pc], pc) + "): " + msg);
  };
  bool structural = true; // jump targets and scratch indices are valid, so the dataflow can run
  for (size_t pc = 0; pc < n; ++pc) {
    const sock_filter &in = prog[pc];
    uint16_t c = in.code;
    if (!seccompAllows(c)) {
      at(pc, "opcode 0x" + llvm::utohexstr(c) + " is not allowed in a seccomp filter");
      if (BPF_CLASS(c) == BPF_JMP)
        structural = false; // an unknown jump's targets are unknowable
      continue;
    }
    if (c == (BPF_LD | BPF_W | BPF_ABS)) {
      if (in.k >= SeccompDataSize)
        at(pc, "load offset " + std::to_string(in.k) + " is past the 64-byte seccomp_data");
      else if (in.k % 4 != 0)
        at(pc, "load offset " + std::to_string(in.k) + " is not 4-byte aligned");
    }
    if ((c == (BPF_ALU | BPF_DIV | BPF_K)) && in.k == 0)
      at(pc, "division by constant zero");
    if ((c == (BPF_ALU | BPF_LSH | BPF_K) || c == (BPF_ALU | BPF_RSH | BPF_K)) && in.k >= 32)
      at(pc, "shift by " + std::to_string(in.k) + " (>= 32)");
    if ((c == (BPF_LD | BPF_MEM) || c == (BPF_LDX | BPF_MEM) || c == BPF_ST || c == BPF_STX) &&
        in.k >= BPF_MEMWORDS) {
      at(pc, "scratch index " + std::to_string(in.k) + " is not in M[0..15]");
      structural = false;
    }
    if (c == (BPF_JMP | BPF_JA)) {
      if (in.k >= n - pc - 1) {
        at(pc, "jump target " + std::to_string(pc + 1 + static_cast<uint64_t>(in.k)) + " is past the end");
        structural = false;
      }
    } else if (isCondJump(c)) {
      if (pc + 1 + in.jt >= n) {
        at(pc, "true target " + std::to_string(pc + 1 + in.jt) + " is past the end");
        structural = false;
      }
      if (pc + 1 + in.jf >= n) {
        at(pc, "false target " + std::to_string(pc + 1 + in.jf) + " is past the end");
        structural = false;
      }
    }
  }
  uint16_t last = prog[n - 1].code;
  if (last != (BPF_RET | BPF_K) && last != (BPF_RET | BPF_A))
    at(n - 1, "the last instruction is not a ret");
  if (!structural)
    return problems;

  // check_load_and_stores: a cell is valid at an instruction when it is written on every path to it.
  std::vector<uint16_t> masks(n, 0xffff);
  uint16_t valid = 0;
  for (size_t pc = 0; pc < n; ++pc) {
    const sock_filter &in = prog[pc];
    valid &= masks[pc];
    uint16_t c = in.code;
    if (c == BPF_ST || c == BPF_STX) {
      valid |= static_cast<uint16_t>(1u << in.k);
    } else if (c == (BPF_LD | BPF_MEM) || c == (BPF_LDX | BPF_MEM)) {
      if (!(valid & (1u << in.k)))
        at(pc, "reads M[" + std::to_string(in.k) + "] which is not written on every path before it");
    } else if (c == (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + in.k] &= valid;
      valid = 0xffff;
    } else if (isCondJump(c) && seccompAllows(c)) {
      masks[pc + 1 + in.jt] &= valid;
      masks[pc + 1 + in.jf] &= valid;
      valid = 0xffff;
    }
  }
  return problems;
}

std::vector<std::string> checkStructure(const BpfProgram &prog) {
  std::vector<std::string> problems;
  size_t n = prog.size();
  if (n == 0)
    return {"empty program: a seccomp filter has 1 to 4096 instructions"};
  auto at = [&](size_t pc, const std::string &msg) {
    problems.push_back("insn " + std::to_string(pc) + " (" + disassemble(prog[pc], pc) + "): " + msg);
  };
  for (size_t pc = 0; pc < n; ++pc) {
    const sock_filter &in = prog[pc];
    if (in.code == (BPF_JMP | BPF_JA)) {
      if (in.k >= n - pc - 1)
        at(pc, "jump target " + std::to_string(pc + 1 + static_cast<uint64_t>(in.k)) + " is past the end");
    } else if (isCondJump(in.code) && seccompAllows(in.code)) {
      if (pc + 1 + in.jt >= n || pc + 1 + in.jf >= n)
        at(pc, "jump target " + std::to_string(pc + 1 + std::max(in.jt, in.jf)) + " is past the end");
    }
  }
  uint16_t last = prog[n - 1].code;
  if (last != (BPF_RET | BPF_K) && last != (BPF_RET | BPF_A))
    at(n - 1, "the last instruction is not a ret");
  return problems;
}

} // namespace bespoke
