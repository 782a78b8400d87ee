// Observe: the tracer behind observeRun. A dedicated thread forks the command and ptraces its whole tree
// (ptrace belongs to the thread that attached, and __WNOTHREAD keeps its waits off the caller's other
// children); the calling thread keeps the clock and kills the tree through pidfds when time is up.
// The design and its limits: analyzer/OBSERVE.md.
#include "analyzer/Observe.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <csignal>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace bespoke {
namespace {

using Clock = std::chrono::steady_clock;

// glibc 2.36's <sys/pidfd.h> declares these without extern "C", so C++ cannot link to them: call the kernel.
int pidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }
void pidfdKill(int pidfd) { syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0); }

llvm::Error observeError(const std::string &what, int err = EINVAL) {
  return llvm::createStringError(std::error_code(err, std::generic_category()), "%s", what.c_str());
}

// ----------------------------------------------------------------------------------------------------
// The seccomp filter: stop (SECCOMP_RET_TRACE) only where code can arrive or a file is named by path, so
// the traced program runs at full speed otherwise. mmap of an anonymous region is left alone (no file to name); a 32-bit or x32
// syscall is allowed (its numbers differ): such processes are seen at exec and exit only.

constexpr uint32_t argLow(int i) { return offsetof(seccomp_data, args) + 8 * i; } // little-endian low word

// The calls that name a file by path (their path argument and, for the *at ones, the directory fd).
struct PathCall {
  long nr;
  const char *name;
  int dirArg;  // -1: relative to the working directory
  int pathArg;
};
constexpr PathCall PathCalls[] = {
    {SYS_open, "open", -1, 0},         {SYS_openat, "openat", 0, 1},         {SYS_openat2, "openat2", 0, 1},
    {SYS_stat, "stat", -1, 0},         {SYS_lstat, "lstat", -1, 0},          {SYS_newfstatat, "newfstatat", 0, 1},
    {SYS_statx, "statx", 0, 1},        {SYS_access, "access", -1, 0},        {SYS_faccessat, "faccessat", 0, 1},
    {SYS_faccessat2, "faccessat2", 0, 1}, {SYS_creat, "creat", -1, 0},
};
constexpr size_t PathCallCount = sizeof PathCalls / sizeof PathCalls[0];

std::vector<sock_filter> codeArrivalFilter() {
  const uint32_t allow = SECCOMP_RET_ALLOW, trace = SECCOMP_RET_TRACE;
  std::vector<sock_filter> f = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, allow),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
  };
  // Each path call jumps over the rest of its kind and the 10 instructions below to the final trace.
  for (size_t i = 0; i < PathCallCount; ++i)
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(PathCalls[i].nr),
                         static_cast<uint8_t>(PathCallCount - 1 - i + 10), 0));
  std::vector<sock_filter> code = {
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 9, 0),         // -> trace
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execveat, 8, 0),       // -> trace
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 4, 0),       // -> prot
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pkey_mprotect, 3, 0),  // -> prot
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 4),           // else -> allow
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, argLow(3)),                 // mmap flags
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_ANONYMOUS, 2, 0),     // -> allow
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, argLow(2)),                 // prot:
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 1, 0),          // -> trace
      BPF_STMT(BPF_RET | BPF_K, allow),
      BPF_STMT(BPF_RET | BPF_K, trace),
  };
  f.insert(f.end(), code.begin(), code.end());
  return f;
}

// ----------------------------------------------------------------------------------------------------
// Reading a tracee through /proc and its memory.

std::string linkTarget(const std::string &link) {
  char buf[PATH_MAX];
  ssize_t n = readlink(link.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, n) : std::string();
}

std::string procFile(pid_t tid, const std::string &name) {
  return "/proc/" + std::to_string(tid) + "/" + name;
}

std::string readWholeFile(const std::string &path) {
  std::string text;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[16384];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR);)
    if (n > 0) text.append(buf, n);
  close(fd);
  return text;
}

