// The syscall -> Kconfig table (generated, see specializer/README.md) and the hand-written rules that
// turn argument facts and kernel paths into options.
#include "specializer/KernelRequirements.h"

#include "analyzer/ArgumentSpecs.h"
#include "analyzer/ArgumentSymbols.h"

#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <optional>

namespace bespoke {

const std::vector<SyscallBuild> &syscallBuildTable() {
  static const std::vector<SyscallBuild> table = {
#include "specializer/syscall_kconfig.inc"
  };
  return table;
}

const SyscallBuild *syscallBuild(std::string_view name) {
  const auto &t = syscallBuildTable();
  auto it = std::lower_bound(t.begin(), t.end(), name,
                             [](const SyscallBuild &b, std::string_view n) { return b.name < n; });
  return it != t.end() && it->name == name ? &*it : nullptr;
}

namespace {

bool isNegated(const std::string &option) { return !option.empty() && option[0] == '!'; }

// "!X" holds when X is off, "X" when it is on.
bool alternativeHolds(const std::vector<std::string> &alt, const std::set<std::string> &enabled) {
  return std::all_of(alt.begin(), alt.end(), [&](const std::string &o) {
    return isNegated(o) ? !enabled.count(o.substr(1)) : enabled.count(o) > 0;
  });
}

// A socket family as the manifest spells it: the number the source analysis records ("2") or the
// constant's name ("AF_INET", "PF_INET").
struct SocketFamily {
  int number;
  const char *name;
  std::vector<const char *> options; // the kbuild rule that builds the family's net_proto_family
};

const std::vector<SocketFamily> &socketFamilies() {
  // Each entry: the file that registers the family (sock_register) and the options on its kbuild path
  // in Linux 6.1 (net/Makefile, net/*/Makefile). A tristate family may be a module: socket() loads
  // net-pf-N on demand.
  static const std::vector<SocketFamily> families = {
      {1, "AF_UNIX", {"NET", "UNIX"}},                   // net/unix/af_unix.c
      {2, "AF_INET", {"NET", "INET"}},                   // net/ipv4/af_inet.c
      {3, "AF_AX25", {"NET", "AX25"}},                   // net/ax25/af_ax25.c
      {5, "AF_APPLETALK", {"NET", "ATALK"}},             // net/appletalk/ddp.c
      {6, "AF_NETROM", {"NET", "NETROM"}},               // net/netrom/af_netrom.c
      {9, "AF_X25", {"NET", "X25"}},                     // net/x25/af_x25.c
      {10, "AF_INET6", {"NET", "INET", "IPV6"}},         // net/ipv6/af_inet6.c; IPV6 is inside `if INET`
      {11, "AF_ROSE", {"NET", "ROSE"}},                  // net/rose/af_rose.c
      {15, "AF_KEY", {"NET", "NET_KEY"}},                // net/key/af_key.c
      {16, "AF_NETLINK", {"NET"}},                       // net/netlink/af_netlink.c: obj-y of net/
      {17, "AF_PACKET", {"NET", "PACKET"}},              // net/packet/af_packet.c
      {21, "AF_RDS", {"NET", "RDS"}},                    // net/rds/af_rds.c
      {26, "AF_LLC", {"NET", "LLC2"}},                   // net/llc/af_llc.c (LLC2 selects LLC)
      {29, "AF_CAN", {"NET", "CAN"}},                    // net/can/af_can.c
      {30, "AF_TIPC", {"NET", "TIPC"}},                  // net/tipc/socket.c
      {31, "AF_BLUETOOTH", {"NET", "BT"}},               // net/bluetooth/af_bluetooth.c
      {33, "AF_RXRPC", {"NET", "AF_RXRPC"}},             // net/rxrpc/af_rxrpc.c
      {35, "AF_PHONET", {"NET", "PHONET"}},              // net/phonet/af_phonet.c
      {36, "AF_IEEE802154", {"NET", "IEEE802154", "IEEE802154_SOCKET"}}, // net/ieee802154/socket.c
      {37, "AF_CAIF", {"NET", "CAIF"}},                  // net/caif/caif_socket.c
      {38, "AF_ALG", {"CRYPTO_USER_API"}},               // crypto/af_alg.c (selected by CRYPTO_USER_API_*)
      {39, "AF_NFC", {"NET", "NFC"}},                    // net/nfc/af_nfc.c
      {40, "AF_VSOCK", {"NET", "VSOCKETS"}},             // net/vmw_vsock/af_vsock.c
      {41, "AF_KCM", {"NET", "AF_KCM"}},                 // net/kcm/kcmsock.c
      {42, "AF_QIPCRTR", {"NET", "QRTR"}},               // net/qrtr/af_qrtr.c
      {43, "AF_SMC", {"NET", "SMC"}},                    // net/smc/af_smc.c
      {44, "AF_XDP", {"NET", "XDP_SOCKETS"}},            // net/xdp/xsk.c
      {45, "AF_MCTP", {"NET", "MCTP"}},                  // net/mctp/af_mctp.c
  };
  return families;
}

const SocketFamily *findSocketFamily(const std::string &value) {
  for (const SocketFamily &f : socketFamilies()) {
    std::string af = f.name;
    if (value == std::to_string(f.number) || value == af || value == "PF_" + af.substr(3))
      return &f;
  }
  if (value == "AF_LOCAL" || value == "PF_LOCAL") return findSocketFamily("1");
  return nullptr;
}

// Kernel paths: a prefix (a whole path component) and the options that make it exist.
struct PathRule {
  const char *prefix;
  std::vector<const char *> options;
};

const std::vector<PathRule> &pathRules() {
  // Every rule names the file that provides the path; its options are those on that file's kbuild
  // path (and #ifdef) in Linux 6.1. A path matches a rule when the rule's prefix is a leading part of it.
  static const std::vector<PathRule> rules = {
      {"/proc", {"PROC_FS"}},                         // fs/proc/: obj-$(CONFIG_PROC_FS)
      {"/proc/sys", {"PROC_FS", "PROC_SYSCTL"}},      // fs/proc/proc_sysctl.c: proc-$(CONFIG_PROC_SYSCTL)
      {"/proc/net", {"NET", "PROC_FS"}},              // fs/proc/proc_net.c: proc-$(CONFIG_NET)
      {"/proc/sysvipc", {"SYSVIPC"}},                 // ipc/util.c (ipc/ is SYSVIPC), under CONFIG_PROC_FS
      {"/proc/config.gz", {"IKCONFIG", "IKCONFIG_PROC"}}, // kernel/configs.c, #ifdef CONFIG_IKCONFIG_PROC
      {"/proc/kcore", {"PROC_FS", "PROC_KCORE"}},     // fs/proc/kcore.c
      {"/sys", {"SYSFS"}},                            // fs/sysfs/: obj-$(CONFIG_SYSFS)
      {"/sys/fs/cgroup", {"CGROUPS"}},                // kernel/cgroup/: obj-$(CONFIG_CGROUPS)
      {"/sys/fs/bpf", {"BPF_SYSCALL"}},               // kernel/bpf/inode.c (bpffs)
      {"/sys/fs/fuse", {"FUSE_FS"}},                  // fs/fuse/control.c (fusectl)
      {"/sys/kernel/debug", {"DEBUG_FS"}},            // fs/debugfs/
      {"/sys/kernel/tracing", {"TRACING"}},           // fs/tracefs/: obj-$(CONFIG_TRACING)
      {"/sys/kernel/security", {"SECURITYFS"}},       // security/inode.c
      {"/dev/shm", {"SHMEM", "TMPFS"}},               // mm/shmem.c: shmem is exported as tmpfs only with TMPFS
      {"/dev/pts", {"UNIX98_PTYS"}},                  // fs/devpts/: obj-$(CONFIG_UNIX98_PTYS)
      {"/dev/ptmx", {"UNIX98_PTYS"}},                 // drivers/tty/pty.c, #ifdef CONFIG_UNIX98_PTYS
      {"/dev/tty", {"TTY"}},                          // drivers/tty/tty_io.c: drivers/tty/ is obj-$(CONFIG_TTY)
      {"/dev/console", {"TTY"}},                      // drivers/tty/tty_io.c
      {"/dev/net/tun", {"TUN"}},                      // drivers/net/tun.c
      {"/dev/fuse", {"FUSE_FS"}},                     // fs/fuse/dev.c
      {"/dev/kvm", {"KVM"}},                          // arch/x86/kvm/: obj-$(CONFIG_KVM)
      {"/dev/hugepages", {"HUGETLBFS"}},              // fs/hugetlbfs/, mounted there by systemd
      {"/dev/mqueue", {"POSIX_MQUEUE"}},              // ipc/mqueue.c, mounted there by systemd
      {"/dev/loop-control", {"BLK_DEV_LOOP"}},        // drivers/block/loop.c
      {"/dev/mapper", {"MD", "BLK_DEV_DM"}},          // drivers/md/dm-ioctl.c (mapper/control)
      {"/dev/userfaultfd", {"USERFAULTFD"}},          // fs/userfaultfd.c
      {"/dev/uinput", {"INPUT", "INPUT_MISC", "INPUT_UINPUT"}}, // drivers/input/misc/uinput.c
      {"/dev/vhost-net", {"VHOST_NET"}},              // drivers/vhost/net.c
      {"/dev/vfio", {"VFIO"}},                        // drivers/vfio/
      {"/dev/hwrng", {"HW_RANDOM"}},                  // drivers/char/hw_random/core.c
      {"/dev/tpm0", {"TCG_TPM"}},                     // drivers/char/tpm/
      {"/dev/watchdog", {"WATCHDOG", "WATCHDOG_CORE"}}, // drivers/watchdog/watchdog_dev.c
      {"/dev/ppp", {"PPP"}},                          // drivers/net/ppp/ppp_generic.c
      {"/dev/autofs", {"AUTOFS_FS"}},                 // fs/autofs/dev-ioctl.c
      {"/dev/kmsg", {"PRINTK"}},                      // drivers/char/mem.c, #ifdef CONFIG_PRINTK
      {"/dev/mem", {"DEVMEM"}},                       // drivers/char/mem.c, #ifdef CONFIG_DEVMEM
      {"/dev/port", {"DEVPORT"}},                     // drivers/char/mem.c, #ifdef CONFIG_DEVPORT
  };
  return rules;
}

bool underPrefix(const std::string &path, const std::string &prefix) {
  return path == prefix || (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
                            path[prefix.size()] == '/');
}

std::optional<uint64_t> parseNumber(const std::string &v) {
  if (v.empty()) return std::nullopt;
  size_t used = 0;
  try {
    uint64_t n = std::stoull(v, &used, 0); // "0x..." hex, else decimal
    if (used == v.size()) return n;
  } catch (...) {
  }
  return std::nullopt;
}

// A value of u's argument `arg` as a number: written as one, or as constant names and numbers joined by
// '|' ("CLONE_VM|SIGCHLD", analyzer/ArgumentSymbols.h); nullopt when it is neither.
std::optional<uint64_t> argumentNumber(const SyscallUse &u, const char *arg, const std::string &v) {
  if (auto n = parseNumber(v)) return n;
  auto number = [](std::string_view term) -> std::optional<uint32_t> {
    if (auto n = parseNumber(std::string(term)); n && *n <= UINT32_MAX) return uint32_t(*n);
    return std::nullopt;
  };
  for (const ArgumentSpec *spec : argumentSpecsOf(u.name))
    if (!strcmp(spec->name, arg)) return argumentTerms(*spec, v, number);
  return std::nullopt;
}

// A flag bit in an argument fact: the first value (one per call site) that has it.
const std::string *valueWithBit(const SyscallUse &u, const char *arg, uint64_t bit) {
  auto a = u.args.find(arg);
  if (a == u.args.end()) return nullptr;
  for (const std::string &v : a->second.values)
    if (auto n = argumentNumber(u, arg, v); n && (*n & bit)) return &v;
  return nullptr;
}

// The subsystem an ioctl request belongs to, by its number (include/uapi): the terminal requests
// (asm-generic/ioctls.h, TCGETS 0x5401 .. TIOCGEXCL 0x5440, FIONREAD, FIONBIO, FIOCLEX) are tty_ioctl's,
// in drivers/tty/ (CONFIG_TTY); the socket requests (linux/sockios.h, SIOC* 0x8901 .. 0x89ff) are
// sock_ioctl's, in net/ (CONFIG_NET); TUNSETIFF and the other _IOx('T', 200..231) requests are
// drivers/net/tun.c's (CONFIG_TUN). Requests of other drivers add nothing: the device node the app
// opens (kernel.paths) names the driver.
struct IoctlSubsystem {
  const char *option, *what;
};
std::optional<IoctlSubsystem> ioctlSubsystem(uint64_t request) {
  uint32_t r = uint32_t(request);
  if (r >= 0x5401 && r <= 0x5460) return IoctlSubsystem{"TTY", "terminal"};
  if (r >= 0x8901 && r <= 0x89ff) return IoctlSubsystem{"NET", "socket"};
  uint32_t type = (r >> 8) & 0xff, nr = r & 0xff;
  if (type == 'T' && nr >= 200 && nr <= 231 && (r >> 30) != 0) // _IOR/_IOW('T', ...): not a plain 0x54xx
    return IoctlSubsystem{"TUN", "tun"};
  return std::nullopt;
}

constexpr uint64_t CloneThread = 0x10000;       // CLONE_THREAD
constexpr uint64_t CloneChildCleartid = 0x200000; // CLONE_CHILD_CLEARTID
constexpr uint64_t MapHugetlb = 0x40000;        // MAP_HUGETLB
constexpr int64_t PrSetSeccomp = 22;            // PR_SET_SECCOMP

} // namespace

KernelRequirements kernelRequirements(const Footprint &fp) {
  KernelRequirements req;
  auto need = [&](const std::string &option, const std::string &reason) {
    std::vector<std::string> &reasons = req.options[option];
    if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) reasons.push_back(reason);
  };

