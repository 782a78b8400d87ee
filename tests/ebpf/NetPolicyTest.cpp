// Unit tests of ebpf/: what a NetPolicy allows at each hook, the hook table, the disassembler.
#include "ebpf/NetPolicy.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

using namespace bespoke;

namespace {

std::array<uint8_t, 16> ip(int family, const char *text) {
  std::array<uint8_t, 16> a{};
  EXPECT_EQ(inet_pton(family, text, a.data()), 1) << text;
  return a;
}

NetEvent addr(NetHook hook, const char *text, uint16_t port) {
  NetEvent e;
  e.hook = hook;
  e.ip = ip(isIpv6(hook) ? AF_INET6 : AF_INET, text);
  e.port = port;
  return e;
}

NetEvent create(uint32_t family) {
  NetEvent e;
  e.family = family;
  e.type = SOCK_STREAM;
  return e;
}

} // namespace

TEST(NetPolicy, SocketFamilies) {
  NetPolicy p;
  p.families = {AF_INET, AF_UNIX};
  EXPECT_TRUE(allows(p, create(AF_INET)));
  EXPECT_FALSE(allows(p, create(AF_INET6)));
  EXPECT_EQ(describe(create(AF_INET6)), "sock_create AF_INET6 type 1 protocol 0");
}

TEST(NetPolicy, BindPortsAndTheKernelsChoice) {
  NetPolicy p;
  p.bindPorts = {6379};
  EXPECT_TRUE(allows(p, addr(NetHook::Bind4, "0.0.0.0", 6379)));
  EXPECT_TRUE(allows(p, addr(NetHook::Bind6, "::", 6379)));
  EXPECT_FALSE(allows(p, addr(NetHook::Bind4, "127.0.0.1", 6380)));
  EXPECT_TRUE(allows(p, addr(NetHook::Bind4, "127.0.0.1", 0))); // an ephemeral port names no service
  p.bindAnyPort = true;
  EXPECT_TRUE(allows(p, addr(NetHook::Bind6, "::1", 80)));
}

TEST(NetPolicy, DestinationsIncludingV4MappedOnes) {
  NetPolicy p;
  NetDestination dns;
  dns.family = AF_INET;
  dns.addr = ip(AF_INET, "10.0.0.53");
  dns.port = 53;
  p.connect = {dns};
  EXPECT_TRUE(allows(p, addr(NetHook::Connect4, "10.0.0.53", 53)));
  EXPECT_TRUE(allows(p, addr(NetHook::Sendmsg4, "10.0.0.53", 53)));
  EXPECT_TRUE(allows(p, addr(NetHook::Connect6, "::ffff:10.0.0.53", 53)));
  EXPECT_FALSE(allows(p, addr(NetHook::Connect6, "::10.0.0.53", 53))); // not v4-mapped
  EXPECT_FALSE(allows(p, addr(NetHook::Connect4, "10.0.0.54", 53)));
  EXPECT_FALSE(allows(p, addr(NetHook::Connect4, "10.0.0.53", 54)));
  NetDestination web;
  web.family = AF_INET6;
  web.anyAddr = true;
  web.port = 443;
  p.connect.push_back(web);
  EXPECT_TRUE(allows(p, addr(NetHook::Connect6, "2001:db8::1", 443)));
  EXPECT_FALSE(allows(p, addr(NetHook::Connect4, "192.0.2.1", 443))); // a v6 destination never matches v4
  EXPECT_EQ(describe(addr(NetHook::Connect6, "::ffff:10.0.0.53", 53)), "connect6 [::ffff:10.0.0.53]:53");
  EXPECT_EQ(describe(addr(NetHook::Bind4, "0.0.0.0", 6379)), "bind4 0.0.0.0:6379");
  p.connectAny = true;
  EXPECT_TRUE(allows(p, addr(NetHook::Sendmsg6, "2001:db8::2", 9)));
}

TEST(NetPolicy, HookTable) {
  EXPECT_STREQ(hookName(NetHook::SockCreate), "sock_create");
  EXPECT_EQ(programType(NetHook::SockCreate), BPF_PROG_TYPE_CGROUP_SOCK);
  EXPECT_EQ(attachType(NetHook::SockCreate), BPF_CGROUP_INET_SOCK_CREATE);
  EXPECT_EQ(programType(NetHook::Sendmsg6), BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
  EXPECT_EQ(attachType(NetHook::Sendmsg6), BPF_CGROUP_UDP6_SENDMSG);
  EXPECT_EQ(attachType(NetHook::Connect4), BPF_CGROUP_INET4_CONNECT);
  EXPECT_TRUE(isIpv6(NetHook::Bind6));
  EXPECT_FALSE(isIpv6(NetHook::Bind4));
}

TEST(NetPolicy, Disassembler) {
  EXPECT_EQ(disassemble(bpf_insn{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1}), "r0 = 1");
  EXPECT_EQ(disassemble(bpf_insn{BPF_LDX | BPF_MEM | BPF_W, 2, 1, 4, 0}), "r2 = *(u32 *)(r1 +4)");
  EXPECT_EQ(disassemble(bpf_insn{BPF_JMP | BPF_JNE | BPF_K, 2, 0, 3, 10}), "if r2 != 0xa goto +3");
  EXPECT_EQ(disassemble(bpf_insn{BPF_JMP32 | BPF_JEQ | BPF_X, 2, 3, -2, 0}), "if w2 == w3 goto -2");
  EXPECT_EQ(disassemble(bpf_insn{BPF_JMP | BPF_EXIT, 0, 0, 0, 0}), "exit");
  EXPECT_EQ(disassemble(bpf_insn{0xff, 0, 0, 0, 0}), "(ff) unknown alu");
  EXPECT_EQ(disassemble(bpf_insn{BPF_LDX | BPF_ABS | BPF_W, 0, 0, 0, 0}), "(21) unknown");
}
