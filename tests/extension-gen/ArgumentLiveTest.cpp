// Filters with argument conditions, built from a manifest's facts, installed in forked children: the
// kernel refuses exactly the argument values the facts do not list (errno EDOM as the default action, an
// errno socket/ioctl/clone never return, so the child survives and tells refusal from failure), and
// pthread_create, fork and /bin/sh work with clone's flags checked and clone3 answered ENOSYS.
#include "extension-gen/ManifestPolicy.h"
#include "tests/extension-gen/PolicyFixtures.h"

#include "analyzer/SyscallTable.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

using namespace bespoke;
using namespace bespoke::policytest;

namespace {

const Action kEdom{Action::Errno, EDOM};

// Every x86-64 syscall listed (libc and /bin/sh work unhindered), with facts for socket, ioctl and clone.
Manifest liveManifest() {
  Manifest m;
  for (const SyscallEntry &e : x86_64Syscalls()) {
    SyscallUse u;
    u.name = std::string(e.name);
    u.nr = e.nr;
    if (u.name == "socket")
      u.args = {{"domain", ArgFact::of({"1", "2"})}, {"type", ArgFact::anyOf()}};
    else if (u.name == "ioctl") // TCGETS, TIOCGPGRP, TIOCGWINSZ; not TIOCSTI (0x5412)
      u.args = {{"request", ArgFact::of({"0x5401", "0x540f", "0x5413"})}};
    else if (u.name == "clone") // glibc's fork and pthread_create
      u.args = {{"flags", ArgFact::of({"0x1200011", "0x3d0f00"})}};
    m.footprint.syscalls.push_back(std::move(u));
  }
  return m;
}

std::vector<sock_filter> liveProgram() {
  auto p = policyFromManifest(liveManifest(), kEdom, PolicyOptions{true, true}); // --clone3-enosys
  if (!p) {
    ADD_FAILURE() << llvm::toString(p.takeError());
    return {};
  }
  for (const SyscallRule &r : p->allowed)
    if (r.name == "clone3") {
      EXPECT_EQ(r.action, (Action{Action::Errno, ENOSYS}));
    }
  return compileOk(*p);
}

// -1 with errno EDOM: what the filter's default action returns.
bool refused(long r) { return r == -1 && errno == EDOM; }

void *threadBody(void *arg) {
  *static_cast<int *>(arg) = 42;
  return nullptr;
}

} // namespace

TEST(LiveArguments, SocketDomains) {
  int status = installAndRun(liveProgram(), [] {
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    if (u < 0)
      return 1;
    close(u);
    int i = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (i < 0)
      return 2;
    close(i);
    // Upper-half garbage in the domain: the kernel reads an int, and so does the filter.
    int g = static_cast<int>(syscall(SYS_socket, 0xdeadbeef00000001ULL, SOCK_STREAM, 0));
    if (g < 0)
      return 3;
    close(g);
    errno = 0;
    if (!refused(socket(AF_PACKET, SOCK_RAW, 0)))
      return 4;
    errno = 0;
    if (!refused(socket(AF_NETLINK, SOCK_RAW, 0)))
      return 5;
    errno = 0;
    if (!refused(socket(AF_ALG, SOCK_SEQPACKET, 0)))
      return 6;
    errno = 0;
    if (!refused(socket(AF_INET6, SOCK_STREAM, 0)))
      return 7;
    return 42;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(LiveArguments, IoctlRequests) {
  int status = installAndRun(liveProgram(), [] {
    int fds[2];
    if (pipe(fds) != 0)
      return 1;
    char c = 'x';
    errno = 0;
    if (!refused(ioctl(fds[0], TIOCSTI, &c)))
      return 2;
    errno = 0;
    struct winsize ws;
    long r = ioctl(fds[0], TIOCGWINSZ, &ws); // allowed: fails in the kernel (a pipe is no tty)
    if (r != -1 || errno != ENOTTY)
      return 3;
    return 42;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(LiveArguments, CloneFlagsForkThreadsAndShell) {
  int status = installAndRun(liveProgram(), [] {
    errno = 0;
    if (!refused(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)))
      return 1;
    errno = 0;
    if (!refused(syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0)))
      return 2;
    errno = 0;
    if (syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS)
      return 3;
    pid_t pid = fork(); // clone(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)
    if (pid < 0)
      return 4;
    if (pid == 0)
      _exit(7);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
      return 5;
    // glibc 2.36's pthread_create tries clone3 first, gets ENOSYS, and falls back to clone.
    pthread_t t;
    int value = 0;
    if (pthread_create(&t, nullptr, threadBody, &value) != 0)
      return 6;
    if (pthread_join(t, nullptr) != 0 || value != 42)
      return 7;
    // A real program that starts a child: /bin/sh forks to run /bin/true.
    pid = fork();
    if (pid < 0)
      return 8;
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", "/bin/true && exit 5", static_cast<char *>(nullptr));
      _exit(99);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
      return 9;
    return 42;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}
