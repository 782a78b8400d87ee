// Policy: what a seccomp filter for an application must decide, and the return actions it decides
// between. The data type between extension-gen/ (which compiles it) and verify/ (which proves a filter
// means it); both link this library, neither owns it.
#pragma once

#include <linux/seccomp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bespoke {

// A seccomp return action (SECCOMP_RET_*), with its 16-bit data where it has one.
struct Action {
  // UserNotif (SECCOMP_RET_USER_NOTIF) hands the call to a supervisor holding the filter's listener
  // (`bespoke observe`); without one the kernel answers ENOSYS, so parseAction does not offer it.
  enum Kind : uint8_t { KillProcess, KillThread, Trap, Errno, Trace, Log, Allow, UserNotif };
  Kind kind = KillProcess;
  uint16_t data = 0; // errno value for Errno, trace message for Trace
  uint32_t value() const; // the 32-bit value a BPF `ret` returns (e.g. SECCOMP_RET_ERRNO | data)
  static std::optional<Action> fromValue(uint32_t v);
  std::string name() const;        // "kill-process", "errno:1", "allow", ...
  const char *libseccompName() const; // "SCMP_ACT_KILL_PROCESS", ... (OCI profiles)
  bool operator==(const Action &o) const { return kind == o.kind && data == o.data; }
  bool operator!=(const Action &o) const { return !(*this == o); }
};

// Parses "kill-process | kill-thread | errno:N | trap | log | allow" (not trace or user-notif: they need
// a tracer or a supervisor).
std::optional<Action> parseAction(const std::string &text);

// "kill-process (0x80000000)": a `ret` value for messages (just the hex when it is no action).
std::string actionText(uint32_t value);

// One condition on a 64-bit syscall argument. All conditions of a rule must hold (AND).
struct ArgCondition {
  enum Op : uint8_t { Equal, MaskedEqual, InRange }; // value == a; (value & mask) == a; a <= value <= b
  uint8_t arg = 0;    // 0..5
  Op op = Equal;
  uint64_t a = 0, b = 0, mask = ~0ULL;

  bool holds(const uint64_t args[6]) const; // false for arg > 5
};

// A syscall gets `action` when any of its alternatives holds (OR of ANDs); no alternatives means for any
// arguments. `action` is allow except for a syscall answered without running it (clone3 -> errno:ENOSYS
// when clone's flags are checked, so that libc falls back to clone).
struct SyscallRule {
  int nr = -1;
  std::string name;
  std::vector<std::vector<ArgCondition>> alternatives; // empty: for any arguments
  Action action{Action::Allow, 0};

  // No alternatives, or one without conditions: allowed whatever the arguments.
  bool unconditional() const;
  // The arguments (bit i = argument i, 0..5) any of its conditions reads.
  uint8_t checkedArguments() const;
};

struct Policy {
  static constexpr uint32_t AuditArchX86_64 = 0xC000003E; // AUDIT_ARCH_X86_64
  static constexpr uint32_t X32SyscallBit = 0x40000000;   // __X32_SYSCALL_BIT
  // nr == -1: a tracer skipped the syscall (or the program called syscall(-1), which fails with
  // ENOSYS). Not an x32 number: it gets defaultAction, as in libseccomp's filters.
  static constexpr uint32_t SkippedSyscall = 0xffffffff;
  std::vector<SyscallRule> allowed; // sorted by nr, unique (named for the usual action, allow)
  Action defaultAction;             // for x86-64 syscalls not allowed
  Action badArchAction;             // for other architectures and x32 numbers (the kill action)
                                    // (nr >= 0x40000000 except SkippedSyscall)

  // The action the policy prescribes for one concrete seccomp_data: the reference semantics every
  // filter must agree with (verify/ encodes the same rules in Z3, independently):
  //   arch != AUDIT_ARCH_X86_64                    -> badArchAction
  //   nr >= 0x40000000 (x32 bit) and nr != -1      -> badArchAction
  //   nr has a rule and some alternative holds     -> the rule's action, usually allow
  //                                                   (no alternatives: whatever the arguments)
  //   otherwise (including nr == -1)               -> defaultAction
  Action decide(uint32_t nr, uint32_t arch, const uint64_t args[6]) const;
  // The rule for x86-64 syscall `nr` (rules are unique by number), or null.
  const SyscallRule *ruleFor(uint32_t nr) const;
  Action decide(const seccomp_data &d) const;
};

} // namespace bespoke
