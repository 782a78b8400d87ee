// ObserveReport: what an observed run did that the manifest's policy would refuse. The recorded calls
// (ObserveRun.h) are decided by Policy::decide, exactly as the filter would decide them; each refused
// syscall is one violation with its count, its refused argument values and the first recorded user stack,
// symbolised through the manifest's modules. Rendered as text or JSON; applied to the manifest for
// `--manifest-out`.
#pragma once

#include "extension-gen/ObserveRun.h"
#include "extension-gen/StackSymbols.h"
#include "manifests/Manifest.h"
#include "seccomp/Policy.h"

#include <cstdint>
#include <string>
#include <vector>

namespace bespoke {

struct ObservedArgs {
  std::vector<uint8_t> indexes; // the arguments the policy checks for this syscall (0..5)
  std::vector<uint64_t> values; // their values in one refused call, same order
  uint64_t count = 0;
};

struct Violation {
  std::string syscall;          // kernel name, or "syscall_<nr>" for a number x86-64 does not have,
                                // "i386_<nr>" for an `int 0x80` call (seccomp supervisor only)
  int64_t nr = 0;               // as sys_enter passed it
  bool native = true;           // an x86-64 call (the others cannot go into the manifest)
  uint64_t count = 0;           // refused calls
  std::string action;           // what the filter would have done: "kill-process", "errno:1", ...
  bool inManifest = false;      // the manifest lists the syscall (only some argument values were refused)
  std::vector<ObservedArgs> args; // refused argument values (syscalls whose arguments the policy checks)
  // Innermost first: "libc.so.6!write@0x10e2a0", "build-id:...+0x.." (a file not among the manifest's
  // modules), "ip:0x..." (the innermost frame in no file). Under eBPF the kernel walks frame pointers: the
  // walk ends at the first outer frame in no file, and code built without frame pointers (Debian's) often
  // gives only the innermost frame, the syscall instruction in libc. Under seccomp the outer frames are
  // return addresses found by scanning the stack (ObserveNotify.h): callers without frame pointers too,
  // and now and then a stale one.
  std::vector<std::string> stack;
  std::vector<Frame> frames;      // the symbolised ones, for the manifest's evidence
};

struct ObserveReport {
  std::vector<Violation> violations; // sorted by syscall name
  uint64_t recordedCalls = 0;        // every call recorded (refused or not: ObserveRunResult::mechanism)
  std::string mechanism;             // the run's: "seccomp" or "ebpf"
  uint64_t lost = 0;                 // calls not recorded: the events map was full
  int status = 0;                    // the command's
};

ObserveReport buildObserveReport(const Policy &policy, const ObserveRunResult &run, const StackSymbols &symbols);

std::string renderObserveText(const ObserveReport &r);
// {"violations": [{"syscall", "nr", "count", "action", "in_manifest", "args": [{"values": {"0": "0x..."},
// "count"}], "stack": [...]}], "recorded_calls", "lost", "exit_status", "mechanism": "seccomp" | "ebpf"}
std::string renderObserveJson(const ObserveReport &r);

// The manifest with the observed additions: a syscall it lacked is added with one evidence entry of root
// "observed" and the symbolised frames of the recorded stack as its chain (outermost first; when none is
// symbolised, one frame PROGRAM!SYSCALL@0x0, as observed files have); a syscall whose argument values were
// refused gets those values added to its facts (low 32 bits, hex), and the same evidence.
Manifest withObserved(const Manifest &m, const ObserveReport &r);

} // namespace bespoke