// A NUL-terminated string of the tracee, read page by page so an unmapped page after it does no harm.
std::string readTraceeString(pid_t tid, uint64_t addr) {
  std::string s;
  while (addr && s.size() < PATH_MAX) {
    char buf[256];
    size_t chunk = std::min<uint64_t>(sizeof buf, 4096 - addr % 4096);
    iovec local{buf, chunk}, remote{reinterpret_cast<void *>(addr), chunk};
    ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (got <= 0) break;
    const char *nul = static_cast<const char *>(memchr(buf, 0, got));
    s.append(buf, nul ? nul - buf : got);
    if (nul) break;
    addr += got;
  }
  return s;
}

struct MapsEntry {
  uint64_t start = 0, end = 0;
  bool executable = false;
  std::string path; // empty for an anonymous mapping (inode 0: heap, stack, [vdso], ...)
};

std::vector<MapsEntry> readMaps(pid_t tid) {
  std::vector<MapsEntry> entries;
  std::string text = readWholeFile(procFile(tid, "maps"));
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    MapsEntry e;
    char perms[8] = {};
    unsigned long long start = 0, end = 0, inode = 0;
    int pathAt = 0;
    if (sscanf(line.c_str(), "%llx-%llx %7s %*x %*s %llu %n", &start, &end, perms, &inode, &pathAt) < 4)
      continue;
    e.start = start;
    e.end = end;
    e.executable = perms[2] == 'x';
    if (inode != 0 && pathAt > 0) e.path = line.substr(pathAt);
    entries.push_back(std::move(e));
  }
  return entries;
}

// A mapped file's name that cannot be opened again by that name: a memfd or a file deleted since.
bool isTransient(const std::string &path) {
  static constexpr std::string_view deleted = " (deleted)";
  return path.empty() || path[0] != '/' || path.starts_with("/memfd:") ||
         (path.size() > deleted.size() && path.ends_with(deleted));
}

std::string commandLine(const std::string &binary, const std::vector<std::string> &args) {
  std::string line = binary;
  for (const std::string &a : args) line += " " + a;
  return line;
}

// ----------------------------------------------------------------------------------------------------
// The tree's processes as both threads see them: the tracer registers and reaps, the watchdog kills.

struct Tree {
  enum class Kill { None, Timeout, Grace };
  struct Process {
    int pidfd;       // signals this process and never a later one that reuses its pid
    std::string exe; // its current executable
  };

  std::mutex mu;
  std::condition_variable changed;
  std::map<pid_t, Process> processes; // thread-group leaders not yet reaped
  std::optional<Clock::time_point> graceEnd; // set when BINARY's process exits with others still alive
  Kill killed = Kill::None;
  std::vector<std::string> killedExes;
  bool finished = false;

  // Under mu.
  void kill(Kill why) {
    killed = why;
    for (auto &[pid, p] : processes) signalOne(p);
  }
  void signalOne(const Process &p) {
    if (killed == Kill::Grace) killedExes.push_back(p.exe);
    pidfdKill(p.pidfd);
  }
};

// ----------------------------------------------------------------------------------------------------
// The child's side of the fork: only async-signal-safe calls until execve. A failure is reported to the
// tracer through a close-on-exec pipe (nothing arrives when the exec succeeds).

struct ChildFailure {
  enum Stage : int { Directory, Filter, Exec } stage;
  int err;
};

struct ChildSetup {
  const char *exe;
  char *const *argv;
  const char *directory; // null: stay
  int stdinFd, nullFd;   // nullFd < 0: keep the caller's stdout and stderr
  int goFd, failFd;
  sock_fprog filter;
};

// A close-on-exec descriptor numbered 3 or more, so that the child's dup2 onto 0, 1 and 2 cannot overwrite
// one it still needs (the caller may run with a standard descriptor closed).
int openAboveStdio(const std::string &path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0 || fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = errno;
  close(fd);
  errno = err;
  return moved;
}

