// ObserveNotify: the user-notif action, notifyPolicy against the policy it comes from (decided on random
// seccomp_data, and its filter proven by the Gate), and the supervisor live (root: it runs the command in
// a cgroup v2) on real programs: the refused calls recorded with their counts, arguments and stacks, the
// command's output and exit status untouched.
#include "extension-gen/Gate.h"
#include "extension-gen/ObserveNotify.h"
#include "extension-gen/StackSymbols.h"

#include "PolicyFixtures.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace bespoke {
namespace {

using namespace policytest;

TEST(UserNotifAction, ValueNameAndNotParsed) {
  Action a{Action::UserNotif, 0};
  EXPECT_EQ(a.value(), 0x7FC00000U);
  EXPECT_EQ(Action::fromValue(0x7FC00000U), a);
  EXPECT_EQ(Action::fromValue(0x7FC00001U), std::nullopt); // no data
  EXPECT_EQ(a.name(), "user-notif");
  EXPECT_STREQ(a.libseccompName(), "SCMP_ACT_NOTIFY");
  // Without a supervisor the kernel answers ENOSYS: not an action users can ask `run` for.
  EXPECT_EQ(parseAction("user-notif"), std::nullopt);
  EXPECT_EQ(parseAction("log"), (Action{Action::Log, 0}));
}

// Policies of every shape: unconditional, argument conditions, an errno answer (clone3), errno default.
std::vector<Policy> shapes() {
  std::vector<Policy> out;
  out.push_back(unconditionalPolicy(spread(60), kKill));
  Policy withExecve = unconditionalPolicy({0, 1, 59, 60, 231}, kEperm);
  out.push_back(withExecve);
  Policy args = unconditionalPolicy({0, 1, 3, 41, 56, 59, 435}, kKill);
  for (SyscallRule &r : args.allowed) {
    if (r.nr == 41) r.alternatives = {{ArgCondition{0, ArgCondition::Equal, 2}}, {ArgCondition{0, ArgCondition::Equal, 10}}};
    if (r.nr == 56) r.alternatives = {{ArgCondition{0, ArgCondition::MaskedEqual, 0, 0, 0x10000000}}};
    if (r.nr == 435) r.action = Action{Action::Errno, 38};
  }
  out.push_back(args);
  return out;
}

TEST(NotifyPolicy, AllowsWhatThePolicyAllowsButExecveAndHandsOverTheRest) {
  std::mt19937_64 rng(14);
  const Action notify{Action::UserNotif, 0};
  for (const Policy &p : shapes()) {
    Policy n = notifyPolicy(p);
    for (int i = 0; i < 20000; ++i) {
      uint32_t nr = static_cast<uint32_t>(i < 10000 ? rng() % 470 : rng());
      uint32_t arch = i % 50 == 0 ? 0x40000003U : Policy::AuditArchX86_64;
      uint64_t args[6];
      for (uint64_t &a : args) a = rng() % 4 == 0 ? rng() % 12 : (rng() % 2 ? 0x10000000 : rng());
      Action was = p.decide(nr, arch, args), now = n.decide(nr, arch, args);
      if (was.kind == Action::Allow && !(nr == SYS_execve && arch == Policy::AuditArchX86_64))
        EXPECT_EQ(now, was) << "nr " << nr;
      else
        EXPECT_EQ(now, notify) << "nr " << nr << " was " << was.name();
    }
    auto proven = compileProven(n);
    ASSERT_TRUE(static_cast<bool>(proven)) << llvm::toString(proven.takeError());
  }
}

bool root() { return geteuid() == 0; }

// Runs argv under the policy that allows every x86-64 syscall but `refused` (kill-process default),
// standard output to a file; returns the result and the output.
struct Observed {
  ObserveRunResult run;
  std::string out;
};
Observed observe(const std::vector<int> &refused, const std::vector<std::string> &argv) {
  std::vector<int> nrs;
  for (int nr : allNumbers())
    if (std::find(refused.begin(), refused.end(), nr) == refused.end()) nrs.push_back(nr);
  Policy p = unconditionalPolicy(nrs, kKill);
  auto proven = compileProven(notifyPolicy(p));
  EXPECT_TRUE(static_cast<bool>(proven));
  if (!proven) {
    llvm::consumeError(proven.takeError());
    return {};
  }
  char path[] = "/tmp/bespoke-notify-test.XXXXXX";
  int fd = mkstemp(path);
  int saved = dup(1);
  fflush(stdout);
  dup2(fd, 1);
  auto r = runNotified(proven->program, p, argv[0], argv);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  unlink(path);
  EXPECT_TRUE(static_cast<bool>(r));
  if (!r) {
    ADD_FAILURE() << llvm::toString(r.takeError());
    return {};
  }
  return {*r, ss.str()};
}

const ObservedCall *callOf(const ObserveRunResult &r, long nr) {
  for (const ObservedCall &c : r.calls)
    if (static_cast<long>(c.key.nr) == nr && c.arch == Policy::AuditArchX86_64) return &c;
  return nullptr;
}

TEST(RunNotified, RecordsTheRefusedCallAndLetsItRun) {
  if (!root()) GTEST_SKIP() << "needs root (the command runs in a cgroup v2)";
  Observed o = observe({SYS_uname}, {"/usr/bin/uname", "-s"});
  EXPECT_EQ(o.run.status, 0);
  EXPECT_EQ(o.out, "Linux\n"); // uname(2) ran: the command is not restricted
  EXPECT_EQ(o.run.mechanism, "seccomp");
  const ObservedCall *c = callOf(o.run, SYS_uname);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->count, 1u);
  // The innermost frame is libc's uname, in a file with a build id.
  ASSERT_FALSE(c->stack.empty());
  EXPECT_EQ(c->stack[0].status, BPF_STACK_BUILD_ID_VALID);
  StackSymbols libc = StackSymbols::load({{"libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"}});
  std::optional<Frame> f = libc.symbolize(c->stack[0]);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->module, "libc.so.6");
  EXPECT_EQ(f->symbol, "uname");
  // The command's own exec is handed over (and allowed by the policy): nothing else was.
  for (const ObservedCall &x : o.run.calls) EXPECT_TRUE(x.key.nr == SYS_uname || x.key.nr == SYS_execve) << x.key.nr;
}

