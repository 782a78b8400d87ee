// ArgumentSymbols: constant names per recorded argument (see ArgumentSymbols.h). Values from Linux 6.1's
// include/uapi (x86-64) and glibc 2.36.
#include "analyzer/ArgumentSymbols.h"

#include <cstring>

namespace bespoke {

namespace {

struct Symbol {
  const char *name;
  uint32_t value;
};

struct Group {
  const char *syscall; // "" for every syscall with this argument name
  const char *arg;
  const Symbol *symbols;
  size_t count;
};

constexpr Symbol Families[] = {
    {"AF_UNSPEC", 0}, {"AF_UNIX", 1}, {"AF_LOCAL", 1}, {"AF_INET", 2}, {"AF_AX25", 3}, {"AF_IPX", 4},
    {"AF_APPLETALK", 5}, {"AF_NETROM", 6}, {"AF_X25", 9}, {"AF_INET6", 10}, {"AF_ROSE", 11}, {"AF_KEY", 15},
    {"AF_NETLINK", 16}, {"AF_PACKET", 17}, {"AF_RDS", 21}, {"AF_LLC", 26}, {"AF_IB", 27}, {"AF_MPLS", 28},
    {"AF_CAN", 29}, {"AF_TIPC", 30}, {"AF_BLUETOOTH", 31}, {"AF_RXRPC", 33}, {"AF_PHONET", 35},
    {"AF_IEEE802154", 36}, {"AF_CAIF", 37}, {"AF_ALG", 38}, {"AF_NFC", 39}, {"AF_VSOCK", 40}, {"AF_KCM", 41},
    {"AF_QIPCRTR", 42}, {"AF_SMC", 43}, {"AF_XDP", 44}, {"AF_MCTP", 45},
};
constexpr Symbol SocketTypes[] = {
    {"SOCK_STREAM", 1}, {"SOCK_DGRAM", 2}, {"SOCK_RAW", 3}, {"SOCK_RDM", 4}, {"SOCK_SEQPACKET", 5},
    {"SOCK_DCCP", 6}, {"SOCK_PACKET", 10}, {"SOCK_NONBLOCK", 0x800}, {"SOCK_CLOEXEC", 0x80000},
};
constexpr Symbol Protocols[] = {
    {"IPPROTO_IP", 0}, {"IPPROTO_ICMP", 1}, {"IPPROTO_IGMP", 2}, {"IPPROTO_TCP", 6}, {"IPPROTO_UDP", 17},
    {"IPPROTO_IPV6", 41}, {"IPPROTO_ICMPV6", 58}, {"IPPROTO_SCTP", 132}, {"IPPROTO_UDPLITE", 136},
    {"IPPROTO_RAW", 255}, {"IPPROTO_MPTCP", 262},
};
constexpr Symbol Ioctls[] = {
    {"TCGETS", 0x5401}, {"TCSETS", 0x5402}, {"TCSETSW", 0x5403}, {"TCSETSF", 0x5404}, {"TCGETA", 0x5405},
    {"TCSETA", 0x5406}, {"TCSBRK", 0x5409}, {"TCXONC", 0x540a}, {"TCFLSH", 0x540b}, {"TIOCEXCL", 0x540c},
    {"TIOCNXCL", 0x540d}, {"TIOCSCTTY", 0x540e}, {"TIOCGPGRP", 0x540f}, {"TIOCSPGRP", 0x5410},
    {"TIOCOUTQ", 0x5411}, {"TIOCSTI", 0x5412}, {"TIOCGWINSZ", 0x5413}, {"TIOCSWINSZ", 0x5414},
    {"TIOCMGET", 0x5415}, {"TIOCMSET", 0x5418}, {"FIONREAD", 0x541b}, {"TIOCINQ", 0x541b},
    {"TIOCLINUX", 0x541c}, {"TIOCCONS", 0x541d}, {"FIONBIO", 0x5421}, {"TIOCNOTTY", 0x5422},
    {"TIOCSETD", 0x5423}, {"TIOCGETD", 0x5424}, {"TIOCGPTN", 0x80045430}, {"TIOCSPTLCK", 0x40045431},
    {"TIOCGPTPEER", 0x5441}, {"FIONCLEX", 0x5450}, {"FIOCLEX", 0x5451}, {"FIOASYNC", 0x5452},
    {"SIOCGIFNAME", 0x8910}, {"SIOCGIFCONF", 0x8912}, {"SIOCGIFFLAGS", 0x8913}, {"SIOCSIFFLAGS", 0x8914},
    {"SIOCGIFADDR", 0x8915}, {"SIOCGIFNETMASK", 0x891b}, {"SIOCGIFMTU", 0x8921}, {"SIOCGIFHWADDR", 0x8927},
    {"SIOCGIFINDEX", 0x8933}, {"FICLONE", 0x40049409}, {"FS_IOC_GETFLAGS", 0x80086601},
    {"FS_IOC_SETFLAGS", 0x40086602},
};
constexpr Symbol FcntlCmds[] = {
    {"F_DUPFD", 0}, {"F_GETFD", 1}, {"F_SETFD", 2}, {"F_GETFL", 3}, {"F_SETFL", 4}, {"F_GETLK", 5},
    {"F_SETLK", 6}, {"F_SETLKW", 7}, {"F_SETOWN", 8}, {"F_GETOWN", 9}, {"F_SETSIG", 10}, {"F_GETSIG", 11},
    {"F_OFD_GETLK", 36}, {"F_OFD_SETLK", 37}, {"F_OFD_SETLKW", 38}, {"F_SETLEASE", 1024},
    {"F_GETLEASE", 1025}, {"F_NOTIFY", 1026}, {"F_DUPFD_CLOEXEC", 1030}, {"F_SETPIPE_SZ", 1031},
    {"F_GETPIPE_SZ", 1032}, {"F_ADD_SEALS", 1033}, {"F_GET_SEALS", 1034},
};
constexpr Symbol PrctlOptions[] = {
    {"PR_SET_PDEATHSIG", 1}, {"PR_GET_PDEATHSIG", 2}, {"PR_GET_DUMPABLE", 3}, {"PR_SET_DUMPABLE", 4},
    {"PR_GET_KEEPCAPS", 7}, {"PR_SET_KEEPCAPS", 8}, {"PR_SET_NAME", 15}, {"PR_GET_NAME", 16},
    {"PR_GET_SECCOMP", 21}, {"PR_SET_SECCOMP", 22}, {"PR_CAPBSET_READ", 23}, {"PR_CAPBSET_DROP", 24},
    {"PR_GET_SECUREBITS", 27}, {"PR_SET_SECUREBITS", 28}, {"PR_SET_TIMERSLACK", 29},
    {"PR_SET_MM", 35}, {"PR_SET_CHILD_SUBREAPER", 36}, {"PR_GET_CHILD_SUBREAPER", 37},
    {"PR_SET_NO_NEW_PRIVS", 38}, {"PR_GET_NO_NEW_PRIVS", 39}, {"PR_GET_TID_ADDRESS", 40},
    {"PR_SET_THP_DISABLE", 41}, {"PR_GET_THP_DISABLE", 42}, {"PR_CAP_AMBIENT", 47},
    {"PR_SET_VMA", 0x53564d41},
};
constexpr Symbol MadviseAdvice[] = {
    {"MADV_NORMAL", 0}, {"MADV_RANDOM", 1}, {"MADV_SEQUENTIAL", 2}, {"MADV_WILLNEED", 3},
    {"MADV_DONTNEED", 4}, {"MADV_FREE", 8}, {"MADV_REMOVE", 9}, {"MADV_DONTFORK", 10}, {"MADV_DOFORK", 11},
    {"MADV_MERGEABLE", 12}, {"MADV_UNMERGEABLE", 13}, {"MADV_HUGEPAGE", 14}, {"MADV_NOHUGEPAGE", 15},
    {"MADV_DONTDUMP", 16}, {"MADV_DODUMP", 17}, {"MADV_WIPEONFORK", 18}, {"MADV_KEEPONFORK", 19},
    {"MADV_COLD", 20}, {"MADV_PAGEOUT", 21},
};
constexpr Symbol SockoptLevels[] = {
    {"SOL_IP", 0}, {"IPPROTO_IP", 0}, {"SOL_SOCKET", 1}, {"IPPROTO_TCP", 6}, {"SOL_TCP", 6},
    {"IPPROTO_UDP", 17}, {"SOL_UDP", 17}, {"IPPROTO_IPV6", 41}, {"SOL_IPV6", 41}, {"SOL_RAW", 255},
    {"SOL_PACKET", 263}, {"SOL_NETLINK", 270}, {"SOL_ALG", 279}, {"SOL_TLS", 282},
};
constexpr Symbol CloneFlags[] = {
    {"SIGCHLD", 17}, {"CLONE_VM", 0x100}, {"CLONE_FS", 0x200}, {"CLONE_FILES", 0x400},
    {"CLONE_SIGHAND", 0x800}, {"CLONE_PIDFD", 0x1000}, {"CLONE_PTRACE", 0x2000}, {"CLONE_VFORK", 0x4000},
    {"CLONE_PARENT", 0x8000}, {"CLONE_THREAD", 0x10000}, {"CLONE_NEWNS", 0x20000},
    {"CLONE_SYSVSEM", 0x40000}, {"CLONE_SETTLS", 0x80000}, {"CLONE_PARENT_SETTID", 0x100000},
    {"CLONE_CHILD_CLEARTID", 0x200000}, {"CLONE_DETACHED", 0x400000}, {"CLONE_UNTRACED", 0x800000},
    {"CLONE_CHILD_SETTID", 0x1000000}, {"CLONE_NEWCGROUP", 0x2000000}, {"CLONE_NEWUTS", 0x4000000},
    {"CLONE_NEWIPC", 0x8000000}, {"CLONE_NEWUSER", 0x10000000}, {"CLONE_NEWPID", 0x20000000},
    {"CLONE_NEWNET", 0x40000000}, {"CLONE_IO", 0x80000000},
};
constexpr Symbol Prot[] = {
    {"PROT_NONE", 0}, {"PROT_READ", 1}, {"PROT_WRITE", 2}, {"PROT_EXEC", 4}, {"PROT_SEM", 8},
    {"PROT_GROWSDOWN", 0x01000000}, {"PROT_GROWSUP", 0x02000000},
};
constexpr Symbol MapFlags[] = {
    {"MAP_SHARED", 1}, {"MAP_PRIVATE", 2}, {"MAP_SHARED_VALIDATE", 3}, {"MAP_FIXED", 0x10},
    {"MAP_ANONYMOUS", 0x20}, {"MAP_ANON", 0x20}, {"MAP_32BIT", 0x40}, {"MAP_GROWSDOWN", 0x100},
    {"MAP_DENYWRITE", 0x800}, {"MAP_EXECUTABLE", 0x1000}, {"MAP_LOCKED", 0x2000}, {"MAP_NORESERVE", 0x4000},
    {"MAP_POPULATE", 0x8000}, {"MAP_NONBLOCK", 0x10000}, {"MAP_STACK", 0x20000}, {"MAP_HUGETLB", 0x40000},
    {"MAP_SYNC", 0x80000}, {"MAP_FIXED_NOREPLACE", 0x100000},
};
constexpr Symbol OpenFlags[] = {
    {"O_RDONLY", 0}, {"O_WRONLY", 1}, {"O_RDWR", 2}, {"O_CREAT", 0x40}, {"O_EXCL", 0x80},
    {"O_NOCTTY", 0x100}, {"O_TRUNC", 0x200}, {"O_APPEND", 0x400}, {"O_NONBLOCK", 0x800},
    {"O_DSYNC", 0x1000}, {"FASYNC", 0x2000}, {"O_DIRECT", 0x4000}, {"O_LARGEFILE", 0x8000},
    {"O_DIRECTORY", 0x10000}, {"O_NOFOLLOW", 0x20000}, {"O_NOATIME", 0x40000}, {"O_CLOEXEC", 0x80000},
    {"O_SYNC", 0x101000}, {"O_PATH", 0x200000}, {"O_TMPFILE", 0x410000},
};
constexpr Symbol Personas[] = {
    {"PER_LINUX", 0}, {"UNAME26", 0x0020000}, {"ADDR_NO_RANDOMIZE", 0x0040000}, {"FDPIC_FUNCPTRS", 0x0080000},
    {"MMAP_PAGE_ZERO", 0x0100000}, {"ADDR_COMPAT_LAYOUT", 0x0200000}, {"READ_IMPLIES_EXEC", 0x0400000},
    {"ADDR_LIMIT_32BIT", 0x0800000}, {"SHORT_INODE", 0x1000000}, {"WHOLE_SECONDS", 0x2000000},
    {"STICKY_TIMEOUTS", 0x4000000}, {"ADDR_LIMIT_3GB", 0x8000000}, {"PER_LINUX32", 0x0008},
};

#define GROUP(s, a, table) {s, a, table, sizeof table / sizeof table[0]}
constexpr Group Groups[] = {
    GROUP("", "domain", Families),          GROUP("", "type", SocketTypes),
    GROUP("", "protocol", Protocols),       GROUP("ioctl", "request", Ioctls),
    GROUP("fcntl", "cmd", FcntlCmds),       GROUP("prctl", "option", PrctlOptions),
    GROUP("madvise", "advice", MadviseAdvice), GROUP("setsockopt", "level", SockoptLevels),
    GROUP("clone", "flags", CloneFlags),    GROUP("", "prot", Prot),
    GROUP("mmap", "flags", MapFlags),       GROUP("open", "flags", OpenFlags),
    GROUP("openat", "flags", OpenFlags),    GROUP("personality", "persona", Personas),
};
#undef GROUP

} // namespace

std::optional<uint32_t> argumentSymbol(const ArgumentSpec &spec, std::string_view name) {
  std::string alias;
  if (name.substr(0, 3) == "PF_") { // PF_INET is AF_INET
    alias = "AF_" + std::string(name.substr(3));
    name = alias;
  }
  for (const Group &g : Groups) {
    if ((*g.syscall && strcmp(g.syscall, spec.syscall) != 0) || strcmp(g.arg, spec.name) != 0) continue;
    for (size_t i = 0; i < g.count; ++i)
      if (name == g.symbols[i].name) return g.symbols[i].value;
  }
  return std::nullopt;
}

std::optional<std::string> argumentSymbolName(const ArgumentSpec &spec, uint32_t value) {
  for (const Group &g : Groups) {
    if ((*g.syscall && strcmp(g.syscall, spec.syscall) != 0) || strcmp(g.arg, spec.name) != 0) continue;
    for (size_t i = 0; i < g.count; ++i)
      if (g.symbols[i].value == value) return std::string(g.symbols[i].name);
  }
  return std::nullopt;
}

std::optional<uint32_t> argumentTerms(const ArgumentSpec &spec, std::string_view text,
                                      const std::function<std::optional<uint32_t>(std::string_view)> &number,
                                      std::string *bad) {
  uint32_t value = 0;
  for (size_t start = 0;;) {
    const size_t bar = text.find('|', start);
    const std::string_view term = text.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start);
    std::optional<uint32_t> v = argumentSymbol(spec, term);
    if (!v) v = number(term);
    if (!v) {
      if (bad) *bad = std::string(term);
      return std::nullopt;
    }
    value |= *v;
    if (bar == std::string_view::npos) return value;
    start = bar + 1;
  }
}

} // namespace bespoke