[[noreturn]] void childFail(const ChildSetup &c, ChildFailure::Stage stage, int err) {
  ChildFailure f{stage, err};
  (void)!write(c.failFd, &f, sizeof f);
  _exit(127);
}

[[noreturn]] void runChild(const ChildSetup &c, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  // The command must not inherit the caller's blocked or ignored signals (SIG_IGN survives execve).
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  dup2(c.stdinFd, 0);
  if (c.nullFd >= 0) {
    dup2(c.nullFd, 1);
    dup2(c.nullFd, 2);
  }
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC); // the caller's descriptors are not the command's
  // Every failure is reported after the tracer has attached, so that attaching cannot race an exit.
  char go;
  if (read(c.goFd, &go, 1) != 1) _exit(127); // the tracer gave up before attaching
  if (c.directory && chdir(c.directory) != 0) childFail(c, ChildFailure::Directory, errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &c.filter) != 0)
    childFail(c, ChildFailure::Filter, errno);
  execve(c.exe, c.argv, environ);
  childFail(c, ChildFailure::Exec, errno);
}

// ----------------------------------------------------------------------------------------------------
// The tracer.

constexpr long TraceOptions = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                              PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
                              PTRACE_O_EXITKILL;

class Tracer {
public:
  Tracer(Tree &tree, const ObserveOptions &opts, std::string name)
      : tree_(tree), opts_(opts), name_(std::move(name)) {}

  llvm::Expected<Observation> run(const std::string &exe, const std::vector<std::string> &argvStrings);

private:
  struct PendingExec {
    std::string requested, by;
  };

  llvm::Expected<pid_t> start(const std::string &exe, const std::vector<std::string> &argvStrings, int &failFd);
  void trace();
  void onStop(pid_t tid, int status);
  void onDeath(pid_t tid, int status);
  void onSeccomp(pid_t tid);
  void onExec(pid_t pid);
  void onMapsSnapshot(pid_t tid);
  void noteProcess(pid_t tid);
  void addObject(const std::string &path, const std::string &program);
  void onPathCall(pid_t tid, const user_regs_struct &regs, const PathCall &call, const std::string &program);
  std::vector<ObservedFile> existingFiles() const;
  llvm::Error childFailure(int failFd);

  Tree &tree_;
  const ObserveOptions &opts_;
  std::string name_; // the command line, for messages
  pid_t root_ = -1;
  bool rootExecuted_ = false;
  Observation obs_;
  std::set<pid_t> live_; // traced threads not yet reaped
  std::map<pid_t, PendingExec> pendingExec_;
  std::set<ObservedObject> objects_, transient_;
  std::set<ObservedExec> programs_;
  // Paths named by a path call, first namer kept: path -> (program, call, write-only open)
  struct Named {
    std::string program, call;
    bool writeOnly = false, existedBefore = false;
  };
  std::map<std::string, Named> named_;
};

llvm::Expected<pid_t> Tracer::start(const std::string &exe, const std::vector<std::string> &argvStrings,
                                    int &failFd) {
  int stdinFd = openAboveStdio(opts_.stdinPath, O_RDONLY);
  if (stdinFd < 0)
    return observeError(name_ + ": cannot open its standard input " + opts_.stdinPath + ": " + strerror(errno),
                        errno);
  int nullFd = opts_.quiet ? openAboveStdio("/dev/null", O_WRONLY) : -1;
  int go[2] = {-1, -1}, fail[2] = {-1, -1};
  auto closeAll = llvm::make_scope_exit([&] {
    for (int fd : {stdinFd, nullFd, go[0], go[1], fail[1]})
      if (fd >= 0) close(fd);
  });
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(fail, O_CLOEXEC) != 0)
    return observeError(name_ + ": cannot observe: pipe: " + strerror(errno), errno);
  failFd = fail[0];

  std::vector<char *> argv;
  for (const std::string &a : argvStrings) argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<sock_filter> filter = codeArrivalFilter();
  ChildSetup setup{exe.c_str(), argv.data(),
                   opts_.workingDirectory.empty() ? nullptr : opts_.workingDirectory.c_str(),
                   stdinFd, nullFd, go[0], fail[1],
                   sock_fprog{static_cast<unsigned short>(filter.size()), filter.data()}};
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return observeError(name_ + ": cannot start: fork: " + strerror(errno), errno);
  if (pid == 0) runChild(setup, parent);

  int pidfd = pidfdOpen(pid);
  if (pidfd < 0 || ptrace(PTRACE_SEIZE, pid, nullptr, TraceOptions) != 0) {
    int err = errno;
    kill(pid, SIGKILL); // our unreaped child: its pid cannot have been reused
    waitpid(pid, nullptr, __WALL);
    if (pidfd >= 0) close(pidfd);
    return observeError(name_ + ": cannot observe: " + (pidfd < 0 ? "pidfd_open" : "ptrace") + ": " +
                            strerror(err),
                        err);
  }
  {
    std::lock_guard lock(tree_.mu);
    tree_.processes[pid] = {pidfd, exe};
  }
  live_.insert(pid);
  (void)!write(go[1], "g", 1);
  return pid;
}

