// Gate: compilePolicy, then proveEquivalent; only a proven program leaves.
#include "extension-gen/Gate.h"

#include "extension-gen/Compiler.h"

namespace bespoke {

llvm::Expected<ProvenFilter> compileProven(const Policy &policy) {
  auto prog = compilePolicy(policy);
  if (!prog)
    return llvm::make_error<ProofError>(ProofError::BadPolicy,
                                        "cannot compile the policy: " + llvm::toString(prog.takeError()));
  auto verdict = proveEquivalent(*prog, policy);
  if (!verdict) {
    ProofError::Kind kind = ProofError::GaveUp;
    std::string msg;
    llvm::handleAllErrors(
        verdict.takeError(), [&](const ProofError &e) { kind = e.kind; msg = e.message; },
        [&](const llvm::ErrorInfoBase &e) { msg = e.message(); });
    return llvm::make_error<ProofError>(kind, "the compiled filter was not proven: " + msg);
  }
  if (!verdict->equivalent)
    return llvm::make_error<ProofError>(
        ProofError::NotEquivalent, "the compiled filter is NOT equivalent to the policy: for " +
                                       verdict->counterexample + " it returns " + actionText(verdict->filterAction) +
                                       ", the policy says " + actionText(verdict->policyAction));
  return ProvenFilter{std::move(*prog), std::move(*verdict)};
}

} // namespace bespoke