TEST(RunNotified, ChildrenAndCountsAndExitStatus) {
  if (!root()) GTEST_SKIP() << "needs root (the command runs in a cgroup v2)";
  // getppid three times in three children of sh (each `sh -c` is a new process), and sh's own exit status.
  Observed o = observe({SYS_getppid}, {"/bin/sh", "-c", "for i in 1 2 3; do sh -c 'echo $PPID' >/dev/null; done; exit 3"});
  EXPECT_EQ(o.run.status, 3);
  const ObservedCall *c = callOf(o.run, SYS_getppid);
  ASSERT_NE(c, nullptr);
  EXPECT_GE(c->count, 3u);
  const ObservedCall *e = callOf(o.run, SYS_execve);
  ASSERT_NE(e, nullptr);
  EXPECT_GE(e->count, 4u); // the command and its three children
}

TEST(RunNotified, ArgumentsThePolicyChecksAreRecorded) {
  if (!root()) GTEST_SKIP() << "needs root (the command runs in a cgroup v2)";
  // socket allowed for AF_UNIX only; python opens an AF_INET6 and an AF_UNIX socket.
  std::vector<int> nrs = allNumbers();
  Policy p = unconditionalPolicy(nrs, kKill);
  for (SyscallRule &r : p.allowed)
    if (r.nr == SYS_socket) r.alternatives = {{ArgCondition{0, ArgCondition::Equal, 1}}};
  auto proven = compileProven(notifyPolicy(p));
  ASSERT_TRUE(static_cast<bool>(proven)) << llvm::toString(proven.takeError());
  auto r = runNotified(proven->program, p, "/usr/bin/python3",
                       {"python3", "-c", "import socket; socket.socket(socket.AF_UNIX); socket.socket(socket.AF_INET6)"});
  ASSERT_TRUE(static_cast<bool>(r)) << llvm::toString(r.takeError());
  EXPECT_EQ(r->status, 0);
  int sockets = 0;
  for (const ObservedCall &c : r->calls)
    if (c.key.nr == SYS_socket) {
      ++sockets;
      EXPECT_EQ(c.key.args[0], 10u); // AF_INET6; the AF_UNIX socket was allowed, never handed over
      EXPECT_EQ(c.key.args[1], 0u);  // an argument the policy does not check is not recorded
    }
  EXPECT_EQ(sockets, 1);
}

} // namespace
} // namespace bespoke
