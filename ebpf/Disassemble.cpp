// One eBPF instruction as the kernel verifier's log prints it (kernel/bpf/disasm.c's style, simplified).
#include "ebpf/Program.h"

#include <cstdio>

namespace bespoke {

namespace {

const char *aluOp(uint8_t op) {
  switch (op) {
  case BPF_ADD: return "+=";
  case BPF_SUB: return "-=";
  case BPF_MUL: return "*=";
  case BPF_DIV: return "/=";
  case BPF_OR: return "|=";
  case BPF_AND: return "&=";
  case BPF_LSH: return "<<=";
  case BPF_RSH: return ">>=";
  case BPF_MOD: return "%=";
  case BPF_XOR: return "^=";
  case BPF_MOV: return "=";
  case BPF_ARSH: return "s>>=";
  default: return nullptr;
  }
}

const char *jmpOp(uint8_t op) {
  switch (op) {
  case BPF_JEQ: return "==";
  case BPF_JGT: return ">";
  case BPF_JGE: return ">=";
  case BPF_JSET: return "&";
  case BPF_JNE: return "!=";
  case BPF_JSGT: return "s>";
  case BPF_JSGE: return "s>=";
  case BPF_JLT: return "<";
  case BPF_JLE: return "<=";
  case BPF_JSLT: return "s<";
  case BPF_JSLE: return "s<=";
  default: return nullptr;
  }
}

const char *sizeName(uint8_t size) {
  switch (size) {
  case BPF_B: return "u8";
  case BPF_H: return "u16";
  case BPF_W: return "u32";
  case BPF_DW: return "u64";
  default: return "u?";
  }
}

} // namespace

std::string disassemble(const bpf_insn &in) {
  char buf[96];
  uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
  bool x = BPF_SRC(in.code) == BPF_X;
  const char *reg = cls == BPF_ALU ? "w" : "r";
  switch (cls) {
  case BPF_ALU:
  case BPF_ALU64:
    if (op == BPF_NEG) {
      snprintf(buf, sizeof buf, "%s%u = -%s%u", reg, in.dst_reg, reg, in.dst_reg);
    } else if (op == BPF_END) {
      snprintf(buf, sizeof buf, "r%u = %s%d r%u", in.dst_reg, BPF_SRC(in.code) == BPF_TO_BE ? "be" : "le", in.imm,
               in.dst_reg);
    } else if (const char *o = aluOp(op)) {
      if (x) snprintf(buf, sizeof buf, "%s%u %s %s%u", reg, in.dst_reg, o, reg, in.src_reg);
      else snprintf(buf, sizeof buf, "%s%u %s %d", reg, in.dst_reg, o, in.imm);
    } else {
      snprintf(buf, sizeof buf, "(%02x) unknown alu", in.code);
    }
    return buf;
  case BPF_JMP:
  case BPF_JMP32:
    if (cls == BPF_JMP && op == BPF_EXIT) return "exit";
    if (cls == BPF_JMP && op == BPF_CALL) {
      snprintf(buf, sizeof buf, "call %d", in.imm);
      return buf;
    }
    if (cls == BPF_JMP && op == BPF_JA) {
      snprintf(buf, sizeof buf, "goto %+d", in.off);
      return buf;
    }
    if (const char *o = jmpOp(op)) {
      const char *r = cls == BPF_JMP32 ? "w" : "r";
      if (x) snprintf(buf, sizeof buf, "if %s%u %s %s%u goto %+d", r, in.dst_reg, o, r, in.src_reg, in.off);
      else snprintf(buf, sizeof buf, "if %s%u %s 0x%x goto %+d", r, in.dst_reg, o, (uint32_t)in.imm, in.off);
      return buf;
    }
    snprintf(buf, sizeof buf, "(%02x) unknown jump", in.code);
    return buf;
  case BPF_LDX:
    if (BPF_MODE(in.code) == BPF_MEM) {
      snprintf(buf, sizeof buf, "r%u = *(%s *)(r%u %+d)", in.dst_reg, sizeName(BPF_SIZE(in.code)), in.src_reg, in.off);
      return buf;
    }
    break;
  case BPF_STX:
    if (BPF_MODE(in.code) == BPF_MEM) {
      snprintf(buf, sizeof buf, "*(%s *)(r%u %+d) = r%u", sizeName(BPF_SIZE(in.code)), in.dst_reg, in.off, in.src_reg);
      return buf;
    }
    break;
  case BPF_ST:
    if (BPF_MODE(in.code) == BPF_MEM) {
      snprintf(buf, sizeof buf, "*(%s *)(r%u %+d) = %d", sizeName(BPF_SIZE(in.code)), in.dst_reg, in.off, in.imm);
      return buf;
    }
    break;
  case BPF_LD:
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
      snprintf(buf, sizeof buf, "r%u = 0x%x ll (low half)", in.dst_reg, (uint32_t)in.imm);
      return buf;
    }
    break;
  default:
    break;
  }
  snprintf(buf, sizeof buf, "(%02x) unknown", in.code);
  return buf;
}

} // namespace bespoke
