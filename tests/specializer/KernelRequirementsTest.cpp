// Tests of the syscall -> Kconfig table (well-known cases, coverage of the analyzer's syscall table)
// and of kernelRequirements / syscallsBuiltWith on hand-built footprints.

#include "specializer/KernelRequirements.h"

#include "analyzer/SyscallTable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

using namespace bespoke;

namespace {

using Alternatives = std::vector<std::vector<std::string>>;

Alternatives alternativesOf(const std::string &name) {
  const SyscallBuild *b = syscallBuild(name);
  EXPECT_NE(b, nullptr) << name;
  return b ? b->alternatives : Alternatives{{"<missing>"}};
}

bool contains(const std::vector<std::string> &v, const std::string &s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

SyscallUse use(const std::string &name, std::map<std::string, ArgFact> args = {}) {
  SyscallUse u;
  u.name = name;
  u.nr = syscallNumber(name).value_or(-1);
  u.args = std::move(args);
  return u;
}

ArgFact values(std::vector<std::string> v) {
  ArgFact f;
  f.values = std::move(v);
  return f;
}

} // namespace

TEST(SyscallKconfigTable, WellKnownOptionalSyscalls) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2"}, "EPOLL"},
      {{"eventfd", "eventfd2"}, "EVENTFD"},
      {{"signalfd", "signalfd4"}, "SIGNALFD"},
      {{"timerfd_create", "timerfd_settime", "timerfd_gettime"}, "TIMERFD"},
      {{"io_uring_setup", "io_uring_enter", "io_uring_register"}, "IO_URING"},
      {{"bpf"}, "BPF_SYSCALL"},
      {{"futex", "set_robust_list", "get_robust_list"}, "FUTEX"},
      {{"mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr"}, "POSIX_MQUEUE"},
      {{"msgget", "semget", "shmget"}, "SYSVIPC"},
      {{"socket", "bind", "connect", "accept4", "sendmsg"}, "NET"},
      {{"fanotify_init", "fanotify_mark"}, "FANOTIFY"},
      {{"inotify_init1", "inotify_add_watch"}, "INOTIFY_USER"},
      {{"memfd_secret"}, "SECRETMEM"},
      {{"memfd_create"}, "MEMFD_CREATE"},
      {{"landlock_create_ruleset"}, "SECURITY_LANDLOCK"},
      {{"ioperm", "iopl"}, "X86_IOPL_IOPERM"}, // defined as -ENOSYS stubs without it
      {{"timer_create"}, "POSIX_TIMERS"},      // SYS_NI aliases in kernel/time/posix-stubs.c without it
      {{"pkey_alloc"}, "X86_INTEL_MEMORY_PROTECTION_KEYS"}, // through ARCH_HAS_PKEYS, which it selects
  };
  for (const auto &[names, option] : cases)
    for (const std::string &n : names) EXPECT_EQ(alternativesOf(n), (Alternatives{{option}})) << n;
  EXPECT_EQ(alternativesOf("delete_module"), (Alternatives{{"MODULES", "MODULE_UNLOAD"}}));
}

TEST(SyscallKconfigTable, AlwaysBuiltAndNeverBuilt) {
  for (const char *n : {"read", "write", "openat", "mmap", "exit_group", "close", "clone", "execve", "rt_sigreturn",
                        "fork", "ptrace", "mount", "getrandom", "rt_sigaction", "perf_event_open"}) {
    EXPECT_EQ(alternativesOf(n), (Alternatives{{}})) << n;
    EXPECT_TRUE(syscallBuild(n)->inDebianGeneric) << n;
  }
  // No entry point in syscall_64.tbl, sys_ni_syscall, or no definition at all.
  for (const char *n : {"uselib", "tuxcall", "vserver", "_sysctl", "lookup_dcookie", "create_module"}) {
    EXPECT_TRUE(alternativesOf(n).empty()) << n;
    EXPECT_FALSE(syscallBuild(n)->inDebianGeneric) << n;
  }
}

TEST(SyscallKconfigTable, SortedUniqueWellFormed) {
  const auto &t = syscallBuildTable();
  ASSERT_GT(t.size(), 350u);
  const std::regex option("!?[A-Z0-9_]+");
  for (size_t i = 0; i < t.size(); ++i) {
    if (i) {
      EXPECT_LT(t[i - 1].name, t[i].name);
    }
    EXPECT_EQ(syscallBuild(t[i].name), &t[i]);
    for (const auto &alt : t[i].alternatives)
      for (const std::string &o : alt) EXPECT_TRUE(std::regex_match(o, option)) << t[i].name << ": " << o;
  }
  EXPECT_EQ(syscallBuild("not_a_syscall"), nullptr);
}

TEST(SyscallKconfigTable, CoversTheAnalyzersSyscallTable) {
  // Both come from Linux 6.1's x86-64 table (common and 64 ABIs): no name may be missing.
  std::vector<std::string> missing;
  for (const SyscallEntry &e : x86_64Syscalls())
    if (!syscallBuild(e.name)) missing.push_back(std::string(e.name));
  EXPECT_TRUE(missing.empty()) << "first missing: " << (missing.empty() ? "" : missing.front());
  EXPECT_EQ(syscallBuildTable().size(), x86_64Syscalls().size());
}

