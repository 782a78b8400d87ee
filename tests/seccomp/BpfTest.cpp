// seccomp/Bpf.h and the interpreter on hand-written programs and libseccomp-made filters: the raw format,
// the disassembler (whose compiled subset the C header prints), the interpreter's ALU, scratch and jumps.
#include <gtest/gtest.h>

#include "seccomp/Bpf.h"
#include "seccomp/Interpreter.h"
#include "tests/verify/SeccompHelpers.h"

using namespace bespoke;

namespace {

sock_filter insn(uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) { return sock_filter{code, jt, jf, k}; }

seccomp_data data(uint32_t nr, uint32_t arch = Policy::AuditArchX86_64) {
  seccomp_data d{};
  d.nr = static_cast<int>(nr);
  d.arch = arch;
  return d;
}

TEST(ReadBpf, Errors) {
  auto empty = readBpf("", "F.bpf");
  ASSERT_FALSE(static_cast<bool>(empty));
  EXPECT_NE(llvm::toString(empty.takeError()).find("F.bpf: empty"), std::string::npos);

  auto odd = readBpf(std::string(13, '\0'), "F.bpf");
  ASSERT_FALSE(static_cast<bool>(odd));
  EXPECT_EQ(llvm::toString(odd.takeError()), "F.bpf: 13 bytes is not a whole number of 8-byte BPF instructions");

  auto big = readBpf(std::string(8 * 4097, '\0'), "F.bpf");
  ASSERT_FALSE(static_cast<bool>(big));
  EXPECT_NE(llvm::toString(big.takeError()).find("4097 instructions"), std::string::npos);

  auto max = readBpf(std::string(8 * 4096, '\0'), "F.bpf");
  ASSERT_TRUE(static_cast<bool>(max));
  EXPECT_EQ(max->size(), 4096u);
}

TEST(ReadBpf, LittleEndianRoundTrip) {
  std::string bytes("\x15\x00\x03\x04\x3e\x00\x00\xc0", 8);
  auto prog = readBpf(bytes, "x");
  ASSERT_TRUE(static_cast<bool>(prog));
  ASSERT_EQ(prog->size(), 1u);
  EXPECT_EQ((*prog)[0].code, BPF_JMP | BPF_JEQ | BPF_K);
  EXPECT_EQ((*prog)[0].jt, 3);
  EXPECT_EQ((*prog)[0].jf, 4);
  EXPECT_EQ((*prog)[0].k, 0xc000003eu);
  EXPECT_EQ(writeBpf(*prog), bytes);
}

TEST(RunBpf, LibseccompFilter) {
  Policy p;
  p.defaultAction = test::act(Action::Errno, 1);
  p.badArchAction = test::act(Action::KillProcess);
  SyscallRule read;
  read.nr = 0;
  p.allowed.push_back(read);
  SyscallRule write;
  write.nr = 1;
  ArgCondition c;
  c.arg = 0;
  c.a = 5;
  write.alternatives.push_back({c});
  p.allowed.push_back(write);
  auto prog = readBpf(test::libseccompBytes(p, 0), "libseccomp");
  ASSERT_TRUE(static_cast<bool>(prog));
  EXPECT_EQ(runBpf(*prog, data(0)).ret, SECCOMP_RET_ALLOW);
  EXPECT_EQ(runBpf(*prog, data(2)).ret, SECCOMP_RET_ERRNO | 1);
  EXPECT_EQ(runBpf(*prog, data(0, 0x40000003)).ret, SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(runBpf(*prog, data(0x40000000)).ret, SECCOMP_RET_KILL_PROCESS);
  // libseccomp gives nr == -1 (a tracer skipping a syscall) the default action, not the bad-arch kill.
  EXPECT_EQ(runBpf(*prog, data(0xffffffff)).ret, SECCOMP_RET_ERRNO | 1);
  seccomp_data w = data(1);
  EXPECT_EQ(runBpf(*prog, w).ret, SECCOMP_RET_ERRNO | 1);
  w.args[0] = 5;
  EXPECT_EQ(runBpf(*prog, w).ret, SECCOMP_RET_ALLOW);
  w.args[0] = 5 | (1ULL << 32);
  EXPECT_EQ(runBpf(*prog, w).ret, SECCOMP_RET_ERRNO | 1);
}

TEST(RunBpf, AluScratchAndMisc) {
  seccomp_data d = data(7);
  d.args[1] = 0x1122334455667788ULL;
  d.instruction_pointer = 0xdeadbeef00000010ULL;
  // A = args[1].hi (0x11223344); M[3] = A; X = 4; A = A >> X ... ret A
  BpfProgram p = {
      insn(BPF_LD | BPF_W | BPF_ABS, 28), insn(BPF_ST, 3),         insn(BPF_LDX | BPF_IMM, 4),
      insn(BPF_ALU | BPF_RSH | BPF_X, 0), insn(BPF_ALU | BPF_AND | BPF_K, 0xff), // 0x34
      insn(BPF_ALU | BPF_ADD | BPF_K, 1), insn(BPF_ALU | BPF_SUB | BPF_K, 2),    // 0x33
      insn(BPF_ALU | BPF_LSH | BPF_K, 4),                                         // 0x330
      insn(BPF_ALU | BPF_OR | BPF_K, 1),                                          // 0x331
      insn(BPF_MISC | BPF_TAX, 0),        insn(BPF_LD | BPF_MEM, 3),             // A = 0x11223344
      insn(BPF_ALU | BPF_XOR | BPF_X, 0), // 0x11223075
      insn(BPF_ALU | BPF_NEG, 0),         insn(BPF_ALU | BPF_NEG, 0),
      insn(BPF_JMP | BPF_JSET | BPF_K, 0x1, 0, 1), insn(BPF_RET | BPF_A, 0), insn(BPF_RET | BPF_K, 9)};
  EXPECT_EQ(runBpf(p, d).ret, 0x11223075u);
  // ip.lo, len, div by X == 0 returns 0
  BpfProgram q = {insn(BPF_LD | BPF_W | BPF_ABS, 8), insn(BPF_JMP | BPF_JEQ | BPF_K, 0x10, 1, 0),
                  insn(BPF_RET | BPF_K, 1), insn(BPF_LD | BPF_W | BPF_LEN, 0), insn(BPF_JMP | BPF_JGE | BPF_K, 64, 1, 0),
                  insn(BPF_RET | BPF_K, 2), insn(BPF_LDX | BPF_IMM, 0), insn(BPF_ALU | BPF_DIV | BPF_X, 0),
                  insn(BPF_RET | BPF_K, 3)};
  EXPECT_EQ(runBpf(q, d).ret, 0u);
  q[6].k = 2;
  EXPECT_EQ(runBpf(q, d).ret, 3u);
  // Out-of-range things never crash.
  EXPECT_EQ(runBpf({insn(BPF_LD | BPF_W | BPF_ABS, 64)}, d).ret, SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(runBpf({insn(BPF_JMP | BPF_JA, 5)}, d).ret, SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(runBpf({insn(BPF_LD | BPF_IMM, 1)}, d).ret, SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(runBpf({insn(0xffff, 1)}, d).ret, SECCOMP_RET_KILL_PROCESS);
}

TEST(Disassemble, OneLinePerInstruction) {
  // The C header's comments use this text, so the compiled subset must not change.
  EXPECT_EQ(disassemble(insn(BPF_LD | BPF_W | BPF_ABS, 4), 0), "ld [4]");
  EXPECT_EQ(disassemble(insn(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 1, 0), 1), "jeq #0xc000003e, 3, 2");
  EXPECT_EQ(disassemble(insn(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 7), 5), "jge #0x40000000, 6, 13");
  EXPECT_EQ(disassemble(insn(BPF_JMP | BPF_JA, 300), 2), "ja 303");
  EXPECT_EQ(disassemble(insn(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), 9), "ret #0x7fff0000");
  EXPECT_EQ(disassemble(insn(BPF_RET | BPF_K, 0), 9), "ret #0x00000000");
  EXPECT_EQ(disassemble(insn(BPF_ALU | BPF_AND | BPF_K, 0xff), 0), "and #0xff");
  // The rest of what seccomp takes, for verify's messages.
  EXPECT_EQ(disassemble(insn(BPF_JMP | BPF_JSET | BPF_X, 0, 2, 3), 0), "jset x, 3, 4");
  EXPECT_EQ(disassemble(insn(BPF_ALU | BPF_LSH | BPF_X, 0), 0), "lsh x");
  EXPECT_EQ(disassemble(insn(BPF_ALU | BPF_NEG, 0), 0), "neg");
  EXPECT_EQ(disassemble(insn(BPF_LDX | BPF_MEM, 5), 0), "ldx M[5]");
  EXPECT_EQ(disassemble(insn(BPF_ST, 2), 0), "st M[2]");
  EXPECT_EQ(disassemble(insn(BPF_LD | BPF_W | BPF_LEN, 0), 0), "ld len");
  EXPECT_EQ(disassemble(insn(BPF_LDX | BPF_IMM, 7), 0), "ldx #0x7");
  EXPECT_EQ(disassemble(insn(BPF_MISC | BPF_TXA, 0), 0), "txa");
  EXPECT_EQ(disassemble(insn(BPF_RET | BPF_A, 0), 0), "ret a");
  EXPECT_EQ(disassemble(insn(BPF_LD | BPF_H | BPF_ABS, 2), 0), "ldh [2]");
  EXPECT_EQ(disassemble(insn(0x00ff, 1, 2, 3), 0), "op 0x00ff #0x1, 2, 3");
}

TEST(Describe, Hex) {
  seccomp_data d = data(0x3b);
  d.args[5] = 0xff;
  EXPECT_EQ(describe(d), "nr=0x3b arch=0xc000003e ip=0x0 args=[0x0,0x0,0x0,0x0,0x0,0xff]");
}

} // namespace
