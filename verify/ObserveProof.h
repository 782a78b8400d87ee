// Proves that an observe-mode program (ebpf/Observe.h) records what a seccomp Policy might refuse: its
// decision part gives every 32-bit syscall number exactly the class the policy prescribes, so that a call
// the policy could refuse is recorded together with every argument the policy's conditions read.
#pragma once

#include "ebpf/Observe.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

#include <cstdint>

namespace bespoke {

struct ObserveVerdict {
  bool equivalent = false;
  uint32_t witnessNr = 0;    // when !equivalent: a number where program and policy differ
  uint8_t programClass = 0;  // r8 for it (a concrete run of the decision)
  uint8_t policyClass = 0;   // what the policy prescribes
  double seconds = 0;
};

// The class the policy prescribes for `nr` (written here from Policy's rules, independently of the
// generator): 0 when decide() allows nr whatever the arguments by an unconditional allow rule; otherwise
// ObserveRecord | the arguments any of nr's conditions read (none for numbers without a rule, x32 numbers
// and -1).
uint8_t observeClassOf(const Policy &policy, uint32_t nr);

// The decision part's class for `nr`, by running it (the shape checkObserveDecision admits).
uint8_t runObserveDecision(const ObserveProgram &p, uint32_t nr);

// The decision part, [decisionBegin, decisionEnd), must be: only `if w7 > K goto +N` (BPF_JMP32 | BPF_JGT
// | BPF_K on r7), `r8 = K` (BPF_ALU64 | BPF_MOV | BPF_K, 0 <= K <= 0x7f) and `goto +N`; forward jumps
// inside the part or to its end; no falling into the end without r8 written on that path; nothing
// unreachable. Error: a ProofError of kind KernelWouldRefuse naming the instruction.
llvm::Error checkObserveDecision(const ObserveProgram &p);

// checkObserveDecision, then a Z3 proof that r8 at the end equals observeClassOf(policy, nr) for every
// 32-bit nr (the low half of r7; the decision reads nothing else). A difference gives equivalent == false
// with a witness confirmed by runObserveDecision. What lies outside the decision part (the prologue and the
// recorder, the same bytes for every policy) is not part of this proof: the kernel's verifier checks it,
// and tests/cli/observe_test.sh runs it.
llvm::Expected<ObserveVerdict> proveObserveProgram(const ObserveProgram &p, const Policy &policy);

} // namespace bespoke