TEST(SyscallsBuiltWith, EmptyConfigKeepsOnlyAlwaysBuilt) {
  std::vector<std::string> none = syscallsBuiltWith({});
  EXPECT_TRUE(contains(none, "read"));
  EXPECT_TRUE(contains(none, "exit_group"));
  EXPECT_FALSE(contains(none, "epoll_wait"));
  EXPECT_FALSE(contains(none, "socket"));
  EXPECT_FALSE(contains(none, "uselib"));
  EXPECT_TRUE(std::is_sorted(none.begin(), none.end()));

  std::vector<std::string> epoll = syscallsBuiltWith({"EPOLL"});
  EXPECT_TRUE(contains(epoll, "epoll_wait"));
  EXPECT_EQ(epoll.size(), none.size() + 6); // epoll_create, _create1, _ctl, _wait, _pwait, _pwait2
  EXPECT_FALSE(contains(syscallsBuiltWith({"MODULE_UNLOAD"}), "delete_module")); // needs MODULES too
}

TEST(SyscallsBuiltWith, EveryOptionOnBuildsEverySyscallThatCanBeBuilt) {
  std::set<std::string> all;
  size_t buildable = 0, debian = 0;
  for (const SyscallBuild &b : syscallBuildTable()) {
    buildable += !b.alternatives.empty();
    debian += b.inDebianGeneric;
    for (const auto &alt : b.alternatives)
      for (const std::string &o : alt)
        if (o[0] != '!') all.insert(o);
  }
  EXPECT_EQ(syscallsBuiltWith(all).size(), buildable);
  EXPECT_EQ(debian, buildable); // Debian's generic kernel builds every optional syscall in
}

TEST(KernelRequirements, SyscallsArgumentFactsAndPaths) {
  Footprint fp;
  fp.syscalls = {use("openat"), use("read"),
                 use("socket", {{"domain", values({"2"})}, {"type", values({"0x1"})}})};
  fp.kernel.paths = {"/proc/self/maps"};
  KernelRequirements req = kernelRequirements(fp);
  EXPECT_TRUE(req.unknownSyscalls.empty());
  ASSERT_EQ(req.options.size(), 3u);
  EXPECT_EQ(req.options.at("INET"), (std::vector<std::string>{"socket family AF_INET (socket arg domain)"}));
  EXPECT_EQ(req.options.at("NET"),
            (std::vector<std::string>{"syscall socket", "socket family AF_INET (socket arg domain)"}));
  EXPECT_EQ(req.options.at("PROC_FS"), (std::vector<std::string>{"path /proc/self/maps"}));
}

TEST(KernelRequirements, SymbolicFamiliesThreadsHugePagesAndUnknownSyscalls) {
  Footprint fp;
  fp.syscalls = {use("clone", {{"flags", values({"0x3d0f00"})}}),
                 use("epoll_create1"),
                 use("mmap", {{"flags", values({"0x22", "0x40022"})}, {"prot", values({"0x3"})}}),
                 use("not_a_syscall"),
                 use("socketpair", {{"domain", values({"AF_UNIX"})}}),
                 use("socket", {{"domain", values({"10", "AF_NETLINK", "PF_PACKET"})}}),
                 use("uselib")};
  fp.kernel.paths = {"/dev/net/tun", "/dev/shm/x", "/proc/sys/kernel/pid_max", "/sys/fs/cgroup", "/system"};
  KernelRequirements req = kernelRequirements(fp);
  EXPECT_EQ(req.unknownSyscalls, (std::vector<std::string>{"not_a_syscall"}));
  std::vector<std::string> names;
  for (const auto &[o, reasons] : req.options) names.push_back(o);
  EXPECT_EQ(names, (std::vector<std::string>{"CGROUPS", "EPOLL", "FUTEX", "HUGETLBFS", "INET", "IPV6", "NET",
                                             "PACKET", "PROC_FS", "PROC_SYSCTL", "SHMEM", "SYSFS", "TMPFS", "TUN",
                                             "UNIX"}));
  EXPECT_EQ(req.options.at("FUTEX"), (std::vector<std::string>{"threads (clone flags 0x3d0f00 has CLONE_THREAD)"}));
  EXPECT_EQ(req.options.at("HUGETLBFS"), (std::vector<std::string>{"mmap flags 0x40022 has MAP_HUGETLB"}));
  EXPECT_EQ(req.options.at("UNIX"), (std::vector<std::string>{"socket family AF_UNIX (socketpair arg domain)"}));
  EXPECT_TRUE(contains(req.options.at("NET"), "socket family AF_NETLINK (socket arg domain)"));
  EXPECT_EQ(req.options.at("PROC_FS"), (std::vector<std::string>{"path /proc/sys/kernel/pid_max"}));
  EXPECT_EQ(req.options.at("EPOLL"), (std::vector<std::string>{"syscall epoll_create1"}));
}