llvm::Expected<Observation> Tracer::run(const std::string &exe, const std::vector<std::string> &argvStrings) {
  auto began = Clock::now();
  int failFd = -1;
  llvm::Expected<pid_t> pid = start(exe, argvStrings, failFd);
  auto closeFail = llvm::make_scope_exit([&] {
    if (failFd >= 0) close(failFd);
  });
  if (!pid) return pid.takeError();
  root_ = *pid;
  trace();
  obs_.seconds = std::chrono::duration<double>(Clock::now() - began).count();

  std::lock_guard lock(tree_.mu);
  if (!rootExecuted_) {
    if (llvm::Error e = childFailure(failFd)) return e;
    return observeError(name_ + ": cannot start: it ended before its exec (status " +
                        std::to_string(obs_.exitStatus) + ")");
  }
  if (tree_.killed == Tree::Kill::Timeout) {
    char secs[32];
    snprintf(secs, sizeof secs, "%g", opts_.timeoutSeconds);
    return observeError(name_ + ": still running after the " + secs + " s timeout: killed its process tree",
                        ETIMEDOUT);
  }
  obs_.killedDescendants = tree_.killedExes;
  std::sort(obs_.killedDescendants.begin(), obs_.killedDescendants.end());
  obs_.killedDescendants.erase(std::unique(obs_.killedDescendants.begin(), obs_.killedDescendants.end()),
                               obs_.killedDescendants.end());
  obs_.objects.assign(objects_.begin(), objects_.end());
  obs_.transient.assign(transient_.begin(), transient_.end());
  obs_.programs.assign(programs_.begin(), programs_.end());
  obs_.files = existingFiles();
  return std::move(obs_);
}

llvm::Error Tracer::childFailure(int failFd) {
  ChildFailure f;
  if (read(failFd, &f, sizeof f) != sizeof f) return llvm::Error::success();
  switch (f.stage) {
  case ChildFailure::Directory:
    return observeError(name_ + ": cannot start: cannot enter " + opts_.workingDirectory + ": " + strerror(f.err),
                        f.err);
  case ChildFailure::Filter:
    return observeError(name_ + ": cannot observe: cannot install the seccomp filter: " + strerror(f.err), f.err);
  case ChildFailure::Exec:
    break;
  }
  return observeError(name_ + ": cannot start: " + strerror(f.err), f.err);
}

void Tracer::trace() {
  while (!live_.empty()) {
    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL | __WNOTHREAD);
    if (tid < 0) {
      if (errno == EINTR) continue;
      break; // ECHILD: nothing of the tree is left to wait for
    }
    if (WIFEXITED(status) || WIFSIGNALED(status))
      onDeath(tid, status);
    else if (WIFSTOPPED(status))
      onStop(tid, status);
  }
}

