// eBPF programs as the kernel loads them: struct bpf_insn arrays (linux/bpf.h) and the cgroup hook each is
// for. What extension-gen/ produces, verify/ proves and extension-gen's loader loads: the same bytes.
// A data-type library: it depends on nothing of bespoke's.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bespoke {

// The cgroup hooks of a per-application network policy (issue 14). SockCreate runs when a socket is made
// (BPF_PROG_TYPE_CGROUP_SOCK, context struct bpf_sock); Linux 6.1 runs it from inet_create and
// inet6_create only, so it sees AF_INET and AF_INET6 sockets and nothing else (AF_UNIX, AF_PACKET and
// AF_NETLINK are the seccomp filter's). The others are BPF_PROG_TYPE_CGROUP_SOCK_ADDR (context struct
// bpf_sock_addr): bind, connect and sendmsg with an address, per IP version.
enum class NetHook { SockCreate, Bind4, Bind6, Connect4, Connect6, Sendmsg4, Sendmsg6 };

inline constexpr NetHook AllNetHooks[] = {NetHook::SockCreate, NetHook::Bind4,    NetHook::Bind6,   NetHook::Connect4,
                                          NetHook::Connect6,   NetHook::Sendmsg4, NetHook::Sendmsg6};

// "sock_create", "bind4", "bind6", "connect4", "connect6", "sendmsg4", "sendmsg6".
const char *hookName(NetHook hook);
bpf_prog_type programType(NetHook hook);  // BPF_PROG_TYPE_CGROUP_SOCK or BPF_PROG_TYPE_CGROUP_SOCK_ADDR
bpf_attach_type attachType(NetHook hook); // BPF_CGROUP_INET_SOCK_CREATE, BPF_CGROUP_INET4_BIND, ...
bool isIpv6(NetHook hook);                // Bind6, Connect6, Sendmsg6

// The context as a program reads it (x86-64, little-endian; the kernel rewrites these loads):
//   struct bpf_sock (SockCreate): family at offset 4, type at 8, protocol at 12, each a 4-byte read of the
//     plain value (type without SOCK_NONBLOCK/SOCK_CLOEXEC).
//   struct bpf_sock_addr (the others): user_ip4 at offset 4 (4-byte read: the address's bytes in memory
//     order, so 10.0.0.53 reads as 0x3500000a), user_ip6[0..3] at 8, 12, 16, 20 (each 4 bytes, the same
//     way), user_port at 24 (4-byte read: the port in network byte order in the low 16 bits, upper 16 bits
//     zero, so port 6379 = 0x18eb reads as 0xeb18).
// user_ip4 may be read only in the v4 hooks and user_ip6 only in the v6 hooks (the kernel refuses the other).
// A UDP sendmsg to a v4-mapped address from a dual-stack socket takes the IPv4 path: sendmsg4 sees it, as the
// plain v4 address; connect6 does see v4-mapped addresses.
//
// One program. Its return value is the verdict: 1 allows the operation, 0 refuses it (the caller sees
// EPERM and keeps running). Programs return exactly 0 or 1: the kernel lets bind programs return 2 and 3
// too (bit 1: skip the CAP_NET_BIND_SERVICE check), which nothing here means.
// The kernel's limit for one program as the project uses it (BPF_MAXINSNS; also the unprivileged limit).
inline constexpr size_t EbpfMaxInstructions = 4096;

struct EbpfProgram {
  NetHook hook = NetHook::SockCreate;
  std::vector<bpf_insn> insns;
};

// One instruction from its fields (the generators' and tests' one constructor).
inline bpf_insn makeInsn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}

// One instruction as one line of assembly ("r0 = 1", "if r2 != 0xa goto +3", "r2 = *(u32 *)(r1 +4)",
// "exit"; jump targets relative, as the kernel's verifier log prints them).
std::string disassemble(const bpf_insn &insn);

} // namespace bespoke
