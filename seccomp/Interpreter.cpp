// The cBPF interpreter with the kernel's semantics, and the path-length measurement built on it.
#include "seccomp/Interpreter.h"

#include <cstring>

namespace bespoke {

BpfRun runBpf(const BpfProgram &prog, const seccomp_data &data) {
  unsigned char raw[SeccompDataSize];
  std::memcpy(raw, &data, sizeof raw); // x86-64 is little-endian: the in-memory layout is the kernel's
  BpfRun r;
  auto fail = [&](size_t pc, const char *why) {
    r.ok = false;
    r.error = "pc " + std::to_string(pc) + ": " + why;
    r.ret = SECCOMP_RET_KILL_PROCESS;
    return r;
  };
  auto done = [&](uint32_t value) {
    r.ok = true;
    r.ret = value;
    return r;
  };
  uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {};
  const size_t n = prog.size();
  size_t pc = 0;
  while (pc < n) {
    const sock_filter &in = prog[pc];
    const uint32_t k = in.k;
    ++r.steps;
    const uint32_t src = BPF_SRC(in.code) == BPF_X ? X : k;
    switch (in.code) {
    case BPF_LD | BPF_W | BPF_ABS:
      if (k >= SeccompDataSize || k % 4 != 0)
        return fail(pc, "load outside seccomp_data");
      std::memcpy(&A, raw + k, 4);
      r.loadedWords |= static_cast<uint16_t>(1U << (k / 4));
      break;
    case BPF_LD | BPF_W | BPF_LEN: A = SeccompDataSize; break;
    case BPF_LDX | BPF_W | BPF_LEN: X = SeccompDataSize; break;
    case BPF_LD | BPF_IMM: A = k; break;
    case BPF_LDX | BPF_IMM: X = k; break;
    case BPF_LD | BPF_MEM:
    case BPF_LDX | BPF_MEM:
    case BPF_ST:
    case BPF_STX:
      if (k >= BPF_MEMWORDS)
        return fail(pc, "bad scratch slot");
      if (in.code == (BPF_LD | BPF_MEM)) A = M[k];
      else if (in.code == (BPF_LDX | BPF_MEM)) X = M[k];
      else M[k] = in.code == BPF_ST ? A : X;
      break;
    case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X: A += src; break;
    case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X: A -= src; break;
    case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X: A *= src; break;
    case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
    case BPF_ALU | BPF_MOD | BPF_K: case BPF_ALU | BPF_MOD | BPF_X:
      if (src == 0)
        return done(0); // bpf_convert_filter: "if (X == 0) return 0", as cBPF always did
      A = BPF_OP(in.code) == BPF_DIV ? A / src : A % src;
      break;
    case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X: A &= src; break;
    case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X: A |= src; break;
    case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X: A ^= src; break;
    case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X: A <<= (src & 31); break;
    case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X: A >>= (src & 31); break;
    case BPF_ALU | BPF_NEG: A = 0U - A; break;
    case BPF_MISC | BPF_TAX: X = A; break;
    case BPF_MISC | BPF_TXA: A = X; break;
    case BPF_RET | BPF_K: return done(k);
    case BPF_RET | BPF_A: return done(A);
    case BPF_JMP | BPF_JA:
      if (k >= n - pc - 1)
        return fail(pc, "jump out of range");
      pc += 1 + k;
      continue;
    case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
    case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
    case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
    case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X: {
      bool taken = BPF_OP(in.code) == BPF_JEQ   ? A == src
                   : BPF_OP(in.code) == BPF_JGT ? A > src
                   : BPF_OP(in.code) == BPF_JGE ? A >= src
                                                : (A & src) != 0;
      size_t target = pc + 1 + (taken ? in.jt : in.jf);
      if (target >= n)
        return fail(pc, "jump out of range");
      pc = target;
      continue;
    }
    default:
      return fail(pc, "opcode not in the seccomp subset");
    }
    ++pc;
  }
  return fail(pc, "ran off the end");
}

BpfRun runBpf(const BpfProgram &prog, uint32_t nr, uint32_t arch, uint64_t ip, const uint64_t args[6]) {
  return runBpf(prog, makeSeccompData(nr, arch, ip, args));
}

PathStats pathLengths(const BpfProgram &prog, const Policy &p) {
  PathStats s;
  const uint64_t zero[6] = {};
  size_t total = 0;
  for (const SyscallRule &r : p.allowed) {
    BpfRun run = runBpf(prog, static_cast<uint32_t>(r.nr), Policy::AuditArchX86_64, 0, zero);
    ++s.syscalls;
    total += run.steps;
    if (run.steps > s.worst) {
      s.worst = run.steps;
      s.worstNr = static_cast<size_t>(r.nr);
    }
  }
  s.mean = s.syscalls ? static_cast<double>(total) / static_cast<double>(s.syscalls) : 0.0;
  return s;
}

} // namespace bespoke
