// AllowedPaths: one interpreter run per unconditional syscall and per (conditional syscall, alternative).
#include "bench/AllowedPaths.h"

#include "seccomp/Interpreter.h"

namespace bespoke {

namespace {

llvm::Error fail(const std::string &what, const std::string &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", what.c_str(), msg.c_str());
}

std::string nameOf(const SyscallRule &r) { return r.name.empty() ? "syscall " + std::to_string(r.nr) : r.name; }

} // namespace

std::optional<std::array<uint64_t, 6>> satisfying(const std::vector<ArgCondition> &alt) {
  std::array<uint64_t, 6> args{};
  for (const ArgCondition &c : alt) {
    if (c.op == ArgCondition::MaskedEqual && (c.a & ~c.mask))
      return std::nullopt;
    if (c.op == ArgCondition::InRange && c.a > c.b)
      return std::nullopt;
    args[c.arg] = c.a;
  }
  return args;
}

llvm::Expected<PathReport> measureAllowedPaths(const BpfProgram &prog, const Policy &p, const std::string &what) {
  PathReport rep;
  constexpr uint32_t Allow = SECCOMP_RET_ALLOW;
  auto run = [&](const SyscallRule &r, const uint64_t *args, Paths &into) -> llvm::Error {
    BpfRun b = runBpf(prog, static_cast<uint32_t>(r.nr), Policy::AuditArchX86_64, 0, args);
    if (!b.ok)
      return fail(what, "interpreter: " + b.error);
    if (b.ret != Allow || p.decide(static_cast<uint32_t>(r.nr), Policy::AuditArchX86_64, args).value() != Allow)
      return fail(what, nameOf(r) + " is not allowed as the policy says");
    into.add(b.steps, r.nr);
    return llvm::Error::success();
  };
  for (const SyscallRule &r : p.allowed) {
    if (r.action.kind != Action::Allow)
      continue;
    if (r.alternatives.empty()) {
      const uint64_t zero[6] = {};
      if (llvm::Error e = run(r, zero, rep.uncond))
        return e;
      continue;
    }
    for (const auto &alt : r.alternatives) {
      std::optional<std::array<uint64_t, 6>> args = satisfying(alt);
      if (!args)
        continue;
      // satisfying() takes each condition's lower value; two conditions on one argument could defeat it.
      for (const ArgCondition &c : alt)
        if (!c.holds(args->data()))
          return fail(what, "no arguments found for an alternative of " + nameOf(r));
      if (llvm::Error e = run(r, args->data(), rep.cond))
        return e;
    }
  }
  return rep;
}

} // namespace bespoke
