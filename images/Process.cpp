// Child processes for the image pipeline: posix_spawn with a log file and a polling wait.
#include "images/Process.h"

#include "llvm/Support/Program.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace bespoke {

std::string findProgram(const std::string &program) {
  auto path = llvm::sys::findProgramByName(program);
  return path ? *path : std::string();
}

llvm::Expected<ProcessResult> runProcess(const std::vector<std::string> &argv, const std::string &logPath,
                                         std::chrono::milliseconds interval,
                                         const std::function<void(double)> &tick) {
  std::string exe = argv.at(0).find('/') == std::string::npos ? findProgram(argv[0]) : argv[0];
  if (exe.empty())
    return llvm::createStringError(std::errc::no_such_file_or_directory, "%s: not found in PATH", argv[0].c_str());
  std::vector<char *> cargv;
  for (const std::string &a : argv) cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  const char *log = logPath.empty() ? "/dev/null" : logPath.c_str();
  posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid;
  auto start = std::chrono::steady_clock::now();
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return llvm::createStringError(std::error_code(rc, std::generic_category()), "cannot run %s: %s", exe.c_str(),
                                   strerror(rc));
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  auto nextTick = start + interval;
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR)
      return llvm::createStringError(std::error_code(errno, std::generic_category()), "waiting for %s: %s",
                                     exe.c_str(), strerror(errno));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (tick && std::chrono::steady_clock::now() >= nextTick) {
      tick(elapsed());
      nextTick += interval;
    }
  }
  ProcessResult r;
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.seconds = elapsed();
  return r;
}

} // namespace bespoke
