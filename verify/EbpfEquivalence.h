// Proves that an eBPF network-policy program (ebpf/Program.h; whoever produced it) returns exactly what a
// NetPolicy prescribes (allows(), ebpf/NetPolicy.cpp) for every context its hook can pass; or finds an
// event where it does not, confirmed on a concrete interpreter.
#pragma once

#include <cstdint>
#include <string>

#include "ebpf/NetPolicy.h"
#include "ebpf/Program.h"

#include <llvm/Support/Error.h>

namespace bespoke {

struct EbpfVerdict {
  bool equivalent = false;
  std::string counterexample; // when !equivalent: describe(witness)
  NetEvent witness{};         // when !equivalent: the event, to run
  uint64_t programResult = 0; // r0 for the witness (runNetProgram)
  bool policyAllows = false;  // allows(policy, witness)
  double seconds = 0;         // wall time of the whole proof, safety check included
};

// Proves (program(ctx) != 0) <=> allows(policy, event(ctx)) for every context of p.hook, the context fields
// being free variables as ebpf/Program.h documents them (SockCreate: family, type, protocol, any 32-bit
// values; address hooks: the address words as loaded, the port any 16-bit value in network byte order,
// upper 16 bits of user_port zero). Errors are ProofError (verify/Equivalence.h): KernelWouldRefuse
// (checkEbpfSafety fails: nothing to prove), GaveUp (Z3 gives up, or its counterexample does not reproduce
// on runNetProgram and allows(): an internal error, never a wrong verdict).
llvm::Expected<EbpfVerdict> proveNetProgram(const EbpfProgram &p, const NetPolicy &policy);

} // namespace bespoke
