// The interpreter against the live kernel: tiny filters installed in a forked child (no_new_privs, then
// seccomp(SECCOMP_SET_MODE_FILTER)) compute a value from the syscall's arguments and return it as
// SECCOMP_RET_ERRNO | value; the child reports what its syscall returned. Pins the cases where two
// interpreters used to disagree — division by zero (the filter returns 0: the thread is killed) and shift
// counts >= 32 (taken modulo 32: 1 << 33 == 2) — plus a sweep of random ALU programs. The kernel also
// refuses the constant forms (division by constant 0, constant shifts >= 32, MOD), as checkSafety does.
#include <gtest/gtest.h>

#include "seccomp/Interpreter.h"
#include "verify/Safety.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <random>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace bespoke;

namespace {

sock_filter insn(uint16_t code, uint32_t k = 0, uint8_t jt = 0, uint8_t jf = 0) { return sock_filter{code, jt, jf, k}; }

// What a filter did to one getppid(args...) call in a child.
struct Observed {
  bool installed = false; // false: seccomp() refused the filter
  int installErrno = 0;
  bool killed = false;    // the child died of SIGSYS (a kill action, e.g. return value 0)
  long result = 0;        // else: the syscall's raw return value (-errno for SECCOMP_RET_ERRNO)
};

// Wraps BODY (which leaves its result in A, or returns) so that only getppid runs it; every other syscall
// is allowed. The body's `ret` instructions and the final `ret a` return A | SECCOMP_RET_ERRNO.
BpfProgram wrap(const BpfProgram &body) {
  BpfProgram p = {insn(BPF_LD | BPF_W | BPF_ABS, 0),
                  insn(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 1, 0), insn(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  p.insert(p.end(), body.begin(), body.end());
  p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 0xfff)); // errno values above MAX_ERRNO are clamped
  p.push_back(insn(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO));
  p.push_back(insn(BPF_RET | BPF_A));
  return p;
}

Observed runInKernel(const BpfProgram &prog, const uint64_t args[6]) {
  Observed o;
  int fds[2];
  if (pipe(fds) != 0) return o;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    struct Report {
      int stage, err;
      long result;
    } rep{0, 0, 0};
    sock_fprog fp{static_cast<unsigned short>(prog.size()), const_cast<sock_filter *>(prog.data())};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) != 0) {
      rep.err = errno;
    } else {
      rep.stage = 1;
      // The raw syscall instruction, so that libc's error handling cannot blur the return value.
      long r;
      register long r10 asm("r10") = static_cast<long>(args[3]);
      register long r8 asm("r8") = static_cast<long>(args[4]);
      register long r9 asm("r9") = static_cast<long>(args[5]);
      asm volatile("syscall"
                   : "=a"(r)
                   : "a"(SYS_getppid), "D"(args[0]), "S"(args[1]), "d"(args[2]), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
      rep.result = r;
    }
    ssize_t w = write(fds[1], &rep, sizeof rep);
    _exit(w == sizeof rep ? 0 : 1);
  }
  close(fds[1]);
  struct {
    int stage, err;
    long result;
  } rep{-1, 0, 0};
  ssize_t got = read(fds[0], &rep, sizeof rep);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
    o.installed = o.killed = true;
    return o;
  }
  if (got != static_cast<ssize_t>(sizeof rep)) return o;
  o.installed = rep.stage == 1;
  o.installErrno = rep.err;
  o.result = rep.result;
  return o;
}

bool seccompWorks() {
  static const bool works = [] {
    const uint64_t zero[6] = {};
    Observed o = runInKernel(wrap({insn(BPF_LD | BPF_IMM, 7)}), zero);
    return o.installed && !o.killed && o.result == -7;
  }();
  return works;
}

// The interpreter's answer, in the terms the child can observe.
std::string interpreted(const BpfProgram &prog, const uint64_t args[6]) {
  BpfRun r = runBpf(prog, SYS_getppid, Policy::AuditArchX86_64, 0, args);
  if (!r.ok) return "malformed: " + r.error;
  std::optional<Action> a = Action::fromValue(r.ret);
  if (a && (a->kind == Action::KillThread || a->kind == Action::KillProcess)) return "killed";
  if (a && a->kind == Action::Errno) return "returns " + std::to_string(-static_cast<long>(a->data));
  return "ret " + actionText(r.ret);
}

std::string observed(const Observed &o) {
  if (!o.installed) return std::string("refused: ") + strerror(o.installErrno);
  if (o.killed) return "killed";
  return "returns " + std::to_string(o.result);
}

void expectAgrees(const BpfProgram &body, std::initializer_list<uint64_t> argList, const std::string &expected) {
  uint64_t args[6] = {};
  size_t i = 0;
  for (uint64_t v : argList) args[i++] = v;
  BpfProgram prog = wrap(body);
  ASSERT_TRUE(checkSafety(prog).empty()) << checkSafety(prog)[0];
  std::string kernel = observed(runInKernel(prog, args));
  EXPECT_EQ(kernel, expected) << "the kernel";
  EXPECT_EQ(interpreted(prog, args), kernel) << "the interpreter disagrees with the kernel";
}

#define REQUIRE_SECCOMP()                                                                                    \
  if (!seccompWorks()) GTEST_SKIP() << "seccomp filters cannot be installed here"

