// NetAttach: libbpf loading and cgroup v2 attachment of the network policy programs.
#include "extension-gen/NetAttach.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Errno.h"

#include <bpf/bpf.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <utility>

namespace bespoke {

namespace {

llvm::Error errnoError(int err, const std::string &what) {
  return llvm::createStringError(std::error_code(err, std::generic_category()), "%s: %s", what.c_str(),
                                 llvm::sys::StrError(err).c_str());
}

// The last `n` non-empty lines of a verifier log, joined into one line.
std::string lastLines(llvm::StringRef log, size_t n) {
  llvm::SmallVector<llvm::StringRef, 64> lines;
  log.split(lines, '\n', -1, /*KeepEmpty=*/false);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
    if (!out.empty())
      out += " | ";
    out += lines[i].trim().str();
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescapeMountField(llvm::StringRef s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      unsigned v = 0;
      if (!s.substr(i + 1, 3).getAsInteger(8, v)) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

} // namespace

BpfLoad loadBpfProgram(bpf_prog_type type, bpf_attach_type expected, const char *name,
                       const std::vector<bpf_insn> &insns, size_t tailLines) {
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = expected);
  int fd = bpf_prog_load(type, name, "GPL", insns.data(), insns.size(), &opts);
  if (fd >= 0)
    return {fd, 0, {}};
  int err = errno;
  if (err == EPERM)
    return {-1, err, {}};
  // Again with the verifier's log (not the first time: a log that fills its buffer fails the load).
  std::vector<char> log(1 << 22, '\0');
  LIBBPF_OPTS(bpf_prog_load_opts, logged, .expected_attach_type = expected, .log_level = 1,
              .log_size = static_cast<__u32>(log.size()), .log_buf = log.data());
  fd = bpf_prog_load(type, name, "GPL", insns.data(), insns.size(), &logged);
  if (fd >= 0) // refused once, accepted now: take it
    return {fd, 0, {}};
  return {-1, err, lastLines(llvm::StringRef(log.data()), tailLines)};
}

llvm::Expected<int> loadNetProgram(const EbpfProgram &p) {
  std::string name = std::string("bsp_") + hookName(p.hook); // the kernel keeps 15 characters
  BpfLoad l = loadBpfProgram(programType(p.hook), attachType(p.hook), name.c_str(), p.insns, 3);
  if (l.fd >= 0)
    return l.fd;
  if (l.err == EPERM)
    return llvm::createStringError(std::error_code(l.err, std::generic_category()),
                                   "loading eBPF programs needs root (CAP_BPF and CAP_NET_ADMIN)");
  return llvm::createStringError(std::error_code(l.err, std::generic_category()),
                                 "the kernel refused the %s program (%zu instructions): %s%s%s", hookName(p.hook),
                                 p.insns.size(), llvm::sys::StrError(l.err).c_str(), l.logTail.empty() ? "" : ": ",
                                 l.logTail.c_str());
}

llvm::Expected<std::string> cgroup2Root() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in)
    return errnoError(errno, "cannot read /proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
    llvm::SmallVector<llvm::StringRef, 16> f;
    llvm::StringRef(line).split(f, ' ', -1, /*KeepEmpty=*/false);
    for (size_t i = 6; i + 1 < f.size(); ++i)
      if (f[i] == "-") {
        if (f[i + 1] == "cgroup2" && f.size() > 4)
          return unescapeMountField(f[4]);
        break;
      }
  }
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "no cgroup v2 file system is mounted (bespoke run --net and bespoke "
                                 "observe put the command in a cgroup v2)");
}

llvm::Expected<NetCgroup> NetCgroup::create(const std::vector<EbpfProgram> &programs, const std::string &prefix) {
  llvm::Expected<std::string> root = cgroup2Root();
  if (!root)
    return root.takeError();
  NetCgroup cg; // on any error below, its destructor undoes what was done
  std::string base = *root + "/" + prefix + std::to_string(getpid()) + "-";
  for (unsigned n = 0;; ++n) { // the first free name: no counter to keep between calls
    std::string candidate = base + std::to_string(n);
    if (mkdir(candidate.c_str(), 0755) == 0) {
      cg.dir = candidate;
      break;
    }
    int err = errno;
    if (err == EACCES || err == EPERM)
      return errnoError(err, "cannot create cgroup " + candidate + " (bespoke run --net and bespoke observe need "
                             "root: write access to the cgroup v2 tree, CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON)");
    if (err != EEXIST || n >= 1000)
      return errnoError(err, "cannot create cgroup " + candidate);
  }
  cg.cgroupFd = open(cg.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg.cgroupFd < 0) {
    int err = errno;
    return errnoError(err, "cannot open cgroup " + cg.dir);
  }
  for (const EbpfProgram &p : programs) {
    llvm::Expected<int> fd = loadNetProgram(p);
    if (!fd)
      return fd.takeError();
    cg.programs.push_back({*fd, attachType(p.hook), false});
    if (bpf_prog_attach(*fd, cg.cgroupFd, attachType(p.hook), 0) != 0) {
      int err = errno;
      return errnoError(err, std::string("cannot attach the ") + hookName(p.hook) + " program to " + cg.dir);
    }
    cg.programs.back().attached = true;
  }
  return cg;
}

NetCgroup::NetCgroup(NetCgroup &&other) noexcept
    : dir(std::exchange(other.dir, std::string())), cgroupFd(std::exchange(other.cgroupFd, -1)),
      programs(std::exchange(other.programs, {})) {}

NetCgroup &NetCgroup::operator=(NetCgroup &&other) noexcept {
  if (this != &other) {
    llvm::consumeError(close());
    dir = std::exchange(other.dir, std::string());
    cgroupFd = std::exchange(other.cgroupFd, -1);
    programs = std::exchange(other.programs, {});
  }
  return *this;
}

NetCgroup::~NetCgroup() { llvm::consumeError(close()); }

llvm::Error NetCgroup::addProcess(pid_t pid) {
  if (dir.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "the cgroup is closed");
  std::string procs = dir + "/cgroup.procs";
  int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errnoError(errno, "cannot open " + procs);
  std::string text = std::to_string(pid) + "\n";
  ssize_t n = write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return errnoError(n < 0 ? err : EIO, "cannot add process " + std::to_string(pid) + " to " + dir);
  return llvm::Error::success();
}

llvm::Error NetCgroup::close() {
  llvm::Error first = llvm::Error::success();
  auto note = [&](llvm::Error e) {
    if (first)
      llvm::consumeError(std::move(e));
    else
      first = std::move(e);
  };
  for (Attached &a : programs) {
    if (a.attached && bpf_prog_detach2(a.progFd, cgroupFd, a.type) != 0) {
      int err = errno;
      note(errnoError(err, "cannot detach a program from " + dir));
    }
    ::close(a.progFd);
  }
  programs.clear();
  if (cgroupFd >= 0)
    ::close(cgroupFd);
  cgroupFd = -1;
  if (!dir.empty() && rmdir(dir.c_str()) != 0) {
    int err = errno;
    note(errnoError(err, err == EBUSY ? "cannot remove cgroup " + dir + " (a process is still in it)"
                                      : "cannot remove cgroup " + dir));
    return first; // the directory stays known: close() may be called again once it is empty
  }
  dir.clear();
  return first;
}

} // namespace bespoke
