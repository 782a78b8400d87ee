// Policy: seccomp return actions and the reference decision a compiled filter must agree with.

#include "extension-gen/Policy.h"

#include <charconv>

namespace bespoke {

namespace {
constexpr uint32_t kRetKillProcess = 0x80000000U; // SECCOMP_RET_KILL_PROCESS
constexpr uint32_t kRetKillThread = 0x00000000U;  // SECCOMP_RET_KILL_THREAD
constexpr uint32_t kRetTrap = 0x00030000U;        // SECCOMP_RET_TRAP
constexpr uint32_t kRetErrno = 0x00050000U;       // SECCOMP_RET_ERRNO
constexpr uint32_t kRetTrace = 0x7ff00000U;       // SECCOMP_RET_TRACE
constexpr uint32_t kRetLog = 0x7ffc0000U;         // SECCOMP_RET_LOG
constexpr uint32_t kRetAllow = 0x7fff0000U;       // SECCOMP_RET_ALLOW
constexpr uint32_t kRetData = 0x0000ffffU;        // SECCOMP_RET_DATA
constexpr uint16_t kMaxErrno = 4095;              // MAX_ERRNO: larger values are not errors to libc

bool conditionHolds(const ArgCondition &c, const uint64_t args[6]) {
  if (c.arg > 5)
    return false;
  uint64_t v = args[c.arg];
  switch (c.op) {
  case ArgCondition::Equal:
    return v == c.a;
  case ArgCondition::MaskedEqual:
    return (v & c.mask) == c.a;
  case ArgCondition::InRange:
    return c.a <= v && v <= c.b;
  }
  return false;
}
} // namespace

uint32_t Action::value() const {
  switch (kind) {
  case KillProcess:
    return kRetKillProcess;
  case KillThread:
    return kRetKillThread;
  case Trap:
    return kRetTrap;
  case Errno:
    return kRetErrno | data;
  case Trace:
    return kRetTrace | data;
  case Log:
    return kRetLog;
  case Allow:
    return kRetAllow;
  }
  return kRetKillProcess;
}

std::optional<Action> Action::fromValue(uint32_t v) {
  uint16_t data = static_cast<uint16_t>(v & kRetData);
  switch (v & ~kRetData) {
  case kRetKillProcess:
    return data == 0 ? std::optional<Action>(Action{KillProcess, 0}) : std::nullopt;
  case kRetKillThread:
    return data == 0 ? std::optional<Action>(Action{KillThread, 0}) : std::nullopt;
  case kRetTrap:
    return data == 0 ? std::optional<Action>(Action{Trap, 0}) : std::nullopt;
  case kRetErrno:
    return Action{Errno, data};
  case kRetTrace:
    return Action{Trace, data};
  case kRetLog:
    return data == 0 ? std::optional<Action>(Action{Log, 0}) : std::nullopt;
  case kRetAllow:
    return data == 0 ? std::optional<Action>(Action{Allow, 0}) : std::nullopt;
  }
  return std::nullopt;
}

std::string Action::name() const {
  switch (kind) {
  case KillProcess:
    return "kill-process";
  case KillThread:
    return "kill-thread";
  case Trap:
    return "trap";
  case Errno:
    return "errno:" + std::to_string(data);
  case Trace:
    return "trace:" + std::to_string(data);
  case Log:
    return "log";
  case Allow:
    return "allow";
  }
  return "kill-process";
}

std::optional<Action> parseAction(const std::string &text) {
  if (text == "kill-process")
    return Action{Action::KillProcess, 0};
  if (text == "kill-thread")
    return Action{Action::KillThread, 0};
  if (text == "trap")
    return Action{Action::Trap, 0};
  if (text == "log")
    return Action{Action::Log, 0};
  if (text == "allow")
    return Action{Action::Allow, 0};
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

Action Policy::decide(uint32_t nr, uint32_t arch, const uint64_t args[6]) const {
  if (arch != AuditArchX86_64 || (nr >= X32SyscallBit && nr != SkippedSyscall))
    return badArchAction;
  // `allowed` is sorted by nr and unique; a linear scan keeps this reference obviously right.
  for (const SyscallRule &r : allowed) {
    if (r.nr < 0 || static_cast<uint32_t>(r.nr) != nr)
      continue;
    if (r.alternatives.empty())
      return Action{Action::Allow, 0};
    for (const auto &alt : r.alternatives) {
      bool all = true;
      for (const ArgCondition &c : alt)
        if (!conditionHolds(c, args)) {
          all = false;
          break;
        }
      if (all)
        return Action{Action::Allow, 0};
    }
  }
  return defaultAction;
}

} // namespace bespoke