  for (const SyscallUse &u : fp.syscalls) {
    const SyscallBuild *b = syscallBuild(u.name);
    if (!b) {
      req.unknownSyscalls.push_back(u.name);
      continue;
    }
    // The generator orders the alternatives most natural first; an alternative that needs an option
    // off is taken only when every alternative does. A syscall no kernel builds ({}) needs nothing.
    const std::vector<std::string> *pick = nullptr;
    for (const auto &alt : b->alternatives)
      if (std::none_of(alt.begin(), alt.end(), isNegated)) {
        pick = &alt;
        break;
      }
    if (!pick && !b->alternatives.empty()) pick = &b->alternatives.front();
    if (pick)
      for (const std::string &o : *pick)
        if (!isNegated(o)) need(o, "syscall " + u.name); // "!X" asks for X off: not an option to turn on
  }

  for (const SyscallUse &u : fp.syscalls) {
    if (u.name == "socket" || u.name == "socketpair") {
      // A socket of a family the kernel does not build fails with EAFNOSUPPORT.
      auto a = u.args.find("domain");
      if (a != u.args.end())
        for (const std::string &v : a->second.values)
          if (const SocketFamily *f = findSocketFamily(v))
            for (const char *o : f->options)
              need(o, std::string("socket family ") + f->name + " (" + u.name + " arg domain)");
      // Families not known (no facts, or some site passes a value the analysis cannot see): an image
      // without AF_UNIX or AF_INET6 would not start programs that use them (nginx's master talks to its
      // workers over socketpair(AF_UNIX), NSS modules over AF_UNIX, servers bind [::]). The families
      // ordinary Linux programs create are built; exotic ones need a fact naming them.
      if (a == u.args.end() || a->second.any)
        for (const char *family : {"AF_UNIX", "AF_INET", "AF_INET6"})
          if (const SocketFamily *f = findSocketFamily(family))
            for (const char *o : f->options)
              need(o, std::string("socket family ") + f->name + " (" + u.name + " arg domain not known)");
    } else if (u.name == "ioctl") {
      if (auto a = u.args.find("request"); a != u.args.end())
        for (const std::string &v : a->second.values)
          if (auto n = argumentNumber(u, "request", v))
            if (auto sub = ioctlSubsystem(*n)) need(sub->option, std::string(sub->what) + " ioctl " + v);
    } else if (u.name == "clone") {
      // Threads: CLONE_CHILD_CLEARTID's wake-up on exit (kernel/fork.c mm_release) and every
      // pthread lock and join are futexes; without FUTEX, do_futex is a stub.
      if (const std::string *v = valueWithBit(u, "flags", CloneThread))
        need("FUTEX", "threads (clone flags " + *v + " has CLONE_THREAD)");
      else if (const std::string *v = valueWithBit(u, "flags", CloneChildCleartid))
        need("FUTEX", "clone flags " + *v + " has CLONE_CHILD_CLEARTID");
    } else if (u.name == "mmap") {
      // mm/mmap.c: MAP_HUGETLB maps a hugetlbfs file (hugetlb_file_setup is -ENOSYS without it).
      if (const std::string *v = valueWithBit(u, "flags", MapHugetlb))
        need("HUGETLBFS", "mmap flags " + *v + " has MAP_HUGETLB");
    } else if (u.name == "prctl") {
      // kernel/sys.c: PR_SET_SECCOMP calls prctl_set_seccomp, -EINVAL without SECCOMP.
      if (auto a = u.args.find("option"); a != u.args.end())
        for (const std::string &v : a->second.values)
          if (auto n = argumentNumber(u, "option", v); n && int64_t(*n) == PrSetSeccomp)
            need("SECCOMP", "prctl option PR_SET_SECCOMP");
    }
  }

