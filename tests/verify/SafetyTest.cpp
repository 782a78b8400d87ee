#include <gtest/gtest.h>

#include "tests/verify/SeccompHelpers.h"
#include "verify/Safety.h"

using namespace bespoke;

namespace {

sock_filter insn(uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) { return sock_filter{code, jt, jf, k}; }

const sock_filter Ret = insn(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

std::string joined(const std::vector<std::string> &v) {
  std::string s;
  for (const auto &x : v)
    s += x + "\n";
  return s;
}

#define EXPECT_PROBLEM(prog, needle)                                                                    \
  do {                                                                                                  \
    auto problems = checkSafety(prog);                                                                  \
    EXPECT_NE(joined(problems).find(needle), std::string::npos) << "got:\n" << joined(problems);        \
  } while (0)

TEST(Safety, AcceptsGoodFilters) {
  EXPECT_TRUE(checkSafety({Ret}).empty());
  BpfProgram p = {insn(BPF_LD | BPF_W | BPF_ABS, 0), insn(BPF_ST, 0),
                  insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), insn(BPF_LD | BPF_MEM, 0),
                  insn(BPF_LD | BPF_W | BPF_LEN, 0), insn(BPF_LDX | BPF_W | BPF_LEN, 0),
                  insn(BPF_LD | BPF_W | BPF_ABS, 60), insn(BPF_RET | BPF_A, 0)};
  EXPECT_TRUE(checkSafety(p).empty()) << joined(checkSafety(p));
  std::mt19937_64 rng(1);
  Policy pol = test::randomPolicy(rng, 40, 400, true, true);
  auto prog = readBpf(test::libseccompBytes(pol, 2), "libseccomp");
  ASSERT_TRUE(static_cast<bool>(prog));
  EXPECT_TRUE(checkSafety(*prog).empty()) << joined(checkSafety(*prog));
}

TEST(Safety, BadOpcodes) {
  EXPECT_PROBLEM(BpfProgram({insn(0x00ff, 0), Ret}), "insn 0 (");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LD | BPF_B | BPF_ABS, 0), Ret}), "not allowed in a seccomp filter");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LD | BPF_H | BPF_ABS, 0), Ret}), "not allowed");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LD | BPF_W | BPF_IND, 0), Ret}), "not allowed");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LDX | BPF_B | BPF_MSH, 0), Ret}), "not allowed");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_ALU | BPF_MOD | BPF_K, 3), Ret}), "not allowed");
}

TEST(Safety, Jumps) {
  EXPECT_PROBLEM(BpfProgram({insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), Ret}), "insn 0 (jeq #0x0, 2, 1): true target 2");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_JMP | BPF_JGT | BPF_K, 0, 0, 7), Ret}), "false target 8");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_JMP | BPF_JA, 1), Ret}), "jump target 2 is past the end");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_JMP | BPF_JA, 0xffffffff), Ret}), "past the end");
}

TEST(Safety, NoFinalRet) {
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LD | BPF_W | BPF_ABS, 0)}), "insn 0 (ld [0]): the last instruction is not a ret");
  EXPECT_PROBLEM(BpfProgram({Ret, insn(BPF_MISC | BPF_TAX, 0)}), "insn 1 (tax): the last instruction is not a ret");
}

TEST(Safety, Loads) {
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LD | BPF_W | BPF_ABS, 2), Ret}), "insn 0 (ld [2]): load offset 2 is not 4-byte aligned");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LD | BPF_W | BPF_ABS, 64), Ret}), "load offset 64 is past the 64-byte seccomp_data");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LD | BPF_W | BPF_ABS, 0x80000000), Ret}), "past the 64-byte");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_ST, 16), Ret}), "scratch index 16");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_ALU | BPF_DIV | BPF_K, 0), Ret}), "division by constant zero");
  EXPECT_PROBLEM(BpfProgram({insn(BPF_ALU | BPF_LSH | BPF_K, 32), Ret}), "shift by 32");
}

TEST(Safety, ScratchReadBeforeWrite) {
  EXPECT_PROBLEM(BpfProgram({insn(BPF_LD | BPF_MEM, 2), Ret}), "insn 0 (ld M[2]): reads M[2]");
  // Written on the true path only: 0 jeq -> 1 (st M[5]) / 2; 2 reads M[5].
  BpfProgram oneSide = {insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), insn(BPF_ST, 5), insn(BPF_LDX | BPF_MEM, 5), Ret};
  EXPECT_PROBLEM(oneSide, "insn 2 (ldx M[5]): reads M[5]");
  // Written on both paths: safe.
  BpfProgram bothSides = {insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2), insn(BPF_ST, 5), insn(BPF_JMP | BPF_JA, 1),
                          insn(BPF_STX, 5), insn(BPF_LDX | BPF_MEM, 5), Ret};
  EXPECT_TRUE(checkSafety(bothSides).empty()) << joined(checkSafety(bothSides));
}

TEST(Safety, Length) {
  EXPECT_PROBLEM(BpfProgram{}, "empty program");
  BpfProgram big(4097, Ret);
  EXPECT_PROBLEM(big, "4097 instructions");
  BpfProgram max(4096, Ret);
  EXPECT_TRUE(checkSafety(max).empty());
}

} // namespace

namespace {

TEST(Structure, CompleteProgramsPassAndCutOnesFail) {
  using bespoke::checkStructure;
  bespoke::BpfProgram good = {sock_filter{BPF_LD | BPF_W | BPF_ABS, 0, 0, 0},
                              sock_filter{BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 39},
                              sock_filter{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW},
                              sock_filter{BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS}};
  EXPECT_TRUE(checkStructure(good).empty());
  // Cut after the jump: its false target is gone and the last instruction is not a ret.
  bespoke::BpfProgram cut(good.begin(), good.begin() + 2);
  std::vector<std::string> problems = checkStructure(cut);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("past the end"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("not a ret"), std::string::npos) << problems[1];
  EXPECT_FALSE(checkStructure({}).empty());
  // A complete program that is unsafe for another reason passes the structure check.
  bespoke::BpfProgram misaligned = good;
  misaligned[0].k = 2;
  EXPECT_TRUE(checkStructure(misaligned).empty());
  EXPECT_FALSE(bespoke::checkSafety(misaligned).empty());
}

} // namespace
