// NetPrograms: NetPolicy -> one eBPF program per cgroup network hook, as struct bpf_insn.
//
// Every program has one shape, read top to bottom:
//
//   loads    r2 = *(u32 *)(r1 +4)    sock_create: the family (struct bpf_sock)
//      or    r2 = *(u32 *)(r1 +24)   the address hooks: user_port (struct bpf_sock_addr) ...
//            w2 &= 0xffff            ... of which only the low 16 bits are the port (network order)
//            r3 = *(u32 *)(r1 +4)    connect4/sendmsg4: user_ip4
//            r3..r6 = *(u32 *)(r1 +8, +12, +16, +20)   connect6/sendmsg6: user_ip6[0..3]
//   blocks   one per allowed value (a family, a bind port) or destination, in policy order; a block is
//            a conjunction of 32-bit equalities, each field but the last refusing the block, the last
//            one allowing:
//              if wA != K goto +n    (to the next block)
//              if wZ == K goto +m    (to allow)
//   refuse   r0 = 0; exit
//   allow    r0 = 1; exit
//
// A v4 destination in a v6 hook is the block ip6[0] == 0, ip6[1] == 0, ip6[2] == ::ffff's word, ip6[3] ==
// the address (the v4-mapped form); v6 destinations are skipped in the v4 hooks. Bind has the block
// port == 0 first. A hook whose verdict does not depend on the context (nothing allowed; connectAny,
// bindAnyPort, or a destination with any address and any port) is just `r0 = v; exit`: the kernel's
// verifier refuses unreachable instructions, so no block may follow an unconditional one.
//
// Only 4-byte context loads, ALU32 and/ALU64 mov, JMP32 equality jumps (32-bit compares: a BPF_JMP
// immediate is sign-extended to 64 bits), forward jumps and exit: no helpers, no maps, no loops.

#include "extension-gen/NetPrograms.h"

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <utility>

