// ManifestPolicy: Manifest -> Policy, and the execve an installed-before-exec filter must allow.
#include "extension-gen/ManifestPolicy.h"

#include "analyzer/KernelEntries.h"
#include "analyzer/SyscallTable.h"

#include <algorithm>
#include <map>
#include <optional>

namespace bespoke {

llvm::Expected<Policy> policyFromManifest(const Manifest &m, Action defaultAction) {
  Policy p;
  p.defaultAction = defaultAction;
  p.badArchAction = Action{Action::KillProcess, 0};
  std::map<int, std::string> byNr;
  for (const SyscallUse &s : m.footprint.syscalls) {
    std::optional<int> nr = syscallNumber(s.name);
    if (!nr)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "manifest syscall '%s' is not an x86-64 system call",
                                     s.name.c_str());
    if (s.nr >= 0 && s.nr != *nr)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "manifest syscall '%s' has number %d, but x86-64 says %d",
                                     s.name.c_str(), s.nr, *nr);
    byNr.emplace(*nr, s.name);
  }
  // A manifest written before bespoke listed kernel-issued syscalls (restart_syscall, ...) still needs them.
  for (const KernelIssuedSyscall &k : kernelIssuedSyscalls())
    byNr.emplace(*syscallNumber(k.name), std::string(k.name));
  for (const auto &[nr, name] : byNr) {
    SyscallRule r;
    r.nr = nr;
    r.name = name;
    p.allowed.push_back(std::move(r)); // argument facts are not used yet: unconditional
  }
  return p;
}

ExecveGrant grantExecve(Policy &p) {
  const int execveNr = *syscallNumber("execve");
  auto at = std::lower_bound(p.allowed.begin(), p.allowed.end(), execveNr,
                             [](const SyscallRule &r, int nr) { return r.nr < nr; });
  if (at == p.allowed.end() || at->nr != execveNr) {
    p.allowed.insert(at, SyscallRule{execveNr, "execve", {}});
    return ExecveGrant::Added;
  }
  if (at->unconditional())
    return ExecveGrant::AlreadyAllowed;
  at->alternatives.clear();
  return ExecveGrant::Widened;
}

} // namespace bespoke