const sock_filter LdxArg0 = insn(BPF_LDX | BPF_W | BPF_ABS, 16); // not in the seccomp subset: see below
const sock_filter LdArg0 = insn(BPF_LD | BPF_W | BPF_ABS, 16);
const sock_filter Tax = insn(BPF_MISC | BPF_TAX);

TEST(KernelSemantics, DivisionByZeroReturnsZero) {
  REQUIRE_SECCOMP();
  // X = args[0]; A = 100 / X. X == 0: the filter returns 0, SECCOMP_RET_KILL_THREAD.
  BpfProgram div = {LdArg0, Tax, insn(BPF_LD | BPF_IMM, 100), insn(BPF_ALU | BPF_DIV | BPF_X)};
  expectAgrees(div, {0}, "killed");
  expectAgrees(div, {7}, "returns -14");
  expectAgrees(div, {0x100000000ULL}, "killed"); // only the low word is loaded
}

TEST(KernelSemantics, ShiftCountsAreModulo32) {
  REQUIRE_SECCOMP();
  BpfProgram lsh = {LdArg0, Tax, insn(BPF_LD | BPF_IMM, 1), insn(BPF_ALU | BPF_LSH | BPF_X)};
  expectAgrees(lsh, {33}, "returns -2"); // 1 << 33 == 2
  expectAgrees(lsh, {32}, "returns -1");
  expectAgrees(lsh, {64 + 4}, "returns -16");
  expectAgrees(lsh, {4}, "returns -16");
  BpfProgram rsh = {LdArg0, Tax, insn(BPF_LD | BPF_IMM, 0x800), insn(BPF_ALU | BPF_RSH | BPF_X)};
  expectAgrees(rsh, {35}, "returns -256"); // 0x800 >> 3
  expectAgrees(rsh, {0xffffffffULL}, "returns 0"); // >> 31
}

TEST(KernelSemantics, ConstantFormsAreRefused) {
  REQUIRE_SECCOMP();
  const uint64_t zero[6] = {};
  for (const sock_filter &bad : {insn(BPF_ALU | BPF_DIV | BPF_K, 0), insn(BPF_ALU | BPF_LSH | BPF_K, 32),
                                 insn(BPF_ALU | BPF_RSH | BPF_K, 33), insn(BPF_ALU | BPF_MOD | BPF_K, 3),
                                 insn(BPF_ALU | BPF_MOD | BPF_X), LdxArg0}) {
    BpfProgram prog = wrap({insn(BPF_LD | BPF_IMM, 5), bad});
    EXPECT_EQ(observed(runInKernel(prog, zero)), "refused: Invalid argument") << disassemble(bad, 3);
    EXPECT_FALSE(checkSafety(prog).empty()) << "checkSafety accepts " << disassemble(bad, 3);
  }
}

// Random straight-line ALU programs over the arguments: every operation with K and X operands, shift
// counts and divisors drawn so that >= 32 and 0 come up often.
TEST(KernelSemantics, RandomAluPrograms) {
  REQUIRE_SECCOMP();
  std::mt19937_64 rng(16);
  const uint16_t ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH};
  int killed = 0;
  for (int round = 0; round < 80; ++round) {
    uint64_t args[6];
    for (uint64_t &a : args) a = rng() % 3 == 0 ? rng() % 70 : rng(); // small values: shifts >= 32, zeros
    BpfProgram body = {insn(BPF_LD | BPF_W | BPF_ABS, 16 + 8 * static_cast<uint32_t>(rng() % 6))};
    for (int i = 0, n = 1 + static_cast<int>(rng() % 6); i < n; ++i) {
      uint16_t op = ops[rng() % std::size(ops)];
      if (rng() % 2) { // X operand: an argument word (or a small number) moved through A
        body.push_back(insn(BPF_ST, 0));
        uint32_t small = static_cast<uint32_t>(op == BPF_DIV ? rng() % 3 : rng() % 40); // 0 divides by zero
        body.push_back(rng() % 3 ? insn(BPF_LD | BPF_W | BPF_ABS, 16 + 4 * static_cast<uint32_t>(rng() % 12))
                                 : insn(BPF_LD | BPF_IMM, small));
        body.push_back(Tax);
        body.push_back(insn(BPF_LD | BPF_MEM, 0));
        body.push_back(insn(BPF_ALU | op | BPF_X));
      } else {
        uint32_t k = static_cast<uint32_t>(rng());
        if (op == BPF_LSH || op == BPF_RSH) k %= 32;
        if (op == BPF_DIV && k == 0) k = 1;
        body.push_back(insn(BPF_ALU | op | BPF_K, k));
      }
      if (rng() % 5 == 0) body.push_back(insn(BPF_ALU | BPF_NEG));
    }
    BpfProgram prog = wrap(body);
    ASSERT_TRUE(checkSafety(prog).empty()) << checkSafety(prog)[0];
    std::string kernel = observed(runInKernel(prog, args));
    killed += kernel == "killed";
    ASSERT_EQ(interpreted(prog, args), kernel) << "round " << round << ", args[0] " << args[0];
  }
  std::printf("[ info ] 80 random ALU programs agree with the kernel (%d divided by zero)\n", killed);
}

} // namespace