namespace bespoke {

namespace {

// Context offsets (ebpf/Program.h).
constexpr int16_t kOffFamily = 4;                                    // struct bpf_sock
constexpr int16_t kOffUserIp4 = 4, kOffUserIp6 = 8, kOffUserPort = 24; // struct bpf_sock_addr

// Registers: r1 the context; r2 the family or the port; r3 (v4) or r3..r6 (v6) the address words.
constexpr uint8_t kRet = 0, kCtx = 1, kKey = 2, kIp = 3;

// One 32-bit equality a block requires: register == value.
using Field = std::pair<uint8_t, uint32_t>;
using Block = std::vector<Field>;

// Instructions with forward jumps to labels, resolved by finish().
class Emitter {
public:
  int newLabel() {
    labelPos.push_back(-1);
    return static_cast<int>(labelPos.size() - 1);
  }
  void place(int label) { labelPos[label] = static_cast<long>(insns.size()); }
  void load(uint8_t dst, int16_t off) { insns.push_back(makeInsn(BPF_LDX | BPF_MEM | BPF_W, dst, kCtx, off, 0)); }
  void and32(uint8_t dst, uint32_t k) {
    insns.push_back(makeInsn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, static_cast<int32_t>(k)));
  }
  void jump32(uint8_t op, uint8_t reg, uint32_t k, int label) {
    fixups.emplace_back(insns.size(), label);
    insns.push_back(makeInsn(BPF_JMP32 | op | BPF_K, reg, 0, 0, static_cast<int32_t>(k)));
  }
  void ret(int32_t verdict) {
    insns.push_back(makeInsn(BPF_ALU64 | BPF_MOV | BPF_K, kRet, 0, 0, verdict));
    insns.push_back(makeInsn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  }
  // Resolves the jumps (all forward, all within EbpfMaxInstructions, so they fit the 16-bit offset).
  std::vector<bpf_insn> finish() {
    for (auto [at, label] : fixups)
      insns[at].off = static_cast<int16_t>(labelPos[label] - static_cast<long>(at) - 1);
    return std::move(insns);
  }
  size_t size() const { return insns.size(); }

private:
  std::vector<bpf_insn> insns;
  std::vector<long> labelPos;
  std::vector<std::pair<size_t, int>> fixups;
};

// A 4-byte context read of these bytes (memory order, little-endian host).
uint32_t word(const uint8_t *b) {
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

// user_port as read: the port in network byte order in the low 16 bits.
uint32_t portWord(uint16_t hostPort) { return uint32_t(hostPort & 0xff) << 8 | hostPort >> 8; }

// ip6 bytes 8..11 of a v4-mapped address (00 00 ff ff) as read.
constexpr uint32_t kV4MappedWord = 0xffff0000U;

// What one hook checks: a constant verdict, or blocks any one of which allows.
struct Plan {
  std::optional<int32_t> constant;
  std::vector<Block> blocks;
};

Plan planSockCreate(const NetPolicy &p) {
  Plan plan;
  for (uint32_t family : p.families)
    plan.blocks.push_back({{kKey, family}});
  if (plan.blocks.empty())
    plan.constant = 0;
  return plan;
}

Plan planBind(const NetPolicy &p) {
  Plan plan;
  if (p.bindAnyPort) {
    plan.constant = 1;
    return plan;
  }
  plan.blocks.push_back({{kKey, 0}}); // port 0: the kernel picks one
  for (uint16_t port : p.bindPorts)
    if (port != 0)
      plan.blocks.push_back({{kKey, portWord(port)}});
  return plan;
}

Plan planDestinations(const NetPolicy &p, bool v6) {
  Plan plan;
  if (p.connectAny) {
    plan.constant = 1;
    return plan;
  }
  for (const NetDestination &d : p.connect) {
    Block b;
    if (d.family == AF_INET6) {
      if (!v6)
        continue; // never matches a v4 hook
      if (!d.anyAddr)
        for (uint8_t i = 0; i < 4; ++i)
          b.push_back({uint8_t(kIp + i), word(d.addr.data() + 4 * i)});
    } else if (v6) { // AF_INET through a dual-stack socket: ::ffff:a.b.c.d
      b.push_back({kIp, 0});
      b.push_back({kIp + 1, 0});
      b.push_back({kIp + 2, kV4MappedWord});
      if (!d.anyAddr)
        b.push_back({kIp + 3, word(d.addr.data())});
    } else if (!d.anyAddr) {
      b.push_back({kIp, word(d.addr.data())});
    }
    if (!d.anyPort)
      b.push_back({kKey, portWord(d.port)});
    if (b.empty()) { // any address, any port: everything this hook sees
      plan.constant = 1;
      plan.blocks.clear();
      return plan;
    }
    plan.blocks.push_back(std::move(b));
  }
  if (plan.blocks.empty())
    plan.constant = 0;
  return plan;
}

void emitLoads(Emitter &e, NetHook hook) {
  if (hook == NetHook::SockCreate) {
    e.load(kKey, kOffFamily);
    return;
  }
  e.load(kKey, kOffUserPort);
  e.and32(kKey, 0xffff);
  if (hook == NetHook::Bind4 || hook == NetHook::Bind6)
    return;
  if (isIpv6(hook))
    for (uint8_t i = 0; i < 4; ++i)
      e.load(kIp + i, static_cast<int16_t>(kOffUserIp6 + 4 * i));
  else
    e.load(kIp, kOffUserIp4);
}

llvm::Error checkDestinations(const NetPolicy &p) {
  for (size_t i = 0; i < p.connect.size(); ++i) {
    uint32_t f = p.connect[i].family;
    if (f != AF_INET && f != AF_INET6)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "connect destination %zu has family %u; only AF_INET (%d) and "
                                     "AF_INET6 (%d) destinations can be allowed",
                                     i, f, AF_INET, AF_INET6);
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<EbpfProgram> compileNetProgram(const NetPolicy &policy, NetHook hook) {
  if (llvm::Error err = checkDestinations(policy))
    return err;
  Plan plan;
  switch (hook) {
  case NetHook::SockCreate:
    plan = planSockCreate(policy);
    break;
  case NetHook::Bind4:
  case NetHook::Bind6:
    plan = planBind(policy);
    break;
  case NetHook::Connect4:
  case NetHook::Connect6:
  case NetHook::Sendmsg4:
  case NetHook::Sendmsg6:
    plan = planDestinations(policy, isIpv6(hook));
    break;
  }
  Emitter e;
  if (plan.constant) {
    e.ret(*plan.constant);
  } else {
    int allow = e.newLabel();
    emitLoads(e, hook);
    for (const Block &b : plan.blocks) {
      int next = e.newLabel();
      for (size_t i = 0; i + 1 < b.size(); ++i)
        e.jump32(BPF_JNE, b[i].first, b[i].second, next);
      e.jump32(BPF_JEQ, b.back().first, b.back().second, allow);
      e.place(next);
    }
    e.ret(0);
    e.place(allow);
    e.ret(1);
  }
  if (e.size() > EbpfMaxInstructions)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the %s program needs %zu eBPF instructions (%zu checks), more than the "
                                   "kernel's %zu",
                                   hookName(hook), e.size(), plan.blocks.size(), EbpfMaxInstructions);
  EbpfProgram prog;
  prog.hook = hook;
  prog.insns = e.finish();
  return prog;
}

llvm::Expected<std::vector<EbpfProgram>> compileNetPrograms(const NetPolicy &policy) {
  std::vector<EbpfProgram> out;
  for (NetHook hook : AllNetHooks) {
    llvm::Expected<EbpfProgram> prog = compileNetProgram(policy, hook);
    if (!prog)
      return prog.takeError();
    out.push_back(std::move(*prog));
  }
  return out;
}

} // namespace bespoke
