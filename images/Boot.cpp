// Booting an image in QEMU: spawn, stream the serial console, read bespoke-init's markers.
#include "images/Boot.h"

#include "analyzer/SyscallTable.h"
#include "support/Process.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char **environ;

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

constexpr int RelayPortBase = 61000; // guest ports of bespoke-init's relay listeners
constexpr const char *Marker = "bespoke-init: ";

// KVM that can run QEMU's default CPU model (qemu64): /dev/kvm opens, speaks API 12, and its supported
// CPUID has what qemu64 asks for (SSE2, SSE3, CMPXCHG16B, long mode). A nested KVM that lacks them
// (measured: a Firecracker guest whose KVM offers no SSE3) starts SeaBIOS but hangs the kernel, so it
// counts as no KVM. BESPOKE_ACCEL=tcg or =kvm overrides the probe.
bool kvmUsable() {
  if (const char *forced = getenv("BESPOKE_ACCEL")) {
    if (llvm::StringRef(forced) == "tcg") return false;
    if (llvm::StringRef(forced) == "kvm") return true;
  }
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
  constexpr unsigned MaxEntries = 256;
  std::vector<char> buf(sizeof(kvm_cpuid2) + MaxEntries * sizeof(kvm_cpuid_entry2), 0);
  auto *cpuid = reinterpret_cast<kvm_cpuid2 *>(buf.data());
  cpuid->nent = MaxEntries;
  ok = ok && ioctl(fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0;
  close(fd);
  if (!ok) return false;
  bool basic = false, extended = false;
  for (unsigned i = 0; i < cpuid->nent; ++i) {
    const kvm_cpuid_entry2 &e = cpuid->entries[i];
    if (e.function == 1)
      basic = (e.edx & (1u << 26)) && (e.ecx & (1u << 0)) && (e.ecx & (1u << 13)); // SSE2, SSE3, CX16
    if (e.function == 0x80000001) extended = e.edx & (1u << 29);                     // long mode
  }
  return basic && extended;
}

std::optional<int> parsePort(llvm::StringRef s) {
  unsigned v;
  if (s.getAsInteger(10, v) || v == 0 || v > 65535) return std::nullopt;
  return int(v);
}

// `enosys 0-3,7,9-11`: ascending ranges (an empty list is allowed: nothing returned ENOSYS).
llvm::Error parseRanges(llvm::StringRef list, std::vector<int> &out) {
  if (list.empty()) return llvm::Error::success();
  llvm::SmallVector<llvm::StringRef> items;
  list.split(items, ',');
  for (llvm::StringRef item : items) {
    auto [lo, hi] = item.split('-');
    unsigned a, b;
    bool bad = lo.getAsInteger(10, a);
    if (!bad) {
      b = a;
      if (item.contains('-')) bad = hi.getAsInteger(10, b);
    }
    if (bad) return err("'" + item + "' is not N or N-M");
    if (a > b || b >= 4096) return err("'" + item + "' is not an ascending range below 4096");
    if (!out.empty() && int(a) <= out.back()) return err("'" + item + "' is not above the previous number");
    for (unsigned n = a; n <= b; ++n) out.push_back(int(n));
  }
  return llvm::Error::success();
}

// `done N implemented of T [in MS ms]`
llvm::Error parseProbeDone(llvm::StringRef rest, InitMarker &m) {
  llvm::SmallVector<llvm::StringRef> w;
  rest.split(w, ' ', -1, false);
  m.seconds = -1;
  double ms;
  bool shape = (w.size() == 5 || (w.size() == 8 && w[5] == "in" && w[7] == "ms" && !w[6].getAsDouble(ms))) &&
               w[0] == "done" && w[2] == "implemented" && w[3] == "of";
  if (!shape || w[1].getAsInteger(10, m.value) || w[4].getAsInteger(10, m.total) || m.value < 0 ||
      m.value > m.total)
    return err("expected 'probe done N implemented of T [in MS ms]'");
  if (w.size() == 8) m.seconds = ms / 1000;
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::optional<InitMarker>> parseInitMarker(llvm::StringRef line) {
  size_t at = line.find(Marker);
  if (at == llvm::StringRef::npos) return std::nullopt;
  llvm::StringRef rest = line.substr(at + strlen(Marker)).trim();
  auto [word, value] = rest.split(' ');
  value = value.trim();
  InitMarker m;
  auto expect = [](bool ok, const char *shape) { return ok ? llvm::Error::success() : err("expected " + llvm::Twine(shape)); };
  auto parse = [&]() -> llvm::Error {
    if (word == "start") {
      m.kind = InitMarker::Start;
      return expect(!value.getAsDouble(m.seconds), "'start SECONDS'");
    }
    if (word == "random") {
      m.kind = InitMarker::Random;
      m.value = value == "ready";
      return expect(value == "ready" || value == "not-ready", "'random ready' or 'random not-ready'");
    }
    if (word == "exec") {
      m.kind = InitMarker::Exec;
      m.text = value.str();
      return expect(!value.empty(), "'exec PROGRAM'");
    }
    if (word == "exit" || word == "signal") {
      m.kind = word == "exit" ? InitMarker::Exit : InitMarker::Signal;
      return expect(!value.getAsInteger(10, m.value), word == "exit" ? "'exit N'" : "'signal N'");
    }
    if (word == "seccomp") {
      m.kind = InitMarker::Seccomp;
      auto [n, unit] = value.split(' ');
      return expect(!n.getAsInteger(10, m.value) && unit == "instructions", "'seccomp N instructions'");
    }
    if (word == "enosys") {
      m.kind = InitMarker::Enosys;
      return parseRanges(value, m.numbers);
    }
    if (word == "probe") {
      m.kind = InitMarker::ProbeDone;
      return parseProbeDone(value, m);
    }
    if (word == "error:") m.kind = InitMarker::Error;
    m.text = m.kind == InitMarker::Error ? value.str() : rest.str();
    return llvm::Error::success();
  };
  if (llvm::Error e = parse())
    return err("malformed bespoke-init line '" + rest + "': " + llvm::toString(std::move(e)));
  return m;
}

llvm::Expected<PortForward> parseForward(llvm::StringRef text) {
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ':');
  PortForward f;
  if (parts.size() == 3) f.hostAddr = parts[0].str();
  else if (parts.size() != 2)
    return err("--forward '" + text + "': expected [HOSTADDR:]HOSTPORT:GUESTPORT");
  auto host = parsePort(parts[parts.size() - 2]), guest = parsePort(parts.back());
  if (!host || !guest) return err("--forward '" + text + "': ports must be 1..65535");
  f.hostPort = *host;
  f.guestPort = *guest;
  return f;
}

namespace {
// A value inside QEMU's KEY=VALUE,... option syntax: commas are doubled.
std::string qemuOptionValue(llvm::StringRef v) {
  std::string out;
  for (char c : v) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}
} // namespace

std::vector<std::string> qemuCommand(const BootRequest &req, bool network, bool kvm, const BootRoot &root,
                                     MachineKind machine, bool entropy) {
  const MachineFormat &m = machineFormat(machine);
  std::vector<std::string> cmd = {req.qemu, "-M", m.qemuMachine, "-m", req.mem, "-nodefaults", "-no-user-config",
                                  "-display", "none", "-serial", "stdio", "-no-reboot",
                                  "-kernel", req.dir + "/bzImage"};
  // panic=-1: a crashing init reboots at once, and -no-reboot turns that into QEMU's exit.
  std::string append = "console=ttyS0 quiet panic=-1";
  if (*m.kernelArgs) append += std::string(" ") + m.kernelArgs;
  std::string slotArgs; // the devices' virtio_mmio.device= (microvm)
  unsigned virtioDevices = 0;
  auto addDevice = [&](std::string device) { // the machine's next virtio slot
    VirtioSlot slot = virtioSlot(machine, virtioDevices++);
    cmd.insert(cmd.end(), {"-device", device + slot.deviceSuffix});
    if (!slot.kernelArg.empty()) slotArgs += " " + slot.kernelArg;
  };
  if (root.fstype.empty()) cmd.insert(cmd.end(), {"-initrd", req.dir + "/" + root.file});
  else { // read-only: guests never write it, and several may boot one image at once
    cmd.insert(cmd.end(), {"-drive", "file=" + qemuOptionValue(req.dir + "/" + root.file) +
                                         ",format=raw,if=none,id=root,readonly=on"});
    addDevice(std::string(m.blockDevice) + ",drive=root");
  }
  if (!root.fstype.empty() && !root.initrd.empty()) cmd.insert(cmd.end(), {"-initrd", req.dir + "/" + root.initrd});
  if (kvm) {
    cmd.push_back("-accel");
    cmd.push_back("kvm");
  }
  std::string rootArgs = root.fstype.empty() ? "" : " root=/dev/vda ro rootfstype=" + root.fstype + " init=/init";
  std::string initArgs;
  if (network) {
    std::string netdev = "user,id=n0";
    for (size_t i = 0; i < req.forwards.size(); ++i) {
      const PortForward &f = req.forwards[i];
      int guest = req.direct ? f.guestPort : RelayPortBase + int(i);
      netdev += llvm::formatv(",hostfwd=tcp:{0}:{1}-:{2}", f.hostAddr, f.hostPort, guest).str();
      if (!req.direct) initArgs += llvm::formatv(" relay={0}:{1}", guest, f.guestPort).str();
    }
    cmd.insert(cmd.end(), {"-netdev", netdev});
    addDevice(std::string(m.netDevice) + ",netdev=n0");
  }
  if (entropy) {
    cmd.insert(cmd.end(), {"-object", "rng-random,id=rng0,filename=/dev/urandom"});
    addDevice(std::string(m.rngDevice) + ",rng=rng0");
  }
  if (req.probeSyscalls) initArgs += " probe=syscalls";
  append += slotArgs + rootArgs;
  if (!initArgs.empty()) append += " --" + initArgs; // words after -- are init's arguments
  cmd.insert(cmd.end(), {"-append", append});
  return cmd;
}

llvm::Expected<BootResult> bootImage(const BootRequest &req, llvm::raw_ostream &console) {
  for (const char *f : {"bzImage", "image.json"})
    if (!llvm::sys::fs::exists(req.dir + "/" + f))
      return err(req.dir + ": not an image directory (no " + f + "; make one with bespoke rewrite)");
  auto meta = llvm::MemoryBuffer::getFile(req.dir + "/image.json");
  if (!meta) return err(req.dir + "/image.json: " + meta.getError().message());
  auto json = llvm::json::parse((*meta)->getBuffer());
  if (!json) return err(req.dir + "/image.json: " + llvm::toString(json.takeError()));
  bool network = false, entropy = false;
  BootRoot root; // images from before `root` was recorded have an initramfs
  if (const llvm::json::Object *o = json->getAsObject()) {
    network = o->getBoolean("network").value_or(false);
    entropy = o->getObject("entropy") != nullptr; // absent or null: no entropy source

    if (const llvm::json::Object *r = o->getObject("root")) {
      std::optional<llvm::StringRef> file = r->getString("file"), fstype = r->getString("fstype"),
                                     initrd = r->getString("initrd");
      if (!file || file->empty() || file->contains('/') || file->contains(','))
        return err(req.dir + "/image.json: root.file is missing or not a file name");
      root.file = file->str();
      if (fstype) root.fstype = fstype->str();
      if (initrd) {
        if (initrd->empty() || initrd->contains('/'))
          return err(req.dir + "/image.json: root.initrd is not a file name");
        root.initrd = initrd->str();
        if (!llvm::sys::fs::exists(req.dir + "/" + root.initrd))
          return err(req.dir + ": not an image directory (no " + root.initrd + ", named by root.initrd)");
      }
      if (!llvm::all_of(root.fstype, [](char c) { return llvm::isAlnum(c); }))
        return err(req.dir + "/image.json: root.fstype '" + root.fstype + "' is not a file system name");
    }
  }
  MachineKind machine = UnrecordedMachine; // images from before `machine` was recorded boot on pc
  if (const llvm::json::Object *o = json->getAsObject())
    if (const llvm::json::Object *mo = o->getObject("machine")) {
      std::optional<llvm::StringRef> kind = mo->getString("kind");
      std::optional<MachineKind> parsed = kind ? parseMachineKind(*kind) : std::nullopt;
      if (!parsed)
        return err(req.dir + "/image.json: machine.kind " + (kind ? "'" + kind->str() + "'" : std::string("(missing)")) +
                   " is not one of " + machineKindNames());
      machine = *parsed;
    }
  if (!llvm::sys::fs::exists(req.dir + "/" + root.file))
    return err(req.dir + ": not an image directory (no " + root.file + "; make one with bespoke rewrite)");
  if (!req.forwards.empty() && !network)
    return err(req.dir + ": --forward given, but the image has no network (the manifest uses no sockets)");
  std::string qemu = req.qemu.find('/') == std::string::npos ? findProgram(req.qemu) : req.qemu;
  if (qemu.empty())
    return err(req.qemu + ": not found in PATH (install the Debian package qemu-system-x86, or run scripts/bootstrap)");

  BootResult r;
  bool kvm = kvmUsable();
  r.accel = kvm ? "kvm" : "tcg";
  r.machine = machineFormat(machine).name;
  r.command = qemuCommand(req, network, kvm, root, machine, entropy);
  r.command[0] = qemu;

  int outPipe[2], errPipe[2];
  if (pipe2(outPipe, O_CLOEXEC) != 0 || pipe2(errPipe, O_CLOEXEC) != 0) return err("pipe: " + llvm::Twine(strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2);
  std::vector<char *> argv;
  for (std::string &a : r.command) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  auto start = std::chrono::steady_clock::now();
  int rc = posix_spawn(&pid, qemu.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(outPipe[1]);
  close(errPipe[1]);
  if (rc != 0) {
    close(outPipe[0]);
    close(errPipe[0]);
    return err(qemu + ": cannot run: " + strerror(rc));
  }
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  std::string outBuf, errText, lastLine, malformed;
  bool execSeen = false, finished = false, timedOut = false;
  double finishedAt = 0;
  auto onLine = [&](std::string line) {
    llvm::erase(line, '\r');
    console << line << "\n";
    console.flush();
    if (!line.empty()) lastLine = line;
    auto marker = parseInitMarker(line);
    if (!marker) {
      // Before exec only init speaks (the probe's report included); the app may print anything.
      std::string why = llvm::toString(marker.takeError());
      if (malformed.empty() && !execSeen) malformed = why;
      return;
    }
    if (!*marker) {
      if (execSeen && !finished && r.hostFirstOutputSeconds < 0 && !llvm::StringRef(line).trim().empty())
        r.hostFirstOutputSeconds = elapsed();
      return;
    }
    const InitMarker &m = **marker;
    switch (m.kind) {
    case InitMarker::Start:
      r.guestInitSeconds = m.seconds;
      r.hostInitSeconds = elapsed();
      break;
    case InitMarker::Random:
      r.randomReadyAtExec = m.value;
      break;
    case InitMarker::Exec:
      execSeen = true;
      break;
    case InitMarker::Exit:
    case InitMarker::Signal:
      r.exitCode = m.kind == InitMarker::Exit ? m.value : 128 + m.value;
      finished = true;
      finishedAt = elapsed();
      break;
    case InitMarker::Enosys:
      if (!m.numbers.empty() && !r.probe.enosys.empty() && m.numbers.front() <= r.probe.enosys.back() &&
          malformed.empty())
        malformed = "enosys lines out of order at '" + line + "'";
      r.probe.enosys.insert(r.probe.enosys.end(), m.numbers.begin(), m.numbers.end());
      break;
    case InitMarker::ProbeDone:
      r.probe.probed = true;
      r.probe.implemented = m.value;
      r.probe.total = m.total;
      r.probe.seconds = m.seconds;
      break;
    default:
      break;
    }
  };

  struct pollfd fds[2] = {{outPipe[0], POLLIN, 0}, {errPipe[0], POLLIN, 0}};
  int openFds = 2;
  while (openFds > 0) {
    double now = elapsed();
    if (!finished && req.timeoutSeconds > 0 && now > req.timeoutSeconds) { timedOut = true; break; }
    if (finished && now - finishedAt > 10) break; // init rebooted; QEMU should be gone by now
    int pr = poll(fds, 2, 200);
    if (pr < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --openFds;
        continue;
      }
      if (i == 1) {
        errText.append(buf, n);
        continue;
      }
      outBuf.append(buf, n);
      for (size_t nl; (nl = outBuf.find('\n')) != std::string::npos;) {
        onLine(outBuf.substr(0, nl));
        outBuf.erase(0, nl + 1);
      }
    }
  }
  if (!outBuf.empty()) onLine(outBuf);
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  for (struct pollfd &p : fds)
    if (p.fd >= 0) close(p.fd);
  r.wallSeconds = elapsed();
  std::string qemuSaid = llvm::StringRef(errText).trim().str();
  if (!qemuSaid.empty()) {
    llvm::errs() << qemuSaid << "\n";
    qemuSaid = " (qemu: " + llvm::StringRef(qemuSaid).split('\n').first.str() + ")";
  }
  if (timedOut)
    return err(req.dir + llvm::formatv(": timed out after {0} s; QEMU killed", req.timeoutSeconds).str() +
               (lastLine.empty() ? "" : "; last console line: " + lastLine));
  // QEMU stopped from outside while the app ran (SIGTERM or SIGINT to QEMU: how a server is stopped): the
  // app's end as a shell reports a signal's, and the boot's times are as good as any.
  unsigned stopSignal = 0;
  if (!finished && execSeen && WIFEXITED(status)) {
    llvm::StringRef said = errText, marker = "terminating on signal ";
    size_t at = said.find(marker);
    if (at != llvm::StringRef::npos) {
      llvm::StringRef digits = said.drop_front(at + marker.size()).take_while(llvm::isDigit);
      if (!digits.getAsInteger(10, stopSignal) && stopSignal > 0 && stopSignal < 65) {
        r.exitCode = 128 + int(stopSignal);
        r.stoppedBySignal = int(stopSignal);
        finished = true;
      }
    }
  }
  if (!finished)
    return err(req.dir + ": QEMU ended (" +
               (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : std::string("killed")) +
               ") before bespoke-init reported the app's exit" + qemuSaid +
               (lastLine.empty() ? "" : "; last console line: " + lastLine));
  if (req.probeSyscalls) {
    if (!malformed.empty()) return err(req.dir + ": syscall probe: " + malformed);
    if (!r.probe.probed)
      return err(req.dir + ": syscall probe: bespoke-init reported no 'probe done' line (an image from an older bespoke?)");
    const SyscallProbe &p = r.probe;
    if (p.implemented + int(p.enosys.size()) != p.total || (!p.enosys.empty() && p.enosys.back() >= p.total))
      return err(req.dir + llvm::formatv(": syscall probe: {0} implemented and {1} ENOSYS do not make the {2} probed",
                                         p.implemented, p.enosys.size(), p.total).str());
  }
  return r;
}

std::string bootJson(const BootRequest &req, const BootResult &r) {
  auto ms = [](double v) -> llvm::json::Value {
    return v < 0 ? llvm::json::Value(nullptr) : llvm::json::Value(int64_t(v * 1000 + 0.5));
  };
  llvm::json::Array cmd;
  for (const std::string &a : r.command) cmd.push_back(a);
  llvm::json::Object o{
      {"bespoke_boot", 1},
      {"exit_code", r.exitCode},
      {"stopped_by_signal", r.stoppedBySignal},
      {"random_ready_at_exec", r.randomReadyAtExec < 0 ? llvm::json::Value(nullptr) : llvm::json::Value(r.randomReadyAtExec == 1)},
      {"accel", r.accel},
      {"machine", r.machine},
      {"mem", req.mem},
      {"guest_init_ms", ms(r.guestInitSeconds)},
      {"host_init_ms", ms(r.hostInitSeconds)},
      {"host_first_output_ms", ms(r.hostFirstOutputSeconds)},
      {"wall_ms", ms(r.wallSeconds)},
      {"qemu_command", std::move(cmd)},
  };
  if (r.probe.probed) {
    llvm::json::Array enosys, names;
    size_t next = 0; // r.probe.enosys is ascending
    for (int nr = 0; nr < r.probe.total; ++nr) {
      if (next < r.probe.enosys.size() && r.probe.enosys[next] == nr) {
        enosys.push_back(nr);
        ++next;
      } else if (auto name = syscallName(nr)) {
        names.push_back(std::string(*name));
      } else {
        names.push_back("syscall_" + std::to_string(nr)); // implemented but not in the table
      }
    }
    o["syscall_probe"] = llvm::json::Object{
        {"probed", r.probe.total},      {"implemented", r.probe.implemented}, {"enosys", std::move(enosys)},
        {"implemented_names", std::move(names)}, {"probe_ms", ms(r.probe.seconds)},
    };
  }
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(o))) << "\n";
  return out;
}

} // namespace bespoke