void Tracer::onStop(pid_t tid, int status) {
  noteProcess(tid); // a new child's first stop can come before its parent's fork event
  int sig = WSTOPSIG(status), event = status >> 16;
  int inject = 0;
  switch (event) {
  case PTRACE_EVENT_SECCOMP:
    onSeccomp(tid);
    break;
  case PTRACE_EVENT_EXEC:
    onExec(tid);
    break;
  case PTRACE_EVENT_EXIT:
    onMapsSnapshot(tid);
    break;
  case PTRACE_EVENT_FORK:
  case PTRACE_EVENT_VFORK:
  case PTRACE_EVENT_CLONE: {
    unsigned long child = 0;
    if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child) == 0) noteProcess(static_cast<pid_t>(child));
    break;
  }
  case PTRACE_EVENT_STOP:
    // A group-stop (SIGSTOP and friends) stays a stop until SIGCONT: LISTEN keeps it stopped yet lets
    // the tracer hear of the SIGCONT. Any other PTRACE_EVENT_STOP is a new child's first stop or the
    // end of a group-stop.
    if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
      ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);
      return;
    }
    break;
  case 0:
    inject = sig; // a signal on its way to the tracee: deliver it
    break;
  default:
    break;
  }
  ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void *>(static_cast<long>(inject)));
}

void Tracer::onDeath(pid_t tid, int status) {
  live_.erase(tid);
  pendingExec_.erase(tid);
  std::lock_guard lock(tree_.mu);
  if (auto it = tree_.processes.find(tid); it != tree_.processes.end()) {
    close(it->second.pidfd);
    tree_.processes.erase(it);
  }
  if (tid != root_) return;
  obs_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  obs_.exitStatus = WIFSIGNALED(status) ? 128 + obs_.signal : WEXITSTATUS(status);
  if (!live_.empty()) {
    auto grace = std::chrono::duration<double>(std::max(0.0, opts_.descendantGraceSeconds));
    tree_.graceEnd = Clock::now() + std::chrono::duration_cast<Clock::duration>(grace);
    tree_.changed.notify_all();
  }
}

void Tracer::noteProcess(pid_t tid) {
  if (!live_.insert(tid).second) return;
  // A new thread-group leader gets a pidfd; pidfd_open refuses the other threads (EINVAL).
  int pidfd = pidfdOpen(tid);
  if (pidfd < 0) return;
  std::lock_guard lock(tree_.mu);
  Tree::Process &p = tree_.processes[tid] = {pidfd, linkTarget(procFile(tid, "exe"))};
  if (tree_.killed != Tree::Kill::None) tree_.signalOne(p); // born while the tree is being killed
}

void Tracer::addObject(const std::string &path, const std::string &program) {
  (isTransient(path) ? transient_ : objects_).insert({path, program});
}

void Tracer::onSeccomp(pid_t tid) {
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return;
  std::string program = linkTarget(procFile(tid, "exe"));
  for (const PathCall &c : PathCalls)
    if (static_cast<long>(regs.orig_rax) == c.nr) return onPathCall(tid, regs, c, program);
  switch (regs.orig_rax) {
  case SYS_mmap: {
    // The fd is still open: the call has not run yet. Linking it names the file as the kernel does.
    int fd = static_cast<int>(regs.r8);
    std::string path = linkTarget(procFile(tid, "fd/" + std::to_string(fd)));
    if (!path.empty()) addObject(path, program);
    break;
  }
  case SYS_mprotect:
  case SYS_pkey_mprotect: {
    // Adding PROT_EXEC to what is already mapped: name the files behind the range, if any.
    uint64_t begin = regs.rdi, end = regs.rdi + regs.rsi;
    for (const MapsEntry &e : readMaps(tid))
      if (!e.path.empty() && e.start < end && begin < e.end) addObject(e.path, program);
    break;
  }
  case SYS_execve:
  case SYS_execveat: {
    PendingExec &p = pendingExec_[tid];
    p.by = program;
    if (regs.orig_rax == SYS_execve) {
      p.requested = readTraceeString(tid, regs.rdi);
      break;
    }
    // execveat(dirfd, path, argv, envp, flags): name it by the directory (or the fd itself) when not
    // relative to the working directory.
    int dirfd = static_cast<int>(regs.rdi);
    std::string path = readTraceeString(tid, regs.rsi);
    std::string dir = dirfd == AT_FDCWD ? std::string()
                                        : linkTarget(procFile(tid, "fd/" + std::to_string(dirfd)));
    if (path.empty() && (regs.r8 & AT_EMPTY_PATH))
      p.requested = dir;
    else
      p.requested = path.starts_with("/") || dir.empty() ? path : dir + "/" + path;
    break;
  }
  default:
    break;
  }
}

