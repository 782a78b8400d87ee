// Proves that a seccomp filter (any classic-BPF program the kernel accepts, whoever produced it)
// returns exactly what a Policy prescribes, for every possible seccomp_data; or finds one where it does not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "extension-gen/Policy.h"
#include "verify/Bpf.h"

namespace bespoke {

struct Verdict {
  bool equivalent = false;
  std::string counterexample; // when !equivalent: the seccomp_data (nr, arch, ip, args[6] in hex)
  seccomp_data witness{};     // when !equivalent: the same counterexample, to run
  uint32_t filterAction = 0, policyAction = 0; // what each returns for the counterexample
  std::vector<int> constantActionSyscalls; // allowed syscalls whose x86-64 result is proven not to depend
                                           // on args or ip (empty unless equivalent)
  std::vector<int> kernelCachedSyscalls;   // allowed syscalls the kernel's own emulator
                                           // (seccomp_is_const_allow) will put in its allow cache
  double seconds = 0; // wall time of the whole proof
};

// The 32-bit value a `ret` returns for an action (SECCOMP_RET_* | data). Computed from the data fields
// only, so verify/ does not depend on extension-gen's implementation.
uint32_t seccompValue(const Action &action);

// The policy's semantics on one concrete seccomp_data, as encoded in the proof:
//   arch != AUDIT_ARCH_X86_64                    -> badArchAction
//   nr >= 0x40000000 (x32 bit) and nr != -1      -> badArchAction
//   nr is allowed and some alternative holds     -> allow (Equal: v == a; MaskedEqual: (v & mask) == a;
//                                                   InRange: a <= v <= b, unsigned 64-bit; no
//                                                   alternatives: unconditionally)
//   otherwise (including nr == -1)               -> defaultAction
// nr == -1 is what a tracer uses to skip a syscall; libseccomp gives it the default action, not the
// bad-arch kill, and so does this model.
uint32_t policyValue(const Policy &policy, const seccomp_data &data);

// Mirrors the kernel's seccomp_is_const_allow (kernel/seccomp.c, Linux >= 5.11): emulates the filter
// for this nr and arch with only LD W ABS of nr/arch, JA, JEQ/JGE/JGT/JSET K, AND K and RET K; true when
// it reaches `ret ALLOW` without loading anything else. The kernel then skips the filter for that nr.
bool kernelCachesAllow(const BpfProgram &filter, uint32_t nr, uint32_t arch = Policy::AuditArchX86_64);

// Proves filter(d) == policyValue(d) (bit-identical 32-bit return values) for all seccomp_data d.
// Errors: the filter fails checkSafety (the kernel would refuse it), a rule names an argument > 5, or
// Z3 gives up / a counterexample does not reproduce (an internal error, never a wrong verdict).
llvm::Expected<Verdict> proveEquivalent(const BpfProgram &filter, const Policy &policy);

} // namespace bespoke