  for (const std::string &p : fp.kernel.paths)
    for (const PathRule &r : pathRules())
      if (underPrefix(p, r.prefix))
        for (const char *o : r.options) need(o, "path " + p);

  std::sort(req.unknownSyscalls.begin(), req.unknownSyscalls.end());
  return req;
}

void recordKernelFeatures(Footprint &fp) {
  KernelRequirements req = kernelRequirements(fp);
  fp.kernel.features.clear();
  fp.kernel.featureReasons.clear();
  for (const auto &[option, reasons] : req.options) { // std::map: sorted
    std::string name = "CONFIG_" + option;
    fp.kernel.features.push_back(name);
    std::string why;
    for (size_t i = 0; i < reasons.size() && i < 2; ++i) why += (i ? "; " : "") + reasons[i];
    if (reasons.size() > 2) why += "; and " + std::to_string(reasons.size() - 2) + " more";
    fp.kernel.featureReasons[name] = why;
  }
}

std::vector<std::string> syscallsBuiltWith(const std::set<std::string> &enabled) {
  std::vector<std::string> names;
  for (const SyscallBuild &b : syscallBuildTable())
    if (std::any_of(b.alternatives.begin(), b.alternatives.end(),
                    [&](const auto &alt) { return alternativeHolds(alt, enabled); }))
      names.push_back(b.name);
  return names; // the table is sorted by name
}

std::map<std::string, std::string> parseDotConfig(llvm::StringRef text) {
  std::map<std::string, std::string> out;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n', -1, false);
  for (llvm::StringRef line : lines) {
    line = line.trim();
    if (line.starts_with("# CONFIG_") && line.ends_with(" is not set"))
      out[line.drop_front(9).drop_back(11).str()] = "n";
    else if (line.consume_front("CONFIG_")) {
      auto [opt, value] = line.split('=');
      out[opt.str()] = value.str();
    }
  }
  return out;
}

} // namespace bespoke