uint64_t syscallArg(const user_regs_struct &regs, int i) {
  switch (i) {
  case 0: return regs.rdi;
  case 1: return regs.rsi;
  case 2: return regs.rdx;
  default: return regs.r10;
  }
}

// The call has not run yet: the path is made absolute against the working directory or directory fd it
// will use. "." goes; ".." stays until the end of the run (existingFiles), since a link before it changes
// where it leads.
void Tracer::onPathCall(pid_t tid, const user_regs_struct &regs, const PathCall &call, const std::string &program) {
  std::string path = readTraceeString(tid, syscallArg(regs, call.pathArg));
  if (path.empty()) return; // fstatat(fd, "", AT_EMPTY_PATH) and the like: no name
  if (path[0] != '/') {
    int dirfd = call.dirArg < 0 ? AT_FDCWD : static_cast<int>(syscallArg(regs, call.dirArg));
    std::string dir = linkTarget(procFile(tid, dirfd == AT_FDCWD ? "cwd" : "fd/" + std::to_string(dirfd)));
    if (dir.empty() || dir[0] != '/') return; // a directory fd with no path (deleted, another namespace)
    path = dir + "/" + path;
  }
  llvm::SmallString<256> clean(path);
  llvm::sys::path::remove_dots(clean, /*remove_dot_dot=*/false);
  bool writeOnly = call.nr == SYS_creat;
  if (call.nr == SYS_open || call.nr == SYS_openat) {
    uint64_t flags = syscallArg(regs, call.nr == SYS_open ? 1 : 2);
    writeOnly = (flags & O_ACCMODE) == O_WRONLY;
  }
  auto [it, fresh] = named_.emplace(clean.str().str(), Named{program, call.name, writeOnly});
  // Whether it was there before the tree first named it: a file the run itself creates (an archive
  // checked for and then written) is its output, not something it needs.
  if (fresh) it->second.existedBefore = llvm::sys::fs::exists(it->first);
  if (!fresh && !writeOnly) it->second.writeOnly = false; // also read: the bytes matter
}

// What the named paths are now: regular files (their bytes), directories; a write-only file gives its
// directory. Not repeated: what is mapped executable or executed (reported as code), /proc, /sys, /dev.
std::vector<ObservedFile> Tracer::existingFiles() const {
  auto real = [](const std::string &p) {
    llvm::SmallString<256> r;
    return llvm::sys::fs::real_path(p, r) ? std::string() : r.str().str();
  };
  std::set<std::string> code;
  for (const ObservedObject &o : objects_) code.insert(real(o.path));
  for (const ObservedExec &e : programs_) code.insert(real(e.path));
  std::map<std::string, ObservedFile> out;
  for (const auto &[raw, n] : named_) {
    // "a/b/../c" is "a/c" unless b is a link (then the kernel went through its target's parent): the
    // shorter name is kept only when it is the same file here; else the name as given, which the image's
    // tree resolves as the kernel does.
    std::string named = raw;
    if (llvm::StringRef(raw).contains("/..")) {
      llvm::SmallString<256> lexical(raw);
      llvm::sys::path::remove_dots(lexical, /*remove_dot_dot=*/true);
      std::string r = real(raw);
      if (!r.empty() && r == real(lexical.str().str())) named = lexical.str().str();
    }
    std::string path = named;
    if (n.writeOnly) path = llvm::sys::path::parent_path(named).str();
    else if (!n.existedBefore) continue;
    if (path.empty()) continue;
    bool hidden = false;
    for (const char *d : {"/proc", "/sys", "/dev"})
      hidden |= path == d || llvm::StringRef(path).starts_with(std::string(d) + "/");
    if (hidden) continue;
    llvm::sys::fs::file_status st;
    if (llvm::sys::fs::status(path, st)) continue; // absent: a lookup that failed (a search path probed)
    bool dir = st.type() == llvm::sys::fs::file_type::directory_file;
    if (!dir && st.type() != llvm::sys::fs::file_type::regular_file) continue;
    if (!dir && code.count(real(path))) continue;
    out.emplace(path, ObservedFile{path, n.program, n.call, dir});
  }
  std::vector<ObservedFile> files;
  for (auto &[p, f] : out) files.push_back(std::move(f));
  return files;
}

