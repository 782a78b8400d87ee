#include "verify/Bpf.h"

#include <cstring>
#include <sstream>

namespace bespoke {

llvm::Expected<BpfProgram> readBpf(llvm::StringRef bytes, const std::string &inputName) {
  auto fail = [&](const std::string &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", inputName.c_str(), msg.c_str());
  };
  if (bytes.empty())
    return fail("empty file: a BPF program has at least one instruction");
  if (bytes.size() % 8 != 0)
    return fail(std::to_string(bytes.size()) + " bytes is not a whole number of 8-byte BPF instructions");
  size_t n = bytes.size() / 8;
  if (n > BpfMaxInstructions)
    return fail(std::to_string(n) + " instructions is more than the kernel's limit of " +
                std::to_string(BpfMaxInstructions));
  BpfProgram prog(n);
  auto u8 = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])); };
  for (size_t i = 0; i < n; ++i) {
    size_t o = i * 8;
    prog[i].code = static_cast<uint16_t>(u8(o) | (u8(o + 1) << 8));
    prog[i].jt = static_cast<uint8_t>(u8(o + 2));
    prog[i].jf = static_cast<uint8_t>(u8(o + 3));
    prog[i].k = u8(o + 4) | (u8(o + 5) << 8) | (u8(o + 6) << 16) | (u8(o + 7) << 24);
  }
  return prog;
}

std::string writeBpf(const BpfProgram &prog) {
  std::string out;
  out.reserve(prog.size() * 8);
  for (const auto &in : prog) {
    out.push_back(static_cast<char>(in.code & 0xff));
    out.push_back(static_cast<char>(in.code >> 8));
    out.push_back(static_cast<char>(in.jt));
    out.push_back(static_cast<char>(in.jf));
    for (int s = 0; s < 32; s += 8)
      out.push_back(static_cast<char>((in.k >> s) & 0xff));
  }
  return out;
}

static uint32_t loadWord(const seccomp_data &d, uint32_t off, bool &ok) {
  if (off >= SeccompDataSize || off % 4 != 0) {
    ok = false;
    return 0;
  }
  unsigned char raw[sizeof(seccomp_data)];
  std::memcpy(raw, &d, sizeof raw);
  // x86-64 is little-endian: the in-memory layout is the kernel's.
  return raw[off] | (raw[off + 1] << 8) | (raw[off + 2] << 16) | (static_cast<uint32_t>(raw[off + 3]) << 24);
}

uint32_t runBpf(const BpfProgram &prog, const seccomp_data &data) {
  constexpr uint32_t Kill = SECCOMP_RET_KILL_PROCESS;
  uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {};
  size_t pc = 0, n = prog.size();
  while (pc < n) {
    const sock_filter &in = prog[pc];
    uint32_t k = in.k;
    bool ok = true;
    switch (in.code) {
    case BPF_LD | BPF_W | BPF_ABS: A = loadWord(data, k, ok); break;
    case BPF_LD | BPF_W | BPF_LEN: A = SeccompDataSize; break;
    case BPF_LDX | BPF_W | BPF_LEN: X = SeccompDataSize; break;
    case BPF_LD | BPF_IMM: A = k; break;
    case BPF_LDX | BPF_IMM: X = k; break;
    case BPF_LD | BPF_MEM: if (k >= BPF_MEMWORDS) return Kill; A = M[k]; break;
    case BPF_LDX | BPF_MEM: if (k >= BPF_MEMWORDS) return Kill; X = M[k]; break;
    case BPF_ST: if (k >= BPF_MEMWORDS) return Kill; M[k] = A; break;
    case BPF_STX: if (k >= BPF_MEMWORDS) return Kill; M[k] = X; break;
    case BPF_ALU | BPF_ADD | BPF_K: A += k; break;
    case BPF_ALU | BPF_ADD | BPF_X: A += X; break;
    case BPF_ALU | BPF_SUB | BPF_K: A -= k; break;
    case BPF_ALU | BPF_SUB | BPF_X: A -= X; break;
    case BPF_ALU | BPF_MUL | BPF_K: A *= k; break;
    case BPF_ALU | BPF_MUL | BPF_X: A *= X; break;
    case BPF_ALU | BPF_DIV | BPF_K: if (k == 0) return 0; A /= k; break;
    case BPF_ALU | BPF_DIV | BPF_X: if (X == 0) return 0; A /= X; break;
    case BPF_ALU | BPF_MOD | BPF_K: if (k == 0) return 0; A %= k; break;
    case BPF_ALU | BPF_MOD | BPF_X: if (X == 0) return 0; A %= X; break;
    case BPF_ALU | BPF_AND | BPF_K: A &= k; break;
    case BPF_ALU | BPF_AND | BPF_X: A &= X; break;
    case BPF_ALU | BPF_OR | BPF_K: A |= k; break;
    case BPF_ALU | BPF_OR | BPF_X: A |= X; break;
    case BPF_ALU | BPF_XOR | BPF_K: A ^= k; break;
    case BPF_ALU | BPF_XOR | BPF_X: A ^= X; break;
    case BPF_ALU | BPF_LSH | BPF_K: A = k >= 32 ? 0 : A << k; break;
    case BPF_ALU | BPF_LSH | BPF_X: A <<= (X & 31); break;
    case BPF_ALU | BPF_RSH | BPF_K: A = k >= 32 ? 0 : A >> k; break;
    case BPF_ALU | BPF_RSH | BPF_X: A >>= (X & 31); break;
    case BPF_ALU | BPF_NEG: A = 0u - A; break;
    case BPF_MISC | BPF_TAX: X = A; break;
    case BPF_MISC | BPF_TXA: A = X; break;
    case BPF_RET | BPF_K: return k;
    case BPF_RET | BPF_A: return A;
    case BPF_JMP | BPF_JA:
      if (k >= n - pc - 1) return Kill;
      pc += 1 + k;
      continue;
    case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
    case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
    case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
    case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X: {
      uint32_t v = BPF_SRC(in.code) == BPF_X ? X : k;
      bool t = false;
      switch (BPF_OP(in.code)) {
      case BPF_JEQ: t = A == v; break;
      case BPF_JGT: t = A > v; break;
      case BPF_JGE: t = A >= v; break;
      case BPF_JSET: t = (A & v) != 0; break;
      }
      pc += 1 + (t ? in.jt : in.jf);
      continue;
    }
    default: return Kill;
    }
    if (!ok) return Kill;
    ++pc;
  }
  return Kill;
}

