// Gate: the only way extension-gen hands out a filter or network programs — compile the policy, prove the
// program means it, return both. A program the proof does not accept is never returned; why is a typed error (ProofError,
// verify/Equivalence.h) that callers act on by kind (the CLI's exit statuses) and print by message.
#pragma once

#include "ebpf/NetPolicy.h"
#include "ebpf/Observe.h"
#include "ebpf/Program.h"
#include "seccomp/Bpf.h"
#include "seccomp/Policy.h"
#include "verify/Equivalence.h"

#include "llvm/Support/Error.h"

namespace bespoke {

// A compiled seccomp program with the proof that it means its policy.
struct ProvenFilter {
  BpfProgram program;
  Verdict verdict;
};

// Compiles, then proves. Errors are ProofError:
//   BadPolicy          the policy does not compile ("cannot compile the policy: ..."): malformed rules,
//                      or a program longer than the kernel's 4096 instructions
//   KernelWouldRefuse  the program fails checkSafety ("the compiled filter was not proven: ...")
//   GaveUp             the prover reached no verdict (likewise)
//   NotEquivalent      the prover found a seccomp_data where program and policy differ
//                      ("the compiled filter is NOT equivalent to the policy: for ... it returns ...")
llvm::Expected<ProvenFilter> compileProven(const Policy &policy);

// The same gate for a network policy's eBPF programs (NetPrograms.h, verify/EbpfEquivalence.h): every
// program compiled and proven, or none. BadPolicy: the generator refuses the policy; KernelWouldRefuse,
// GaveUp: a program without a verdict; NotEquivalent: an event where a program and the policy differ.
llvm::Expected<std::vector<EbpfProgram>> compileProvenNet(const NetPolicy &policy);

// The observe-mode program for `policy` with `maps` built in (ObserveProgram.h), its decision part proven
// to give every syscall number the class the policy prescribes (verify/ObserveProof.h). The same kinds.
llvm::Expected<ObserveProgram> compileProvenObserve(const Policy &policy, const ObserveMaps &maps);

} // namespace bespoke