void Tracer::onExec(pid_t pid) {
  // An exec from a thread other than the leader reports under the leader's pid; the event message is
  // the thread's former id, which the kernel retired without a death notice.
  unsigned long former = pid;
  ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &former);
  if (static_cast<pid_t>(former) != pid) live_.erase(static_cast<pid_t>(former));
  PendingExec p;
  if (auto it = pendingExec_.find(static_cast<pid_t>(former)); it != pendingExec_.end()) {
    p = std::move(it->second);
    pendingExec_.erase(it);
  }
  std::string exe = linkTarget(procFile(pid, "exe"));
  {
    std::lock_guard lock(tree_.mu);
    if (auto it = tree_.processes.find(pid); it != tree_.processes.end()) it->second.exe = exe;
  }
  if (pid == root_ && !rootExecuted_)
    rootExecuted_ = true; // BINARY itself
  else
    programs_.insert({exe, p.requested, p.by});
  onMapsSnapshot(pid); // the kernel mapped the executable and its interpreter, with no mmap to stop at
}

void Tracer::onMapsSnapshot(pid_t tid) {
  std::string program = linkTarget(procFile(tid, "exe"));
  for (const MapsEntry &e : readMaps(tid))
    if (e.executable && !e.path.empty()) addObject(e.path, program);
}

} // namespace

llvm::Expected<Observation> observeRun(const std::string &binary, const std::vector<std::string> &args,
                                       const ObserveOptions &opts) {
  std::string name = commandLine(binary, args);
  std::string exe = binary;
  if (binary.find('/') == std::string::npos) {
    llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(binary);
    if (!found) return observeError(binary + ": cannot start: not found in PATH", ENOENT);
    exe = *found;
  }
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());

  Tree tree;
  Tracer tracer(tree, opts, name);
  std::optional<llvm::Expected<Observation>> result;
  std::thread tracing([&] {
    llvm::Expected<Observation> r = tracer.run(exe, argv);
    std::lock_guard lock(tree.mu);
    result.emplace(std::move(r));
    tree.finished = true;
    tree.changed.notify_all();
  });

  // The watchdog: at the timeout (or the end of the grace once BINARY's process has exited) kill every
  // process of the tree; the tracer then reaps them and returns.
  auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.timeoutSeconds));
  std::optional<Clock::time_point> deadline;
  if (opts.timeoutSeconds > 0) deadline = Clock::now() + timeout;
  {
    std::unique_lock lock(tree.mu);
    while (!tree.finished) {
      std::optional<Clock::time_point> until = deadline;
      if (tree.graceEnd && (!until || *tree.graceEnd < *until)) until = tree.graceEnd;
      if (!until || tree.killed != Tree::Kill::None) {
        tree.changed.wait(lock);
        continue;
      }
      tree.changed.wait_until(lock, *until);
      if (!tree.finished && tree.killed == Tree::Kill::None && Clock::now() >= *until)
        tree.kill(tree.graceEnd ? Tree::Kill::Grace : Tree::Kill::Timeout);
    }
  }
  tracing.join();
  return std::move(*result);
}

} // namespace bespoke
