// ObserveNotify: the seccomp supervisor of observe mode (ObserveNotify.h).
//
// Who does what: the child (in runInCgroup's inChild, right before its exec) writes its pid and the number
// its listener will get (the lowest free descriptor) to a pipe, then installs the filter with
// SECCOMP_FILTER_FLAG_NEW_LISTENER and execs. The filter hands over every execve, so the child waits in its
// exec, the listener still open (the kernel gives it O_CLOEXEC), until a supervisor thread, which read the
// two numbers, has taken the listener with pidfd_getfd and answered; without that, the exec would close the
// only listener and every refused call would fail with ENOSYS. The thread then serves notifications until
// the run is over or no process uses the filter any more. The main thread waits for the command
// (runInCgroup) as `run --net` does.
#include "extension-gen/ObserveNotify.h"

#include "extension-gen/NetAttach.h"
#include "extension-gen/NetRun.h"
#include "extension-gen/StackSymbols.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>

namespace bespoke {

namespace {

constexpr int kScannedFrames = 3;   // return addresses a stack scan adds after the innermost frame
constexpr size_t kScanBytes = 4096; // of the stack above the stack pointer

llvm::Error fail(const std::string &what) { return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s", what.c_str()); }
std::string errnoText(const char *call) { return std::string(call) + ": " + strerror(errno); }

struct Mapping {
  uint64_t start = 0, end = 0, offset = 0;
  bool exec = false;
  std::string path; // a file's ("/..."), else empty
};

std::vector<Mapping> readMaps(pid_t tid) {
  std::vector<Mapping> out;
  std::ifstream in("/proc/" + std::to_string(tid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long start = 0, end = 0, off = 0;
    char perms[8] = {};
    int pathAt = 0;
    if (sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off, &pathAt) < 4) continue;
    Mapping m;
    m.start = start;
    m.end = end;
    m.offset = off;
    m.exec = perms[2] == 'x';
    if (pathAt > 0 && static_cast<size_t>(pathAt) < line.size() && line[pathAt] == '/') m.path = line.substr(pathAt);
    out.push_back(std::move(m));
  }
  return out;
}

const Mapping *mappingOf(const std::vector<Mapping> &maps, uint64_t addr) {
  for (const Mapping &m : maps)
    if (addr >= m.start && addr < m.end) return &m;
  return nullptr;
}

// Bytes of the task's memory at `addr`: as many as could be read (process_vm_readv stops at an unmapped page).
size_t readMemory(pid_t tid, uint64_t addr, void *buf, size_t len) {
  iovec local{buf, len}, remote{reinterpret_cast<void *>(addr), len};
  ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

// The stack pointer of a task blocked in a syscall: the eighth field of /proc/TID/syscall
// ("NR ARG1 .. ARG6 SP PC").
std::optional<uint64_t> stackPointer(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/syscall");
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() < 9) return std::nullopt;
  return std::strtoull(fields[7].c_str(), nullptr, 16);
}

// Whether the 7 bytes before a return address end with a call: e8 rel32, or ff /2 (call through a
// register or memory) in its 2-, 3-, 4-, 6- and 7-byte forms.
bool endsWithCall(const uint8_t b[7]) {
  if (b[2] == 0xE8) return true;
  for (int len : {2, 3, 4, 6, 7})
    if (b[7 - len] == 0xFF && ((b[7 - len + 1] >> 3) & 7) == 2) return true;
  return false;
}

class Recorder {
public:
  explicit Recorder(const Policy &p) : P(p) {}

  // One handed-over call: counted under its key; for the first of its key, its stack, read while the
  // task waits for the answer (dropped if the task is gone by then: its memory may be another's).
  void take(int listener, const seccomp_notif &n) {
    ObserveKey key;
    key.nr = static_cast<uint64_t>(static_cast<int64_t>(n.data.nr));
    if (n.data.arch == Policy::AuditArchX86_64) {
      const SyscallRule *rule = P.ruleFor(n.data.nr);
      uint8_t mask = rule ? rule->checkedArguments() : 0;
      for (int i = 0; i < 6; ++i)
        if (mask & (1u << i)) key.args[i] = n.data.args[i];
    }
    auto k = std::tuple(n.data.arch, key.nr, std::to_array(key.args));
    auto [it, fresh] = Calls.try_emplace(k);
    ObservedCall &c = it->second;
    ++c.count;
    if (!fresh) return;
    c.key = key;
    c.arch = n.data.arch;
    c.stack = stackOf(static_cast<pid_t>(n.pid), n.data.instruction_pointer);
    uint64_t id = n.id;
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) c.stack.clear();
  }

  std::vector<ObservedCall> calls() const {
    std::vector<ObservedCall> out;
    for (const auto &[k, c] : Calls) out.push_back(c);
    return out;
  }

private:
  bpf_stack_build_id frameAt(const std::vector<Mapping> &maps, uint64_t ip) {
    bpf_stack_build_id f{};
    const Mapping *m = mappingOf(maps, ip);
    if (m && !m->path.empty()) {
      auto [it, fresh] = BuildIds.try_emplace(m->path);
      if (fresh) it->second = StackSymbols::buildIdOf(m->path);
      if (it->second) {
        f.status = BPF_STACK_BUILD_ID_VALID;
        std::copy(it->second->begin(), it->second->end(), f.build_id);
        f.offset = ip - m->start + m->offset;
        return f;
      }
    }
    f.status = BPF_STACK_BUILD_ID_IP;
    f.ip = ip;
    return f;
  }

  std::vector<bpf_stack_build_id> stackOf(pid_t tid, uint64_t ip) {
    std::vector<Mapping> maps = readMaps(tid);
    std::vector<bpf_stack_build_id> frames{frameAt(maps, ip)};
    std::optional<uint64_t> sp = stackPointer(tid);
    if (!sp) return frames;
    std::vector<uint64_t> words(kScanBytes / 8);
    size_t got = readMemory(tid, *sp, words.data(), kScanBytes) / 8;
    for (size_t i = 0; i < got && frames.size() < 1 + kScannedFrames; ++i) {
      const Mapping *m = mappingOf(maps, words[i]);
      if (!m || !m->exec || m->path.empty() || words[i] < m->start + 7) continue;
      uint8_t before[7];
      if (readMemory(tid, words[i] - 7, before, 7) == 7 && endsWithCall(before)) frames.push_back(frameAt(maps, words[i]));
    }
    return frames;
  }

  const Policy &P;
  std::map<std::tuple<uint32_t, uint64_t, std::array<uint64_t, 6>>, ObservedCall> Calls;
  std::map<std::string, std::optional<std::array<uint8_t, BPF_BUILD_ID_SIZE>>> BuildIds;
};

bool isListener(int fd) {
  char target[64] = {};
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  return n > 0 && std::string(target, n) == "anon_inode:seccomp notify";
}

// The supervisor thread: takes the child's listener, then serves it until `stop` is written or no process
// uses the filter any more. `error` is set (and the child killed) when the listener cannot be taken: the
// command would otherwise run with a filter nobody answers (its refused calls failing with ENOSYS).
struct Supervisor {
  int info = -1, stop = -1;
  Recorder &rec;
  std::string error;

