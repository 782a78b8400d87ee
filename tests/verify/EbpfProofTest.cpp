// The eBPF network-program prover (verify/EbpfSafety.h, EbpfEquivalence.h; ebpf/Interpreter.h): hand-written
// programs proven against their NetPolicy, every single-instruction mutant of them refused by safety or with
// a counterexample that reproduces (or shown meaning-preserving), and programs the safety check refuses.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "extension-gen/NetPrograms.h"
#include "verify/EbpfEquivalence.h"
#include "ebpf/Interpreter.h"
#include "verify/EbpfSafety.h"
#include "verify/Equivalence.h"

using namespace bespoke;

namespace {

// The linux/bpf.h offsets the context model names (offset 28 of bpf_sock_addr is `family`, not msg_src_ip4).
static_assert(offsetof(bpf_sock, family) == 4 && offsetof(bpf_sock, type) == 8 && offsetof(bpf_sock, protocol) == 12);
static_assert(offsetof(bpf_sock_addr, user_ip4) == 4 && offsetof(bpf_sock_addr, user_ip6) == 8 &&
              offsetof(bpf_sock_addr, user_port) == 24 && offsetof(bpf_sock_addr, family) == 28 &&
              offsetof(bpf_sock_addr, msg_src_ip4) == 40);

// --- Emitting instructions ---------------------------------------------------------------------------

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn in{};
  in.code = code;
  in.dst_reg = dst & 0xf;
  in.src_reg = src & 0xf;
  in.off = off;
  in.imm = imm;
  return in;
}
bpf_insn load(uint8_t dst, uint8_t base, int16_t off) { return insn(BPF_LDX | BPF_MEM | BPF_W, dst, base, off, 0); }
bpf_insn mov(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn mov32(uint8_t dst, int32_t imm) { return insn(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn movReg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn alu(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm); }
bpf_insn aluReg(uint8_t op, uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | op | BPF_X, dst, src, 0, 0); }
bpf_insn jmp(uint8_t op, uint8_t dst, int32_t imm, int16_t off) { return insn(BPF_JMP | op | BPF_K, dst, 0, off, imm); }
bpf_insn jmp32(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
  return insn(BPF_JMP32 | op | BPF_K, dst, 0, off, imm);
}
bpf_insn ja(int16_t off) { return insn(BPF_JMP | BPF_JA, 0, 0, off, 0); }
bpf_insn exitInsn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }
bpf_insn call(int32_t helper) { return insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }

// A port (host order) as a 4-byte load of user_port sees it; four address bytes as a 4-byte load sees them.
int32_t portWord(uint16_t port) { return static_cast<int32_t>(((port & 0xff) << 8) | (port >> 8)); }
int32_t ipWord(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return static_cast<int32_t>(a | (b << 8) | (c << 16) | (static_cast<uint32_t>(d) << 24));
}

std::array<uint8_t, 16> ip(int family, const char *text) {
  std::array<uint8_t, 16> a{};
  EXPECT_EQ(inet_pton(family, text, a.data()), 1) << text;
  return a;
}

// --- The programs and their policies --------------------------------------------------------------------

struct Case {
  std::string name;
  EbpfProgram program;
  NetPolicy policy;
};

// SockCreate, families {AF_INET}: ALU32 mov and a JMP32 compare.
Case sockCreateInet() {
  Case c{"sock_create {AF_INET}", {NetHook::SockCreate, {}}, {}};
  c.policy.families = {AF_INET};
  c.program.insns = {
      /*0*/ load(2, 1, 4), // family
      /*1*/ mov32(0, 0),
      /*2*/ jmp32(BPF_JNE, 2, AF_INET, 1),
      /*3*/ mov32(0, 1),
      /*4*/ exitInsn(),
  };
  return c;
}

