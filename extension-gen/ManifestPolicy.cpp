// ManifestPolicy: Manifest -> Policy, and the execve an installed-before-exec filter must allow.
#include "extension-gen/ManifestPolicy.h"

#include "analyzer/ArgumentSpecs.h"
#include "analyzer/KernelEntries.h"
#include "extension-gen/ArgumentConditions.h"
#include "analyzer/SyscallTable.h"

#include <algorithm>
#include <map>
#include <optional>

namespace bespoke {

llvm::Expected<Policy> policyFromManifest(const Manifest &m, Action defaultAction, const PolicyOptions &opts,
                                          std::vector<std::string> *notes) {
  Policy p;
  p.defaultAction = defaultAction;
  p.badArchAction = Action{Action::KillProcess, 0};
  std::map<int, const SyscallUse *> byNr; // the first entry of a name
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
    byNr.emplace(*nr, &s);
  }
  // The reviewer's bound on socket families (network.families), for a `domain` the analysis left `any`;
  // read, like the facts, only when arguments are checked.
  const std::vector<std::string> &families = m.footprint.network.families;
  const ArgumentSpec *domain = argumentSpecOf("socket", "domain");
  for (const std::string &f : opts.argumentConditions ? families : std::vector<std::string>{}) {
    auto v = domain ? parseArgumentValue(f, *domain) : parseArgumentValue(f);
    if (!v)
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "manifest network.families: %s",
                                     llvm::toString(v.takeError()).c_str());
  }
  std::map<int, std::string> names;
  for (const auto &[nr, use] : byNr)
    names.emplace(nr, use->name);
  // A manifest written before bespoke listed kernel-issued syscalls (restart_syscall, ...) still needs them.
  for (const KernelIssuedSyscall &k : kernelIssuedSyscalls())
    names.emplace(*syscallNumber(k.name), std::string(k.name));
  for (const auto &[nr, name] : names) {
    SyscallRule r;
    r.nr = nr;
    r.name = name;
    auto use = byNr.find(nr);
    // Kernel-issued syscalls are made by the kernel on the task's behalf: never checked.
    if (opts.argumentConditions && use != byNr.end() && !isKernelIssued(name)) {
      std::map<std::string, ArgFact> args = use->second->args;
      if ((name == "socket" || name == "socketpair") && !families.empty()) {
        auto domain = args.find("domain");
        if (domain == args.end() || domain->second.any) {
          args["domain"] = ArgFact{false, families, {}, {}};
          if (notes)
            notes->push_back(name + ": domain narrowed from any to the reviewer's network.families");
        }
      }
      auto c = conditionsFromFacts(name, args);
      if (!c)
        return llvm::createStringError(llvm::inconvertibleErrorCode(), "manifest %s",
                                       llvm::toString(c.takeError()).c_str());
      r.alternatives = std::move(c->alternatives);
      if (notes)
        notes->insert(notes->end(), c->notes.begin(), c->notes.end());
    }
    p.allowed.push_back(std::move(r));
  }
  if (!opts.argumentConditions)
    return p;

  // Over the budget: the syscall whose checks are largest goes unconditional (the lowest nr on a tie).
  for (;;) {
    size_t total = 0;
    SyscallRule *largest = nullptr;
    for (SyscallRule &r : p.allowed) {
      if (r.alternatives.empty())
        continue;
      size_t n = checkInstructions(r.alternatives);
      total += n;
      if (!largest || n > checkInstructions(largest->alternatives))
        largest = &r;
    }
    if (total <= ArgumentCheckBudget)
      break;
    if (notes)
      notes->push_back(largest->name + ": arguments not checked: the filter's argument checks would exceed " +
                       std::to_string(ArgumentCheckBudget) + " instructions");
    largest->alternatives.clear();
  }

  // glibc's pthread_create, fork and posix_spawn try clone3 first and fall back to clone on ENOSYS; asked
  // for only (PolicyOptions::clone3Enosys), since other callers of clone3 may not fall back.
  auto rule = [&](const char *name) -> SyscallRule * {
    for (SyscallRule &r : p.allowed)
      if (r.name == name)
        return &r;
    return nullptr;
  };
  SyscallRule *clone = rule("clone"), *clone3 = rule("clone3");
  if (opts.clone3Enosys && clone && clone3 && !clone->unconditional() && byNr.count(clone3->nr))
    clone3->action = Action{Action::Errno, Clone3Errno};
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
  if (at->unconditional() && at->action.kind == Action::Allow)
    return ExecveGrant::AlreadyAllowed;
  at->alternatives.clear();
  at->action = Action{Action::Allow, 0};
  return ExecveGrant::Widened;
}

} // namespace bespoke