  void run() {
    int32_t msg[2] = {0, -1};
    pollfd first[2] = {{info, POLLIN, 0}, {stop, POLLIN, 0}};
    while (poll(first, 2, -1) < 0 && errno == EINTR) {
    }
    if (first[1].revents || read(info, msg, sizeof msg) != sizeof msg) return; // the child never got that far
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, msg[0], 0));
    if (pidfd < 0) return abandon(msg[0], errnoText("pidfd_open"));
    int listener = -1;
    while (listener < 0) {
      int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, msg[1], 0));
      if (fd >= 0 && isListener(fd)) {
        listener = fd;
        break;
      }
      if (fd >= 0) close(fd);
      else if (errno != EBADF) {
        close(pidfd);
        return abandon(msg[0], errnoText("pidfd_getfd (taking the filter's listener from the command)"));
      }
      pollfd p[2] = {{pidfd, POLLIN, 0}, {stop, POLLIN, 0}};
      if (poll(p, 2, 1) > 0) { // the child ended without installing the filter, or the run is over
        close(pidfd);
        return;
      }
    }
    close(pidfd);
    for (;;) {
      pollfd p[2] = {{listener, POLLIN, 0}, {stop, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (p[1].revents) break;
      if (p[0].revents & POLLIN) {
        seccomp_notif req;
        memset(&req, 0, sizeof req);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) continue; // ENOENT: the caller was interrupted
        rec.take(listener, req);
        seccomp_notif_resp resp;
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp); // ENOENT: the caller is gone
        continue;
      }
      if (p[0].revents & (POLLHUP | POLLERR)) break; // no process uses the filter any more
    }
    close(listener);
  }

  void abandon(pid_t child, const std::string &why) {
    error = why;
    kill(child, SIGKILL);
  }
};

} // namespace

