// KernelEntries: the syscalls no program code calls but a running process can still issue.
#include "analyzer/KernelEntries.h"

#include "analyzer/SyscallTable.h"

#include <algorithm>

namespace bespoke {

const std::vector<KernelIssuedSyscall> &kernelIssuedSyscalls() {
  static const std::vector<KernelIssuedSyscall> list = {
      {"clock_getres", "kernel: vDSO fallback"},
      {"clock_gettime", "kernel: vDSO fallback"},
      {"gettimeofday", "kernel: vDSO fallback"},
      {"restart_syscall", "kernel: signal restart"},
  };
  return list;
}

bool isKernelIssued(std::string_view name) {
  const auto &l = kernelIssuedSyscalls();
  return std::any_of(l.begin(), l.end(), [&](const KernelIssuedSyscall &k) { return k.name == name; });
}

bool isKernelRoot(std::string_view root) { return root.substr(0, 7) == "kernel:"; }

bool onlyKernelIssued(const SyscallUse &s) {
  return !s.evidence.empty() &&
         std::all_of(s.evidence.begin(), s.evidence.end(), [](const Evidence &e) { return isKernelRoot(e.root); });
}

void addKernelIssuedSyscalls(Footprint &fp) {
  for (const KernelIssuedSyscall &k : kernelIssuedSyscalls()) {
    auto at = std::lower_bound(fp.syscalls.begin(), fp.syscalls.end(), k.name,
                               [](const SyscallUse &u, std::string_view n) { return u.name < n; });
    if (at != fp.syscalls.end() && at->name == k.name) continue;
    SyscallUse u;
    u.name = std::string(k.name);
    u.nr = *syscallNumber(k.name);
    u.evidence.push_back(Evidence{std::string(k.root), {}});
    fp.syscalls.insert(at, std::move(u));
  }
}

int vsyscallNumber(uint64_t address) {
  switch (address) {
  case 0xffffffffff600000ULL: return *syscallNumber("gettimeofday");
  case 0xffffffffff600400ULL: return *syscallNumber("time");
  case 0xffffffffff600800ULL: return *syscallNumber("getcpu");
  default: return -1;
  }
}

} // namespace bespoke
