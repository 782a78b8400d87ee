// Proves that a seccomp filter (any classic-BPF program the kernel accepts, whoever produced it)
// returns exactly what a Policy prescribes, for every possible seccomp_data; or finds one where it does not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "seccomp/Bpf.h"
#include "seccomp/Policy.h"

#include <llvm/Support/Error.h>

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

// Why a filter has no proof. Callers act on the kind (the CLI maps each to its exit status in one
// place) and print the message.
class ProofError : public llvm::ErrorInfo<ProofError> {
public:
  enum Kind {
    BadPolicy,         // the policy is malformed (a rule names an argument > 5, or cannot be compiled)
    KernelWouldRefuse, // the filter fails checkSafety: there is nothing to prove
    NotEquivalent,     // a seccomp_data where filter and policy differ (for gates that turn a Verdict
                       // into an error, like extension-gen's compileProven)
    GaveUp,            // no verdict: Z3 gave up, or its counterexample did not reproduce
  };
  static char ID;
  ProofError(Kind kind, std::string message) : kind(kind), message(std::move(message)) {}
  void log(llvm::raw_ostream &os) const override { os << message; }
  std::error_code convertToErrorCode() const override { return llvm::inconvertibleErrorCode(); }
  Kind kind;
  std::string message;
};

// Mirrors the kernel's seccomp_is_const_allow (kernel/seccomp.c, Linux >= 5.11): emulates the filter
// for this nr and arch with only LD W ABS of nr/arch, JA, JEQ/JGE/JGT/JSET K, AND K and RET K; true when
// it reaches `ret ALLOW` without loading anything else. The kernel then skips the filter for that nr.
bool kernelCachesAllow(const BpfProgram &filter, uint32_t nr, uint32_t arch = Policy::AuditArchX86_64);

// Proves filter(d) == policy.decide(d).value() (bit-identical 32-bit return values) for all seccomp_data d.
// The filter's semantics are encoded in Z3 from the kernel's rules (the deliberately independent oracle:
// seccomp/Interpreter.h only replays a counterexample), the policy's from the rules documented at
// Policy::decide. Errors are ProofError: KernelWouldRefuse (the filter fails checkSafety), BadPolicy (a
// rule names an argument > 5), GaveUp (Z3 gives up, or a counterexample does not reproduce: an internal
// error, never a wrong verdict).
llvm::Expected<Verdict> proveEquivalent(const BpfProgram &filter, const Policy &policy);

} // namespace bespoke