Policy notifyPolicy(const Policy &policy) {
  Policy n = policy;
  const Action notify{Action::UserNotif, 0};
  std::erase_if(n.allowed, [](const SyscallRule &r) { return r.nr == SYS_execve; });
  for (SyscallRule &r : n.allowed)
    if (r.action.kind != Action::Allow) r.action = notify;
  if (n.defaultAction.kind != Action::Allow) n.defaultAction = notify;
  if (n.badArchAction.kind != Action::Allow) n.badArchAction = notify;
  return n;
}

llvm::Expected<ObserveRunResult> runNotified(const BpfProgram &filter, const Policy &policy, const std::string &path,
                                             const std::vector<std::string> &argv) {
  if (filter.empty() || filter.size() > BpfMaxInstructions)
    return fail("cannot install a filter of " + std::to_string(filter.size()) + " instructions");
  auto cg = NetCgroup::create({}, "bespoke-observe-");
  if (!cg) return cg.takeError();
  int info[2];
  if (pipe2(info, O_CLOEXEC) != 0) {
    std::string why = errnoText("pipe2");
    llvm::consumeError(cg->close());
    return fail(why);
  }
  int stop = eventfd(0, EFD_CLOEXEC);
  if (stop < 0) {
    std::string why = errnoText("eventfd");
    close(info[0]);
    close(info[1]);
    llvm::consumeError(cg->close());
    return fail(why);
  }
  Recorder rec(policy);
  Supervisor sup{info[0], stop, rec, {}};
  // The thread takes no signals: runInCgroup waits for SIGCHLD and the forwarded ones in this thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  std::thread thread([&sup] { sup.run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);

  sock_fprog fp{static_cast<unsigned short>(filter.size()), const_cast<sock_filter *>(filter.data())};
  auto inChild = [&]() -> llvm::Error {
    close(info[0]);
    int probe = fcntl(info[1], F_DUPFD, 0); // the lowest free descriptor: the listener's number
    if (probe < 0) return fail(errnoText("fcntl(F_DUPFD)"));
    close(probe);
    int32_t msg[2] = {static_cast<int32_t>(getpid()), probe};
    if (write(info[1], msg, sizeof msg) != static_cast<ssize_t>(sizeof msg)) return fail(errnoText("write"));
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
    if (fd < 0 && errno == EACCES) { // without CAP_SYS_ADMIN, a filter needs no_new_privs
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail(errnoText("prctl(PR_SET_NO_NEW_PRIVS)"));
      fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
    }
    if (fd < 0) return fail(errnoText("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER)"));
    return llvm::Error::success();
  };
  auto run = runInCgroup(*cg, path, argv, inChild);
  close(info[1]);
  uint64_t one = 1;
  (void)!write(stop, &one, sizeof one);
  thread.join();
  close(info[0]);
  close(stop);
  llvm::Error closed = cg->close();
  if (!run) {
    llvm::consumeError(std::move(closed));
    return run.takeError();
  }
  if (closed) return closed;
  if (!sup.error.empty()) return fail("cannot supervise the observe filter: " + sup.error);

  ObserveRunResult r;
  r.status = run->status;
  r.leftBehindKilled = run->leftBehindKilled;
  r.calls = rec.calls();
  r.instructions = filter.size();
  r.mechanism = "seccomp";
  return r;
}

} // namespace bespoke
