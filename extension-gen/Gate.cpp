// Gate: compilePolicy, then proveEquivalent (compileNetPrograms, then proveNetProgram; generateObserveProgram, then
// proveObserveProgram); only proven programs leave.
#include "extension-gen/Gate.h"

#include "extension-gen/Compiler.h"
#include "extension-gen/NetPrograms.h"
#include "extension-gen/ObserveProgram.h"
#include "verify/EbpfEquivalence.h"
#include "verify/ObserveProof.h"

namespace bespoke {

namespace {

// A prover's error as the gate's: the same kind (GaveUp for anything that is not a ProofError), the
// message behind `prefix`.
llvm::Error notProven(llvm::Error e, const std::string &prefix) {
  ProofError::Kind kind = ProofError::GaveUp;
  std::string msg;
  llvm::handleAllErrors(
      std::move(e), [&](const ProofError &pe) { kind = pe.kind; msg = pe.message; },
      [&](const llvm::ErrorInfoBase &other) { msg = other.message(); });
  return llvm::make_error<ProofError>(kind, prefix + msg);
}

} // namespace

llvm::Expected<ProvenFilter> compileProven(const Policy &policy) {
  auto prog = compilePolicy(policy);
  if (!prog)
    return llvm::make_error<ProofError>(ProofError::BadPolicy,
                                        "cannot compile the policy: " + llvm::toString(prog.takeError()));
  auto verdict = proveEquivalent(*prog, policy);
  if (!verdict) {
    return notProven(verdict.takeError(), "the compiled filter was not proven: ");
  }
  if (!verdict->equivalent)
    return llvm::make_error<ProofError>(
        ProofError::NotEquivalent, "the compiled filter is NOT equivalent to the policy: for " +
                                       verdict->counterexample + " it returns " + actionText(verdict->filterAction) +
                                       ", the policy says " + actionText(verdict->policyAction));
  return ProvenFilter{std::move(*prog), std::move(*verdict)};
}

llvm::Expected<std::vector<EbpfProgram>> compileProvenNet(const NetPolicy &policy) {
  auto programs = compileNetPrograms(policy);
  if (!programs)
    return llvm::make_error<ProofError>(ProofError::BadPolicy,
                                        "cannot compile the network policy: " + llvm::toString(programs.takeError()));
  for (const EbpfProgram &p : *programs) {
    auto v = proveNetProgram(p, policy);
    if (!v) {
      return notProven(v.takeError(), std::string("the ") + hookName(p.hook) + " program was not proven: ");
    }
    if (!v->equivalent)
      return llvm::make_error<ProofError>(ProofError::NotEquivalent,
                                          std::string("the ") + hookName(p.hook) +
                                              " program is NOT equivalent to the network policy: at " +
                                              v->counterexample + " it " + (v->programResult ? "allows" : "refuses") +
                                              ", the policy " + (v->policyAllows ? "allows" : "refuses"));
  }
  return programs;
}

llvm::Expected<ObserveProgram> compileProvenObserve(const Policy &policy, const ObserveMaps &maps) {
  auto program = generateObserveProgram(policy, maps);
  if (!program)
    return llvm::make_error<ProofError>(ProofError::BadPolicy,
                                        "cannot compile the observe program: " + llvm::toString(program.takeError()));
  auto v = proveObserveProgram(*program, policy);
  if (!v) {
    return notProven(v.takeError(), "the observe program was not proven: ");
  }
  if (!v->equivalent)
    return llvm::make_error<ProofError>(
        ProofError::NotEquivalent, "the observe program is NOT equivalent to the policy: syscall " +
                                       std::to_string(v->witnessNr) + " gets class " + std::to_string(v->programClass) +
                                       ", the policy prescribes " + std::to_string(v->policyClass));
  return program;
}

} // namespace bespoke
