#include "ebpf/Interpreter.h"

#include <sys/socket.h>

#include <cstddef>
#include <cstring>

namespace bespoke {

namespace {

void put32(std::vector<uint8_t> &ctx, size_t off, uint32_t v) { std::memcpy(ctx.data() + off, &v, 4); }

} // namespace

std::vector<uint8_t> netContext(const NetEvent &e) {
  if (e.hook == NetHook::SockCreate) {
    std::vector<uint8_t> ctx(sizeof(bpf_sock), 0);
    put32(ctx, offsetof(bpf_sock, family), e.family);
    put32(ctx, offsetof(bpf_sock, type), e.type);
    put32(ctx, offsetof(bpf_sock, protocol), e.protocol);
    return ctx;
  }
  std::vector<uint8_t> ctx(sizeof(bpf_sock_addr), 0);
  bool v6 = isIpv6(e.hook);
  put32(ctx, offsetof(bpf_sock_addr, user_family), v6 ? AF_INET6 : AF_INET);
  if (v6)
    std::memcpy(ctx.data() + offsetof(bpf_sock_addr, user_ip6), e.ip.data(), 16);
  else
    std::memcpy(ctx.data() + offsetof(bpf_sock_addr, user_ip4), e.ip.data(), 4);
  // sin_port / sin6_port: the port's bytes in network order, then two zero bytes.
  size_t port = offsetof(bpf_sock_addr, user_port);
  ctx[port] = static_cast<uint8_t>(e.port >> 8);
  ctx[port + 1] = static_cast<uint8_t>(e.port & 0xff);
  return ctx;
}

uint64_t runNetProgram(const EbpfProgram &p, const NetEvent &event) { return runNetProgram(p, netContext(event)); }

uint64_t runNetProgram(const EbpfProgram &p, const std::vector<uint8_t> &ctx) {
  // r1 holds a real address: loads are checked against the context's bytes, not trusted.
  const uint64_t base = reinterpret_cast<uintptr_t>(ctx.data());
  uint64_t r[11] = {};
  r[1] = base;
  const size_t n = p.insns.size();
  size_t pc = 0;
  for (size_t steps = 0; steps <= n && pc < n; ++steps) {
    const bpf_insn &in = p.insns[pc];
    uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
    bool x = BPF_SRC(in.code) == BPF_X;
    if (in.dst_reg > 10 || in.src_reg > 10)
      return RunFailed;
    switch (cls) {
    case BPF_LDX: {
      if (in.code != (BPF_LDX | BPF_MEM | BPF_W))
        return RunFailed;
      uint64_t addr = r[in.src_reg] + static_cast<int64_t>(in.off);
      if (addr < base || addr + 4 > base + ctx.size())
        return RunFailed;
      uint32_t v;
      std::memcpy(&v, ctx.data() + (addr - base), 4); // x86-64: a little-endian load
      r[in.dst_reg] = v;
      break;
    }
    case BPF_ALU:
    case BPF_ALU64: {
      bool wide = cls == BPF_ALU64;
      // K is sign-extended to 64 bits for ALU64; ALU32 works on the low halves and zero-extends.
      uint64_t src = x ? r[in.src_reg] : static_cast<uint64_t>(static_cast<int64_t>(in.imm));
      uint64_t dst = r[in.dst_reg];
      if (!wide) {
        src = static_cast<uint32_t>(src);
        dst = static_cast<uint32_t>(dst);
      }
      unsigned mask = wide ? 63 : 31;
      uint64_t v;
      switch (op) {
      case BPF_ADD: v = dst + src; break;
      case BPF_SUB: v = dst - src; break;
      case BPF_AND: v = dst & src; break;
      case BPF_OR: v = dst | src; break;
      case BPF_XOR: v = dst ^ src; break;
      case BPF_LSH: v = dst << (src & mask); break;
      case BPF_RSH: v = dst >> (src & mask); break;
      case BPF_MOV: v = src; break;
      default: return RunFailed;
      }
      r[in.dst_reg] = wide ? v : static_cast<uint32_t>(v);
      break;
    }
    case BPF_JMP:
    case BPF_JMP32: {
      if (cls == BPF_JMP && op == BPF_EXIT)
        return r[0];
      if (cls == BPF_JMP && op == BPF_JA) {
        pc += 1 + in.off;
        continue;
      }
      uint64_t a = r[in.dst_reg];
      uint64_t b = x ? r[in.src_reg] : static_cast<uint64_t>(static_cast<int64_t>(in.imm));
      int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
      if (cls == BPF_JMP32) {
        a = static_cast<uint32_t>(a);
        b = static_cast<uint32_t>(b);
        sa = static_cast<int32_t>(a);
        sb = static_cast<int32_t>(b);
      }
      bool taken;
      switch (op) {
      case BPF_JEQ: taken = a == b; break;
      case BPF_JNE: taken = a != b; break;
      case BPF_JGT: taken = a > b; break;
      case BPF_JGE: taken = a >= b; break;
      case BPF_JLT: taken = a < b; break;
      case BPF_JLE: taken = a <= b; break;
      case BPF_JSGT: taken = sa > sb; break;
      case BPF_JSGE: taken = sa >= sb; break;
      case BPF_JSLT: taken = sa < sb; break;
      case BPF_JSLE: taken = sa <= sb; break;
      case BPF_JSET: taken = (a & b) != 0; break;
      default: return RunFailed;
      }
      pc += 1 + (taken ? in.off : 0);
      continue;
    }
    default:
      return RunFailed;
    }
    ++pc;
  }
  return RunFailed; // fell off the end, jumped out of range or looped
}

} // namespace bespoke