// Bind4, ports {6379, 8080}: a copy of the context pointer, xor, a redundant range check (user_port's upper
// half is zero), a JMP32 compare, two exits.
Case bind4() {
  Case c{"bind4 {6379, 8080}", {NetHook::Bind4, {}}, {}};
  c.policy.bindPorts = {6379, 8080};
  c.program.insns = {
      /*0*/ movReg(6, 1),
      /*1*/ load(2, 6, 24), // user_port
      /*2*/ mov(0, 1),
      /*3*/ jmp(BPF_JEQ, 2, 0, 7),      // port 0: the kernel picks one
      /*4*/ jmp(BPF_JGT, 2, 0xffff, 4), // never: upper 16 bits are zero
      /*5*/ movReg(3, 2),
      /*6*/ alu(BPF_XOR, 3, portWord(6379)),
      /*7*/ jmp(BPF_JEQ, 3, 0, 3),
      /*8*/ jmp32(BPF_JEQ, 2, portWord(8080), 2),
      /*9*/ mov(0, 0),
      /*10*/ exitInsn(),
      /*11*/ exitInsn(),
  };
  return c;
}

// Connect6: 10.0.0.53:53 (as ::ffff:10.0.0.53 through a dual-stack socket) and any v6 address on port 443.
Case connect6() {
  Case c{"connect6 {10.0.0.53:53, [*]:443}", {NetHook::Connect6, {}}, {}};
  NetDestination dns;
  dns.family = AF_INET;
  dns.addr = ip(AF_INET, "10.0.0.53");
  dns.port = 53;
  NetDestination https;
  https.family = AF_INET6;
  https.anyAddr = true;
  https.port = 443;
  c.policy.connect = {dns, https};
  c.program.insns = {
      /*0*/ movReg(6, 1),
      /*1*/ mov(0, 0),
      /*2*/ load(2, 6, 24), // user_port
      /*3*/ jmp32(BPF_JEQ, 2, portWord(443), 9),
      /*4*/ jmp(BPF_JNE, 2, portWord(53), 9),
      /*5*/ load(3, 6, 8),  // user_ip6[0]
      /*6*/ load(4, 6, 12), // user_ip6[1]
      /*7*/ aluReg(BPF_OR, 3, 4),
      /*8*/ jmp(BPF_JNE, 3, 0, 5),
      /*9*/ load(3, 6, 16),                              // user_ip6[2]
      /*10*/ jmp32(BPF_JNE, 3, ipWord(0, 0, 0xff, 0xff), 3), // JMP32: the immediate is negative as 32 bits
      /*11*/ load(3, 6, 20),                             // user_ip6[3]
      /*12*/ jmp32(BPF_JNE, 3, ipWord(10, 0, 0, 53), 1),
      /*13*/ mov(0, 1),
      /*14*/ exitInsn(),
  };
  return c;
}

std::vector<Case> cases() { return {sockCreateInet(), bind4(), connect6()}; }

// --- Events for concrete checks -------------------------------------------------------------------------

