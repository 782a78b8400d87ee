// Process: posix_spawn, optional captured output (poll on two pipes), a deadline, periodic callbacks.
#include "support/Process.h"

#include "llvm/Support/Program.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

extern char **environ;

namespace bespoke {

namespace {

llvm::Error systemError(const std::string &what, int err) {
  return llvm::createStringError(std::error_code(err, std::generic_category()), "%s: %s", what.c_str(),
                                 strerror(err));
}

class Fd {
public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

private:
  int fd_;
};

struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup &) = delete;
  SpawnSetup &operator=(const SpawnSetup &) = delete;
};

using Clock = std::chrono::steady_clock;

} // namespace

std::string findProgram(const std::string &program) {
  auto path = llvm::sys::findProgramByName(program);
  return path ? *path : std::string();
}

llvm::Expected<ProcessResult> runProcess(const std::vector<std::string> &argv, const ProcessOptions &opt) {
  std::string exe = !opt.executable.empty()                          ? opt.executable
                    : argv.at(0).find('/') == std::string::npos ? findProgram(argv[0])
                                                                  : argv[0];
  if (exe.empty())
    return llvm::createStringError(std::errc::no_such_file_or_directory, "%s: not found in PATH", argv[0].c_str());

  Fd outRead, outWrite, errRead, errWrite;
  if (opt.capture) {
    int p[2];
    if (pipe2(p, O_CLOEXEC)) return systemError("pipe", errno);
    outRead.reset(p[0]);
    outWrite.reset(p[1]);
    if (pipe2(p, O_CLOEXEC)) return systemError("pipe", errno);
    errRead.reset(p[0]);
    errWrite.reset(p[1]);
  }
  SpawnSetup s;
  posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  if (opt.capture) {
    posix_spawn_file_actions_adddup2(&s.actions, outWrite.get(), 1);
    posix_spawn_file_actions_adddup2(&s.actions, errWrite.get(), 2);
  } else {
    const char *log = opt.logPath.empty() ? "/dev/null" : opt.logPath.c_str();
    posix_spawn_file_actions_addopen(&s.actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&s.actions, 1, 2);
  }
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&s.attr, &defaults);
  posix_spawnattr_setsigmask(&s.attr, &none);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (opt.ownProcessGroup) {
    posix_spawnattr_setpgroup(&s.attr, 0);
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&s.attr, flags);

  std::vector<std::string> args = argv;
  std::vector<char *> cargv;
  for (std::string &a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid;
  auto start = Clock::now();
  if (int rc = posix_spawn(&pid, exe.c_str(), &s.actions, &s.attr, cargv.data(), environ))
    return systemError("cannot run " + exe, rc);
  outWrite.reset();
  errWrite.reset();

  ProcessResult r;
  auto killChild = [&] {
    if (opt.ownProcessGroup) kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  };
  // Milliseconds to the deadline (INT_MAX without one) and to the next tick.
  auto msLeft = [&] {
    if (opt.timeout.count() <= 0) return INT_MAX;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + opt.timeout - Clock::now());
    return int(std::clamp<int64_t>(left.count(), 0, INT_MAX));
  };
  auto nextTick = start + opt.tickInterval;
  auto tickIfDue = [&] {
    auto now = Clock::now();
    if (!opt.tick || now < nextTick) return;
    opt.tick(std::chrono::duration<double>(now - start).count());
    nextTick = now + opt.tickInterval;
  };
  auto msToTick = [&] {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(nextTick - Clock::now()).count();
    return int(std::clamp<int64_t>(ms + 1, 1, INT_MAX));
  };

  if (opt.capture) {
    pollfd fds[2] = {{outRead.get(), POLLIN, 0}, {errRead.get(), POLLIN, 0}};
    std::string *sinks[2] = {&r.out, &r.err};
    char buf[65536];
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
      int ms = msLeft();
      if (ms == 0) {
        r.timedOut = true;
        break;
      }
      tickIfDue();
      int n = poll(fds, 2, std::min(ms, opt.tick ? msToTick() : INT_MAX));
      if (n < 0 && errno != EINTR) {
        int err = errno;
        killChild();
        waitpid(pid, nullptr, 0);
        return systemError("poll", err);
      }
      for (int i = 0; i < 2 && n > 0; ++i) {
        if (fds[i].fd < 0 || !fds[i].revents) continue;
        ssize_t k = read(fds[i].fd, buf, sizeof buf);
        if (k > 0) {
          size_t room = opt.maxCaptureBytes - std::min(opt.maxCaptureBytes, sinks[i]->size());
          sinks[i]->append(buf, std::min(size_t(k), room));
          if (size_t(k) > room) r.truncated = true;
        } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
          fds[i].fd = -1; // end of stream (the child exited or closed it)
        }
      }
    }
  }
  // The child is exiting (or never had pipes): still bound the wait, in case it closed them and went on.
  int status = 0;
  for (;;) {
    if (r.timedOut) killChild();
    pid_t w = waitpid(pid, &status, r.timedOut ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return systemError("waiting for " + exe, errno);
    if (w == 0) {
      int ms = msLeft();
      if (ms == 0) {
        r.timedOut = true;
        continue;
      }
      tickIfDue();
      poll(nullptr, 0, std::min({ms, opt.capture ? 10 : 100, opt.tick ? msToTick() : INT_MAX}));
    }
  }
  if (WIFEXITED(status)) r.exitCode = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

llvm::Expected<ProcessResult> runProcess(const std::vector<std::string> &argv, const std::string &logPath,
                                         std::chrono::milliseconds interval,
                                         const std::function<void(double)> &tick) {
  ProcessOptions opt;
  opt.logPath = logPath;
  opt.tickInterval = interval;
  opt.tick = tick;
  return runProcess(argv, opt);
}

} // namespace bespoke
