// Policy: the one table of seccomp return actions and the reference decision a filter must agree with.

#include "seccomp/Policy.h"

#include <charconv>
#include <cstdio>

namespace bespoke {

namespace {

constexpr uint16_t kMaxErrno = 4095; // MAX_ERRNO: larger values are not errors to libc

// Every action once: its SECCOMP_RET_* value, whether the low 16 bits carry data, and its names.
struct ActionRow {
  Action::Kind kind;
  uint32_t ret;
  bool hasData;
  const char *name;       // as bespoke reads and prints it (with ":N" when it has data)
  const char *libseccomp; // SCMP_ACT_*, as OCI profiles name it
};
constexpr ActionRow kActions[] = {
    {Action::KillProcess, SECCOMP_RET_KILL_PROCESS, false, "kill-process", "SCMP_ACT_KILL_PROCESS"},
    {Action::KillThread, SECCOMP_RET_KILL_THREAD, false, "kill-thread", "SCMP_ACT_KILL_THREAD"},
    {Action::Trap, SECCOMP_RET_TRAP, false, "trap", "SCMP_ACT_TRAP"},
    {Action::Errno, SECCOMP_RET_ERRNO, true, "errno", "SCMP_ACT_ERRNO"},
    {Action::Trace, SECCOMP_RET_TRACE, true, "trace", "SCMP_ACT_TRACE"},
    {Action::Log, SECCOMP_RET_LOG, false, "log", "SCMP_ACT_LOG"},
    {Action::Allow, SECCOMP_RET_ALLOW, false, "allow", "SCMP_ACT_ALLOW"},
    {Action::UserNotif, SECCOMP_RET_USER_NOTIF, false, "user-notif", "SCMP_ACT_NOTIFY"},
};

const ActionRow &row(Action::Kind k) {
  for (const ActionRow &r : kActions)
    if (r.kind == k)
      return r;
  return kActions[0];
}

} // namespace

uint32_t Action::value() const {
  const ActionRow &r = row(kind);
  return r.hasData ? r.ret | data : r.ret;
}

std::optional<Action> Action::fromValue(uint32_t v) {
  uint16_t data = static_cast<uint16_t>(v & SECCOMP_RET_DATA);
  for (const ActionRow &r : kActions)
    if ((v & ~SECCOMP_RET_DATA) == r.ret)
      return r.hasData || data == 0 ? std::optional<Action>(Action{r.kind, r.hasData ? data : uint16_t(0)})
                                    : std::nullopt;
  return std::nullopt;
}

std::string Action::name() const {
  const ActionRow &r = row(kind);
  return r.hasData ? std::string(r.name) + ":" + std::to_string(data) : r.name;
}

const char *Action::libseccompName() const { return row(kind).libseccomp; }

std::optional<Action> parseAction(const std::string &text) {
  // Every action without data by its name but user-notif (it needs a supervisor); of those with data only
  // errno (trace needs a tracer).
  for (const ActionRow &r : kActions)
    if (!r.hasData && r.kind != Action::UserNotif && text == r.name)
      return Action{r.kind, 0};
  const std::string prefix = "errno:";
  if (text.compare(0, prefix.size(), prefix) == 0 && text.size() > prefix.size() &&
      text.size() <= prefix.size() + 4) {
    const char *first = text.data() + prefix.size(), *last = text.data() + text.size();
    unsigned n = 0;
    auto [ptr, ec] = std::from_chars(first, last, n, 10);
    if (ec == std::errc() && ptr == last && n <= kMaxErrno)
      return Action{Action::Errno, static_cast<uint16_t>(n)};
  }
  return std::nullopt;
}

std::string actionText(uint32_t value) {
  char hex[16];
  snprintf(hex, sizeof hex, "0x%08x", value);
  std::optional<Action> a = Action::fromValue(value);
  return a ? a->name() + " (" + hex + ")" : std::string(hex);
}

bool ArgCondition::holds(const uint64_t args[6]) const {
  if (arg > 5)
    return false;
  uint64_t v = args[arg];
  switch (op) {
  case Equal:
    return v == a;
  case MaskedEqual:
    return (v & mask) == a;
  case InRange:
    return a <= v && v <= b;
  }
  return false;
}

bool SyscallRule::unconditional() const {
  if (alternatives.empty())
    return true;
  for (const auto &alt : alternatives)
    if (alt.empty())
      return true;
  return false;
}

uint8_t SyscallRule::checkedArguments() const {
  uint8_t mask = 0;
  for (const auto &alt : alternatives)
    for (const ArgCondition &c : alt)
      if (c.arg < 6)
        mask |= uint8_t(1u << c.arg);
  return mask;
}

const SyscallRule *Policy::ruleFor(uint32_t nr) const {
  for (const SyscallRule &r : allowed)
    if (r.nr >= 0 && static_cast<uint32_t>(r.nr) == nr) return &r;
  return nullptr;
}

Action Policy::decide(uint32_t nr, uint32_t arch, const uint64_t args[6]) const {
  if (arch != AuditArchX86_64 || (nr >= X32SyscallBit && nr != SkippedSyscall))
    return badArchAction;
  // `allowed` is sorted by nr and unique; a linear scan keeps this reference obviously right.
  for (const SyscallRule &r : allowed) {
    if (r.nr < 0 || static_cast<uint32_t>(r.nr) != nr)
      continue;
    if (r.alternatives.empty())
      return r.action;
    for (const auto &alt : r.alternatives) {
      bool all = true;
      for (const ArgCondition &c : alt)
        if (!c.holds(args)) {
          all = false;
          break;
        }
      if (all)
        return r.action;
    }
  }
  return defaultAction;
}

Action Policy::decide(const seccomp_data &d) const {
  uint64_t args[6];
  for (int i = 0; i < 6; ++i)
    args[i] = d.args[i];
  return decide(static_cast<uint32_t>(d.nr), d.arch, args);
}

} // namespace bespoke