static std::string hex(uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

std::string disassemble(const sock_filter &in) {
  std::string k = "#" + hex(in.k);
  std::string jumps = " jt " + std::to_string(in.jt) + " jf " + std::to_string(in.jf);
  auto src = [&]() { return BPF_SRC(in.code) == BPF_X ? std::string("x") : k; };
  switch (BPF_CLASS(in.code)) {
  case BPF_LD:
  case BPF_LDX: {
    std::string op = BPF_CLASS(in.code) == BPF_LD ? "ld" : "ldx";
    switch (BPF_MODE(in.code)) {
    case BPF_ABS: return op + (BPF_SIZE(in.code) == BPF_W ? "" : BPF_SIZE(in.code) == BPF_H ? "h" : "b") +
                         " [" + std::to_string(in.k) + "]";
    case BPF_IMM: return op + " " + k;
    case BPF_MEM: return op + " M[" + std::to_string(in.k) + "]";
    case BPF_LEN: return op + " len";
    default: return op + " (code " + hex(in.code) + ")";
    }
  }
  case BPF_ST: return "st M[" + std::to_string(in.k) + "]";
  case BPF_STX: return "stx M[" + std::to_string(in.k) + "]";
  case BPF_ALU: {
    static const char *names[] = {"add", "sub", "mul", "div", "or", "and", "lsh", "rsh",
                                  "neg", "mod", "xor", "?",   "?",  "?",   "?",   "?"};
    std::string name = names[BPF_OP(in.code) >> 4];
    return BPF_OP(in.code) == BPF_NEG ? name : name + " " + src();
  }
  case BPF_JMP:
    switch (BPF_OP(in.code)) {
    case BPF_JA: return "ja +" + std::to_string(in.k);
    case BPF_JEQ: return "jeq " + src() + jumps;
    case BPF_JGT: return "jgt " + src() + jumps;
    case BPF_JGE: return "jge " + src() + jumps;
    case BPF_JSET: return "jset " + src() + jumps;
    default: return "jmp? (code " + hex(in.code) + ")";
    }
  case BPF_RET: return BPF_RVAL(in.code) == BPF_A ? "ret a" : "ret " + k;
  case BPF_MISC: return (BPF_MISCOP(in.code) == BPF_TAX ? "tax" : BPF_MISCOP(in.code) == BPF_TXA ? "txa" : "misc?");
  }
  return "? (code " + hex(in.code) + ")";
}

std::string describe(const seccomp_data &d) {
  std::string s = "nr=" + hex(static_cast<uint32_t>(d.nr)) + " arch=" + hex(d.arch) +
                  " ip=" + hex(d.instruction_pointer) + " args=[";
  for (int i = 0; i < 6; ++i)
    s += (i ? "," : "") + hex(d.args[i]);
  return s + "]";
}

} // namespace bespoke
