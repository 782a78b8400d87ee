// NetRun: fork into the policy's cgroup, exec, wait, clean up (NetRun.h).
#include "extension-gen/NetRun.h"

#include "extension-gen/NetAttach.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

int shellStatus(int st) { return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st); }

std::vector<int> cgroupProcs(const std::string &dir) {
  std::vector<int> pids;
  std::ifstream in(dir + "/cgroup.procs");
  for (int pid; in >> pid;) pids.push_back(pid);
  return pids;
}

// Kills what is left in the cgroup (cgroup.kill, Linux >= 5.14) and waits up to 5 s for it to empty.
int killLeftBehind(const std::string &dir) {
  std::vector<int> left = cgroupProcs(dir);
  if (left.empty()) return 0;
  if (std::ofstream kill(dir + "/cgroup.kill"); kill) kill << "1\n";
  for (int i = 0; i < 500 && !cgroupProcs(dir).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return int(left.size());
}

// Waits (up to 2 s) until `pid` is blocked in read() (syscall 0), as /proc/PID/syscall shows it.
void awaitBlockedInRead(pid_t pid) {
  std::string file = "/proc/" + std::to_string(pid) + "/syscall";
  for (int i = 0; i < 2000; ++i) {
    std::ifstream in(file);
    std::string nr;
    if (!(in >> nr)) return; // not readable: nothing to wait for
    if (nr == "0") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

} // namespace

llvm::Expected<NetRunResult> runInCgroup(NetCgroup &cg, const std::string &path, const std::vector<std::string> &argv,
                                         const std::function<llvm::Error()> &inChild) {
  sigset_t forwarded, old;
  sigemptyset(&forwarded);
  for (int s : {SIGCHLD, SIGTERM, SIGHUP, SIGINT, SIGQUIT}) sigaddset(&forwarded, s);
  sigprocmask(SIG_BLOCK, &forwarded, &old);
  auto restore = [&] { sigprocmask(SIG_SETMASK, &old, nullptr); };

  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) {
    restore();
    return err(llvm::Twine("pipe: ") + strerror(errno));
  }
  std::vector<char *> args; // made before the fork: the child does nothing but wait and exec
  for (const std::string &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    int e = errno;
    close(go[0]);
    close(go[1]);
    restore();
    return err(llvm::Twine("fork: ") + strerror(e));
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    close(go[1]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2); // the parent could not put us in the cgroup
    if (llvm::Error e = inChild()) {
      fprintf(stderr, "bespoke run: %s\n", llvm::toString(std::move(e)).c_str());
      _exit(2);
    }
    execv(path.c_str(), args.data());
    fprintf(stderr, "bespoke run: %s: %s\n", path.c_str(), strerror(errno));
    _exit(127);
  }
  close(go[0]);
  awaitBlockedInRead(child);
  if (llvm::Error e = cg.addProcess(child)) {
    close(go[1]); // the child reads EOF and exits
    waitpid(child, nullptr, 0);
    restore();
    return e;
  }
  char c = 'g';
  (void)!write(go[1], &c, 1);
  close(go[1]);

  NetRunResult r;
  for (;;) {
    siginfo_t info;
    int s = sigwaitinfo(&forwarded, &info);
    if (s < 0) continue; // EINTR
    if (s == SIGCHLD) {
      int st;
      if (waitpid(child, &st, WNOHANG) == child) {
        r.status = shellStatus(st);
        break;
      }
      continue;
    }
    if (info.si_code == SI_USER || info.si_code == SI_QUEUE) kill(child, s); // a terminal's reached it already
  }
  r.leftBehindKilled = killLeftBehind(cg.path());
  // Reap what the kill left as our zombies (only the command itself is our child; the rest were reparented).
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  restore();
  return r;
}

llvm::Expected<NetRunResult> runUnderNetPrograms(const std::vector<EbpfProgram> &programs, const std::string &path,
                                                 const std::vector<std::string> &argv,
                                                 const std::function<llvm::Error()> &inChild) {
  auto cg = NetCgroup::create(programs);
  if (!cg) return cg.takeError();
  auto r = runInCgroup(*cg, path, argv, inChild);
  llvm::Error closed = cg->close();
  if (!r) {
    llvm::consumeError(std::move(closed));
    return r.takeError();
  }
  if (closed) return closed;
  return r;
}

} // namespace bespoke