// Flags written as constant names (analyzer/ArgumentSymbols.h) count like their numbers.
TEST(KernelRequirements, FlagsWrittenAsConstantNames) {
  Footprint fp;
  fp.syscalls = {use("clone", {{"flags", values({"CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD"})}}),
                 use("mmap", {{"flags", values({"MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB"})}}),
                 use("prctl", {{"option", values({"PR_SET_SECCOMP"})}})};
  KernelRequirements req = kernelRequirements(fp);
  EXPECT_EQ(req.options.at("FUTEX"),
            (std::vector<std::string>{"threads (clone flags CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD "
                                      "has CLONE_THREAD)"}));
  EXPECT_EQ(req.options.at("HUGETLBFS"),
            (std::vector<std::string>{"mmap flags MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB has MAP_HUGETLB"}));
  EXPECT_TRUE(req.options.count("SECCOMP"));
  fp.syscalls = {use("clone", {{"flags", values({"CLONE_VM|SIGCHLD"})}})};
  EXPECT_FALSE(kernelRequirements(fp).options.count("FUTEX"));
}

TEST(KernelRequirements, UnknownSocketFamiliesBuildTheCommonOnes) {
  Footprint fp;
  ArgFact any;
  any.any = true;
  fp.syscalls = {use("socket", {{"domain", any}}), use("clone", {{"flags", values({"0x11"})}})};
  KernelRequirements req = kernelRequirements(fp);
  std::vector<std::string> names;
  for (const auto &[o, reasons] : req.options) names.push_back(o);
  EXPECT_EQ(names, (std::vector<std::string>{"INET", "IPV6", "NET", "UNIX"}));
  EXPECT_EQ(req.options.at("UNIX"), (std::vector<std::string>{"socket family AF_UNIX (socket arg domain not known)"}));
  // No facts at all (a binary manifest today): the same.
  fp.syscalls = {use("socketpair")};
  req = kernelRequirements(fp);
  EXPECT_EQ(req.options.at("UNIX"),
            (std::vector<std::string>{"socket family AF_UNIX (socketpair arg domain not known)"}));
  EXPECT_EQ(req.options.count("IPV6"), 1u);
  // Known families only: nothing more.
  fp.syscalls = {use("socket", {{"domain", values({"AF_INET"})}})};
  req = kernelRequirements(fp);
  EXPECT_EQ(req.options.count("UNIX"), 0u);
  EXPECT_EQ(req.options.count("IPV6"), 0u);
}

TEST(KernelRequirements, IoctlRequestsNameTheirSubsystem) {
  Footprint fp;
  fp.syscalls = {use("ioctl", {{"request", values({"0x5401", "TIOCGWINSZ", "0x8933", "0x400454ca", "0x1234"})}})};
  KernelRequirements r = kernelRequirements(fp);
  ASSERT_TRUE(r.options.count("TTY"));
  EXPECT_TRUE(contains(r.options["TTY"], "terminal ioctl 0x5401"));
  EXPECT_TRUE(contains(r.options["TTY"], "terminal ioctl TIOCGWINSZ")) << "a constant's name is read too";
  ASSERT_TRUE(r.options.count("NET"));
  EXPECT_TRUE(contains(r.options["NET"], "socket ioctl 0x8933")); // SIOCGIFINDEX
  ASSERT_TRUE(r.options.count("TUN"));
  EXPECT_TRUE(contains(r.options["TUN"], "tun ioctl 0x400454ca")); // TUNSETIFF
  for (const auto &[option, reasons] : r.options)
    for (const std::string &why : reasons) EXPECT_EQ(why.find("0x1234"), std::string::npos) << option;
  // An unknown request (any) adds nothing.
  ArgFact any;
  any.any = true;
  fp.syscalls = {use("ioctl", {{"request", any}})};
  r = kernelRequirements(fp);
  EXPECT_FALSE(r.options.count("TTY"));
}

TEST(KernelRequirements, ManifestFeaturesAreTheRequirementsWithReasons) {
  Footprint fp;
  fp.syscalls = {use("epoll_create1"), use("socket", {{"domain", values({"AF_INET6"})}})};
  recordKernelFeatures(fp);
  KernelRequirements r = kernelRequirements(fp);
  ASSERT_EQ(fp.kernel.features.size(), r.options.size());
  size_t i = 0;
  for (const auto &[option, reasons] : r.options) {
    EXPECT_EQ(fp.kernel.features[i++], "CONFIG_" + option);
    EXPECT_EQ(fp.kernel.featureReasons["CONFIG_" + option].find(reasons[0]), 0u) << option;
  }
  EXPECT_TRUE(contains(fp.kernel.features, "CONFIG_EPOLL"));
  EXPECT_TRUE(contains(fp.kernel.features, "CONFIG_IPV6"));
  EXPECT_EQ(fp.kernel.featureReasons["CONFIG_IPV6"], "socket family AF_INET6 (socket arg domain)");
}