// Corners of every program and policy here (the listed values, their neighbours, byte-swapped ports,
// v4-mapped and almost-v4-mapped addresses) plus seeded random events.
std::vector<NetEvent> interestingEvents(NetHook hook) {
  std::vector<NetEvent> out;
  std::mt19937_64 rng(14);
  if (hook == NetHook::SockCreate) {
    for (uint32_t family : {0u, 1u, 2u, 3u, 10u, 16u, 17u, 0x102u, 0x80000002u, 0xffffffffu, 0xfffffffeu})
      for (uint32_t type : {1u, 2u, 3u})
        for (uint32_t protocol : {0u, 2u, 6u, 17u}) {
          NetEvent e;
          e.family = family;
          e.type = type;
          e.protocol = protocol;
          out.push_back(e);
        }
    for (int i = 0; i < 300; ++i) {
      NetEvent e;
      e.family = static_cast<uint32_t>(rng() % 4 == 0 ? rng() : rng() % 16);
      e.type = static_cast<uint32_t>(rng());
      e.protocol = static_cast<uint32_t>(rng());
      out.push_back(e);
    }
    return out;
  }
  std::vector<uint16_t> ports = {0,    1,    52,   53,   54,   442,  443,    444,  6378,
                                 6379, 6380, 8079, 8080, 8081, 0xff, 0xff00, 65535};
  for (uint16_t p : std::vector<uint16_t>(ports))
    ports.push_back(static_cast<uint16_t>(portWord(p)));
  std::vector<std::array<uint8_t, 16>> ips;
  if (isIpv6(hook)) {
    for (const char *a : {"::", "::1", "::ffff:10.0.0.53", "::ffff:10.0.0.52", "::ffff:53.0.0.10", "::10.0.0.53",
                          "::fffe:10.0.0.53", "::ffff:0.0.0.0", "::1:0:ffff:10.0.0.53", "1::ffff:10.0.0.53",
                          "0:0:1::ffff:10.0.0.53", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"})
      ips.push_back(ip(AF_INET6, a));
  } else {
    for (const char *a : {"0.0.0.0", "10.0.0.53", "10.0.0.52", "53.0.0.10", "127.0.0.1", "255.255.255.255"})
      ips.push_back(ip(AF_INET, a));
  }
  for (const auto &a : ips)
    for (uint16_t p : ports) {
      NetEvent e;
      e.hook = hook;
      e.ip = a;
      e.port = p;
      out.push_back(e);
    }
  for (int i = 0; i < 300; ++i) {
    NetEvent e;
    e.hook = hook;
    e.ip = ips[rng() % ips.size()];
    e.ip[rng() % (isIpv6(hook) ? 16 : 4)] ^= static_cast<uint8_t>(1u << (rng() % 8));
    e.port = static_cast<uint16_t>(rng());
    out.push_back(e);
  }
  return out;
}

// The events the policy names for this hook (its families, ports and destinations, v4-mapped forms) and
// their neighbours.
std::vector<NetEvent> policyEvents(NetHook hook, const NetPolicy &policy) {
  std::vector<NetEvent> out;
  NetEvent e;
  e.hook = hook;
  if (hook == NetHook::SockCreate) {
    for (uint32_t f : policy.families)
      for (uint32_t d : {0u, 1u, 0x100u})
        for (uint32_t g : {f + d, f - d, f ^ d}) {
          e.family = g;
          out.push_back(e);
        }
    return out;
  }
  std::vector<uint16_t> ports = {0};
  for (uint16_t p : policy.bindPorts)
    ports.push_back(p);
  for (const NetDestination &d : policy.connect)
    ports.push_back(d.port);
  std::vector<std::array<uint8_t, 16>> ips = {{}};
  for (const NetDestination &d : policy.connect) {
    ips.push_back(d.addr);
    std::array<uint8_t, 16> mapped{};
    mapped[10] = mapped[11] = 0xff;
    std::copy(d.addr.begin(), d.addr.begin() + 4, mapped.begin() + 12);
    ips.push_back(mapped);
    mapped[15] ^= 1;
    ips.push_back(mapped);
  }
  for (const auto &a : ips)
    for (uint16_t p : ports)
      for (int d : {0, 1, -1}) {
        e.ip = a;
        e.port = static_cast<uint16_t>(p + d);
        out.push_back(e);
      }
  return out;
}

// The first event on which the program and the policy disagree, if any.
std::optional<NetEvent> concreteDifference(const EbpfProgram &p, const NetPolicy &policy) {
  for (const auto &events : {interestingEvents(p.hook), policyEvents(p.hook, policy)})
    for (const NetEvent &e : events)
      if ((runNetProgram(p, e) != 0) != allows(policy, e))
        return e;
  return std::nullopt;
}

EbpfVerdict prove(const EbpfProgram &p, const NetPolicy &policy) {
  auto v = proveNetProgram(p, policy);
  if (!v) {
    ADD_FAILURE() << llvm::toString(v.takeError());
    return {};
  }
  return *v;
}

void expectReproduces(const EbpfProgram &p, const NetPolicy &policy, const EbpfVerdict &v) {
  ASSERT_FALSE(v.equivalent);
  EXPECT_EQ(v.counterexample, describe(v.witness));
  EXPECT_EQ(v.witness.hook, p.hook);
  EXPECT_EQ(runNetProgram(p, v.witness), v.programResult) << v.counterexample;
  EXPECT_EQ(allows(policy, v.witness), v.policyAllows) << v.counterexample;
  EXPECT_NE(v.programResult != 0, v.policyAllows) << v.counterexample;
}

// The refusal message of checkEbpfSafety, or "" when it accepts.
std::string refusal(const EbpfProgram &p) {
  llvm::Error err = checkEbpfSafety(p);
  return err ? llvm::toString(std::move(err)) : std::string();
}

// --- Proofs ---------------------------------------------------------------------------------------------

TEST(EbpfProof, HandWrittenProgramsAreProven) {
  for (const Case &c : cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(refusal(c.program), "");
    EbpfVerdict v = prove(c.program, c.policy);
    EXPECT_TRUE(v.equivalent) << v.counterexample;
    EXPECT_FALSE(concreteDifference(c.program, c.policy).has_value());
    // The first proofs in a process also pay for Z3's warm-up; the second is the steady state.
    EbpfVerdict again = prove(c.program, c.policy);
    EXPECT_TRUE(again.equivalent);
    std::printf("%s: %zu instructions proven equivalent in %.4f s (again: %.4f s)\n", c.name.c_str(),
                c.program.insns.size(), v.seconds, again.seconds);
    EXPECT_LT(v.seconds, 5.0); // milliseconds expected; generous for a loaded machine
  }
}

TEST(EbpfProof, InterpreterReadsTheDocumentedContext) {
  NetEvent e;
  e.hook = NetHook::Connect4;
  e.ip = ip(AF_INET, "10.0.0.53");
  e.port = 6379;
  std::vector<uint8_t> ctx = netContext(e);
  ASSERT_EQ(ctx.size(), sizeof(bpf_sock_addr));
  EbpfProgram ip4{NetHook::Connect4, {load(0, 1, 4), exitInsn()}};
  EbpfProgram port{NetHook::Connect4, {load(0, 1, 24), exitInsn()}};
  EXPECT_EQ(runNetProgram(ip4, e), 0x3500000au); // Program.h's examples
  EXPECT_EQ(runNetProgram(port, e), 0xeb18u);
  // ALU32 zero-extends; JMP32 compares the low halves; K is sign-extended for 64-bit ops.
  EbpfProgram alu{NetHook::Connect4,
                  {mov(0, -1), insn(BPF_ALU | BPF_ADD | BPF_K, 0, 0, 0, 0), exitInsn()}};
  EXPECT_EQ(runNetProgram(alu, e), 0xffffffffu);
  EbpfProgram out{NetHook::Connect4, {ja(1), exitInsn()}};
  EXPECT_EQ(runNetProgram(out, e), RunFailed);
}

// Wrong programs are refused with the event that shows it.
TEST(EbpfProof, CounterexamplesNameTheEvent) {
  // Bind4 that forgets port 0 (its jump goes to the next instruction).
  Case b = bind4();
  b.program.insns[3] = jmp(BPF_JEQ, 2, 0, 0);
  EbpfVerdict v = prove(b.program, b.policy);
  expectReproduces(b.program, b.policy, v);
  EXPECT_EQ(v.witness.port, 0) << v.counterexample;

  // Connect6 that checks the v4-mapped address with a 64-bit compare (its immediate sign-extends): it never
  // allows 10.0.0.53:53.
  Case c = connect6();
  c.program.insns[10].code = BPF_JMP | BPF_JNE | BPF_K;
  v = prove(c.program, c.policy);
  expectReproduces(c.program, c.policy, v);
  EXPECT_EQ(v.counterexample, "connect6 [::ffff:10.0.0.53]:53");
  EXPECT_TRUE(v.policyAllows);
  EXPECT_EQ(v.programResult, 0u);

  // Allow-everything against families {AF_INET}.
  Case s = sockCreateInet();
  s.program.insns = {mov(0, 1), exitInsn()};
  v = prove(s.program, s.policy);
  expectReproduces(s.program, s.policy, v);
  EXPECT_NE(v.witness.family, static_cast<uint32_t>(AF_INET));
}

TEST(EbpfProof, UnsafeProgramIsNotProven) {
  Case b = bind4();
  b.program.insns[1] = load(2, 6, 28);
  auto v = proveNetProgram(b.program, b.policy);
  ASSERT_FALSE(static_cast<bool>(v));
  bool kind = false;
  std::string msg;
  llvm::handleAllErrors(v.takeError(), [&](const ProofError &e) {
    kind = e.kind == ProofError::KernelWouldRefuse;
    msg = e.message;
  });
  EXPECT_TRUE(kind) << msg;
  EXPECT_NE(msg.find("insn 1 (r2 = *(u32 *)(r6 +28))"), std::string::npos) << msg;
}

// --- Mutants --------------------------------------------------------------------------------------------

uint8_t flipped(uint8_t op) {
  switch (op) {
  case BPF_JEQ: return BPF_JNE;
  case BPF_JNE: return BPF_JEQ;
  case BPF_JGT: return BPF_JLE;
  case BPF_JLE: return BPF_JGT;
  case BPF_JGE: return BPF_JLT;
  case BPF_JLT: return BPF_JGE;
  case BPF_JSGT: return BPF_JSLE;
  case BPF_JSLE: return BPF_JSGT;
  case BPF_JSGE: return BPF_JSLT;
  case BPF_JSLT: return BPF_JSGE;
  default: return BPF_JEQ; // JSET
  }
}

// Meaning-changing edits of instruction i: flip a jump's condition, change an immediate, move a load to
// another (readable or not) field or size, swap a return value, change a register ALU op, swap ALU64/ALU32
// and JMP/JMP32, retarget a jump.
std::vector<std::pair<std::string, EbpfProgram>> mutantsAt(const EbpfProgram &base, size_t i) {
  std::vector<std::pair<std::string, EbpfProgram>> out;
  auto add = [&](const std::string &what, bpf_insn in) {
    EbpfProgram m = base;
    m.insns[i] = in;
    out.emplace_back("insn " + std::to_string(i) + " " + what + ": " + disassemble(in), m);
  };
  bpf_insn in = base.insns[i];
  uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
  bool x = BPF_SRC(in.code) == BPF_X;
  if (cls == BPF_LDX) {
    for (const ContextField &f : readableContextFields(base.hook))
      if (f.offset != in.off) {
        bpf_insn m = in;
        m.off = f.offset;
        add("load another field", m);
      }
    bpf_insn m = in;
    m.off = 28;
    add("load a field outside the model", m);
    m = in;
    m.code = BPF_LDX | BPF_MEM | BPF_H;
    add("2-byte load", m);
  } else if (cls == BPF_ALU || cls == BPF_ALU64) {
    bpf_insn m = in;
    m.code = static_cast<uint8_t>((cls == BPF_ALU ? BPF_ALU64 : BPF_ALU) | op | BPF_SRC(in.code));
    add("other width", m);
    if (!x) {
      if (op == BPF_MOV && (in.imm == 0 || in.imm == 1)) {
        m = in;
        m.imm = 1 - in.imm;
        add("swap the return value", m);
      }
      m = in;
      m.imm = in.imm + 1;
      add("immediate + 1", m);
      m = in;
      m.imm = in.imm ^ 0x100;
      add("immediate ^ 0x100", m);
    } else {
      for (uint8_t o : {BPF_AND, BPF_OR, BPF_XOR, BPF_ADD})
        if (o != op) {
          m = in;
          m.code = static_cast<uint8_t>(cls | o | BPF_X);
          add("other operation", m);
        }
    }
  } else if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_EXIT && op != BPF_JA) {
    bpf_insn m = in;
    m.code = static_cast<uint8_t>(cls | flipped(op) | BPF_SRC(in.code));
    add("flip the condition", m);
    m = in;
    m.code = static_cast<uint8_t>((cls == BPF_JMP ? BPF_JMP32 : BPF_JMP) | op | BPF_SRC(in.code));
    add("other width", m);
    if (!x) {
      m = in;
      m.imm = in.imm + 1;
      add("immediate + 1", m);
      m = in;
      m.imm = in.imm - 1;
      add("immediate - 1", m);
    }
    m = in;
    m.off = static_cast<int16_t>(in.off + 1);
    add("target + 1", m);
  }
  return out;
}

// How the mutants of some programs fared.
struct MutantTally {
  int total = 0, unsafe = 0, refused = 0, preserving = 0, failures = 0;
  double slowest = 0, proofTime = 0;

  // Every single-instruction mutant of `program`: refused by safety (naming an instruction), or refused with
  // a counterexample that reproduces, or proven equivalent with the concrete check agreeing.
  void add(const std::string &name, const EbpfProgram &program, const NetPolicy &policy) {
    for (size_t i = 0; i < program.insns.size(); ++i)
      for (const auto &[what, m] : mutantsAt(program, i)) {
        SCOPED_TRACE(name + ", " + what);
        ++total;
        auto r = proveNetProgram(m, policy);
        if (!r) {
          std::string msg;
          bool safety = false;
          llvm::handleAllErrors(r.takeError(), [&](const ProofError &e) {
            safety = e.kind == ProofError::KernelWouldRefuse;
            msg = e.message;
          });
          EXPECT_TRUE(safety) << msg;
          EXPECT_NE(msg.find("insn "), std::string::npos) << msg; // the refusal names an instruction
          unsafe += safety;
          failures += !safety;
          continue;
        }
        slowest = std::max(slowest, r->seconds);
        proofTime += r->seconds;
        if (r->equivalent) { // claimed meaning-preserving: the concrete check must agree
          std::optional<NetEvent> d = concreteDifference(m, policy);
          EXPECT_FALSE(d.has_value()) << "proven equivalent but differs at " << describe(*d);
          if (d) {
            ++failures;
          } else {
            ++preserving;
            std::printf("  meaning-preserving: %s, %s\n", name.c_str(), what.c_str());
          }
        } else {
          expectReproduces(m, policy, *r);
          bool reproduces = runNetProgram(m, r->witness) == r->programResult &&
                            allows(policy, r->witness) == r->policyAllows && (r->programResult != 0) != r->policyAllows;
          refused += reproduces;
          failures += !reproduces;
        }
      }
  }

  void report(const char *what) const {
    std::printf("%s: %d total, %d refused by safety, %d refused with a reproducing counterexample, %d "
                "meaning-preserving (proven, concrete check agrees), %d failures; killed %d/%d = %.1f%%; slowest "
                "proof %.4f s, all proofs %.3f s\n",
                what, total, unsafe, refused, preserving, failures, unsafe + refused, total - preserving,
                total - preserving ? 100.0 * (unsafe + refused) / (total - preserving) : 100.0, slowest, proofTime);
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(unsafe + refused + preserving, total);
  }
};

TEST(EbpfProof, EveryMutantIsRefusedOrShownHarmless) {
  MutantTally t;
  for (const Case &c : cases())
    t.add(c.name, c.program, c.policy);
  t.report("ebpf mutants");
  EXPECT_GE(t.total, 60);
}

// --- Programs extension-gen generates, for random policies: every hook ----------------------------------

NetPolicy randomPolicy(std::mt19937_64 &rng) {
  NetPolicy p;
  for (uint32_t f : {uint32_t{AF_INET}, uint32_t{AF_INET6}, uint32_t{AF_UNIX}, 0x80000002u})
    if (rng() % 2)
      p.families.insert(f);
  p.bindAnyPort = rng() % 6 == 0;
  for (int i = static_cast<int>(rng() % 4); i > 0; --i)
    p.bindPorts.insert(static_cast<uint16_t>(rng() % 3 == 0 ? rng() % 1024 : rng()));
  p.connectAny = rng() % 10 == 0;
  static const char *V4[] = {"10.0.0.53", "127.0.0.1", "0.0.0.0", "255.255.255.255"};
  static const char *V6[] = {"::1", "2001:db8::53", "::ffff:10.0.0.53", "fe80::1"};
  for (int i = static_cast<int>(rng() % 5); i > 0; --i) {
    NetDestination d;
    int kind = static_cast<int>(rng() % 9);
    d.family = kind < 4 ? AF_INET : kind < 8 ? AF_INET6 : AF_UNIX;
    if (d.family == AF_INET6)
      d.addr = ip(AF_INET6, V6[rng() % 4]);
    else
      d.addr = ip(AF_INET, V4[rng() % 4]);
    d.anyAddr = rng() % 4 == 0;
    d.anyPort = rng() % 4 == 0;
    d.port = static_cast<uint16_t>(rng() % 2 ? 53 + rng() % 3 : rng());
    p.connect.push_back(d);
  }
  return p;
}

// What extension-gen compiles for one hook (its own error for destinations of other families: dropped here,
// as allows() lets them match nothing).
EbpfProgram generated(NetHook hook, NetPolicy policy) {
  std::erase_if(policy.connect, [](const NetDestination &d) { return d.family != AF_INET && d.family != AF_INET6; });
  auto prog = compileNetProgram(policy, hook);
  if (!prog) {
    ADD_FAILURE() << llvm::toString(prog.takeError());
    return {hook, {}};
  }
  return *prog;
}

// Programs extension-gen compiles from random policies are proven for every hook; against another random policy they are
// proven too (and the concrete check agrees) or refused with a counterexample that reproduces. Exercises the
// policy encoding (Bind6, Connect4, Sendmsg4/6, anyAddr, anyPort, v6 addresses, connectAny, bindAnyPort)
// against allows() beyond the hand-written cases.
TEST(EbpfProof, RandomPoliciesOnEveryHook) {
  std::mt19937_64 rng(1403);
  int proven = 0, crossEquivalent = 0, crossRefused = 0;
  double slowest = 0;
  for (int i = 0; i < 25; ++i) {
    NetPolicy p = randomPolicy(rng), q = randomPolicy(rng);
    for (NetHook hook : AllNetHooks) {
      SCOPED_TRACE("policy " + std::to_string(i) + " " + hookName(hook));
      EbpfProgram prog = generated(hook, p);
      ASSERT_EQ(refusal(prog), "");
      EbpfVerdict v = prove(prog, p);
      EXPECT_TRUE(v.equivalent) << v.counterexample;
      EXPECT_FALSE(concreteDifference(prog, p).has_value());
      proven += v.equivalent;
      slowest = std::max(slowest, v.seconds);
      EbpfVerdict w = prove(prog, q);
      if (w.equivalent) {
        std::optional<NetEvent> d = concreteDifference(prog, q);
        EXPECT_FALSE(d.has_value()) << "proven equivalent but differs at " << describe(*d);
        ++crossEquivalent;
      } else {
        expectReproduces(prog, q, w);
        ++crossRefused;
      }
    }
  }
  std::printf("random policies: %d programs proven on 7 hooks (slowest %.4f s); against another policy %d "
              "proven (concrete check agrees), %d refused with a reproducing counterexample\n",
              proven, slowest, crossEquivalent, crossRefused);
  EXPECT_EQ(proven, 25 * 7);
}

// The mutants of what extension-gen generates, on every hook, for a policy with families, bind ports and
// destinations of both families (a v4 one reached through v4-mapped addresses in the v6 hooks).
TEST(EbpfProof, EveryMutantOfGeneratedProgramsIsRefusedOrShownHarmless) {
  NetPolicy p;
  p.families = {AF_INET};
  p.bindPorts = {6379, 8080};
  NetDestination dns, web;
  dns.family = AF_INET;
  dns.addr = ip(AF_INET, "10.0.0.53");
  dns.port = 53;
  web.family = AF_INET6;
  web.addr = ip(AF_INET6, "2001:db8::1");
  web.port = 443;
  p.connect = {dns, web};
  MutantTally t;
  for (NetHook hook : AllNetHooks) {
    EbpfProgram prog = generated(hook, p);
    ASSERT_TRUE(prove(prog, p).equivalent) << hookName(hook);
    t.add(std::string("generated ") + hookName(hook), prog, p);
  }
  t.report("mutants of generated programs");
  EXPECT_GE(t.total, 200);
}

// --- Safety refusals ------------------------------------------------------------------------------------

void expectRefused(const EbpfProgram &p, const std::string &insnText, const std::string &why) {
  std::string msg = refusal(p);
  EXPECT_NE(msg.find(insnText), std::string::npos) << msg;
  EXPECT_NE(msg.find(why), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(EbpfSafety, RefusesWithTheInstruction) {
  const NetHook B = NetHook::Bind4;
  expectRefused({B, {mov(0, 1), ja(-2), exitInsn()}}, "insn 1 (goto -2)", "backward jump");
  expectRefused({B, {mov(0, 1), jmp(BPF_JEQ, 0, 0, 5), exitInsn()}}, "insn 1 (if r0 == 0x0 goto +5)",
                "jump target 7 is past the end");
  // Offset 28 of struct bpf_sock_addr is `family` (msg_src_ip4 is at 40): outside the model.
  expectRefused({NetHook::Connect4, {load(2, 1, 28), mov(0, 1), exitInsn()}}, "insn 0 (r2 = *(u32 *)(r1 +28))",
                "offset 28 is not a field a connect4 program may read (user_ip4@4, user_port@24)");
  expectRefused({NetHook::Sendmsg4, {load(2, 1, 40), mov(0, 1), exitInsn()}}, "insn 0", "offset 40");
  expectRefused({B, {insn(BPF_LDX | BPF_MEM | BPF_H, 2, 1, 24, 0), mov(0, 1), exitInsn()}},
                "insn 0 (r2 = *(u16 *)(r1 +24))", "2-byte load");
  expectRefused({B, {load(2, 1, 24), jmp(BPF_JEQ, 2, 0, 1), mov(0, 1), exitInsn()}}, "insn 3 (exit)",
                "r0 not written on every path");
  expectRefused({B, {call(14), mov(0, 1), exitInsn()}}, "insn 0 (call 14)", "calls");
  expectRefused({B, {movReg(2, 10), mov(0, 1), exitInsn()}}, "insn 0 (r2 = r10)", "r10");
  expectRefused({B, {mov(0, 1), mov(10, 1), exitInsn()}}, "insn 1 (r10 = 1)", "r10");
  // More of the subset's edges.
  expectRefused({B, {}}, "", "empty program");
  expectRefused({B, std::vector<bpf_insn>(4097, mov(0, 1))}, "", "4097 instructions");
  expectRefused({B, {mov(0, 1)}}, "insn 0 (r0 = 1)", "falls off the end");
  expectRefused({B, {mov(0, 1), ja(1), mov(0, 0), exitInsn()}}, "insn 2 (r0 = 0)", "unreachable");
  expectRefused({B, {mov(0, 2), exitInsn()}}, "insn 1 (exit)", "0 or 1");
  expectRefused({B, {movReg(0, 1), exitInsn()}}, "insn 1 (exit)", "context pointer");
  expectRefused({B, {aluReg(BPF_ADD, 2, 3), mov(0, 1), exitInsn()}}, "insn 0 (r2 += r3)", "reads r2");
  expectRefused({B, {load(2, 2, 24), mov(0, 1), exitInsn()}}, "insn 0", "does not hold the context pointer");
  expectRefused({B, {insn(BPF_ALU | BPF_MOV | BPF_X, 6, 1, 0, 0), load(2, 6, 24), mov(0, 1), exitInsn()}},
                "insn 0 (w6 = w1)", "context pointer");
  expectRefused({B, {insn(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 0, 1), mov(0, 1), exitInsn()}}, "insn 0 (r0 /= 1)",
                "not in the subset");
  expectRefused({B, {mov(0, 1), alu(BPF_LSH, 0, 64), exitInsn()}}, "insn 1 (r0 <<= 64)", "shift by 64");
  // user_ip6 in a v4 hook, user_ip4 in a v6 hook: the kernel refuses both.
  expectRefused({NetHook::Connect4, {load(2, 1, 8), mov(0, 1), exitInsn()}}, "insn 0", "offset 8");
  expectRefused({NetHook::Connect6, {load(2, 1, 4), mov(0, 1), exitInsn()}}, "insn 0", "offset 4");
  expectRefused({NetHook::SockCreate, {load(2, 1, 24), mov(0, 1), exitInsn()}}, "insn 0",
                "(family@4, type@8, protocol@12)");
  // r0 that is 0 or 1 by `&= 1`, and a register holding the context pointer on one path only.
  EXPECT_EQ(refusal({B, {load(0, 1, 24), alu(BPF_AND, 0, 1), exitInsn()}}), "");
  expectRefused({B, {load(2, 1, 24), mov(3, 0), jmp(BPF_JEQ, 2, 0, 1), movReg(3, 1), load(4, 3, 24), mov(0, 1),
                     exitInsn()}},
                "insn 4", "does not hold the context pointer on every path");
}

} // namespace
