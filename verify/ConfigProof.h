// ConfigProof: proves with Z3 that a resolved .config satisfies the Kconfig model's constraints and the
// options an image requires, and finds enabled options that could be turned off (minimality).
//
// Encoding (bool semantics: one Z3 bool per bool/tristate symbol, y or m = true; a bare `m` is MODULES,
// as Kconfig rewrites it to `m && MODULES`; `X = m` is false — exact when MODULES is off, the images'
// case): for a symbol S with visibility
// vis = OR(prompt conditions), default def = the first `default V if C` whose C holds, and
// rev = OR(T && C for every `select S if C` in T); `imply S if C` in T adds (T && C) && deps(S) to def:
//   (select)    T && C            -> S     select overrides S's own dependencies, as in Kconfig
//   (depends)   S && !vis         -> def || rev
//   (default)   !S && !vis        -> !def
// Choices: a member is y only when its prompt is visible; a visible choice with a visible member has
// exactly one member y (at most one when optional); an invisible choice has none. Conditions include the
// entry's, the if/menu blocks' and (for prompts) the menus' `visible if`. Not modelled (documented
// approximations): `imply` only where Kconfig applies it (the value of an invisible symbol), `range`, the values of string/int/hex
// symbols (taken from the .config and compared concretely), and macros Kconfig runs ($(cc-option,...)):
// each distinct one is an unknown Z3 bool, so the proof holds for some answer of the toolchain.
#pragma once

#include "verify/Kconfig.h"

#include "llvm/Support/Error.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace bespoke {

struct ConfigViolation {
  std::string symbol;              // the symbol the constraint is about
  std::string constraint;          // what Kconfig requires, with the expression
  KLocation where;                 // the definition, select or choice it comes from
  std::vector<std::string> values; // the .config values of the symbols involved: "X=y", "Y=n"
  std::string str() const;         // one line
};

struct ConfigProof {
  bool holds = false;
  std::vector<ConfigViolation> violations; // constraints the .config breaks (empty when holds)
  std::vector<std::string> missing;        // "X: required y, .config has n" (also a reason !holds)
  std::vector<std::string> unknownSymbols; // set in the .config, not defined by the Kconfig files
  size_t symbols = 0, constraints = 0;
  double seconds = 0;
  std::string report() const; // one line per problem
};

// `dotConfig` and `required` as parseDotConfig / KernelConfig::required give them: option (no
// CONFIG_) -> "y", "m", "n", a number or a quoted string. A Z3 failure (unknown) is an error.
llvm::Expected<ConfigProof> proveConfig(const KconfigModel &model, const std::map<std::string, std::string> &dotConfig,
                                        const std::map<std::string, std::string> &required);

struct RemovableOption {
  std::string symbol;
  std::vector<std::string> alsoChanged; // other prompted options that must change with it: "NETDEVICES=n", "ACPI=y"
};

// Minimality: each enabled symbol with a prompt, not a choice member and not in `keep` (the required
// options and the base fragment), for which Z3 finds a config satisfying every constraint and every
// requirement with it off. The other prompted symbols keep their values unless the unsat core says
// they must change (then they are listed in alsoChanged); invisible symbols follow their defaults.
llvm::Expected<std::vector<RemovableOption>> findRemovable(const KconfigModel &model,
                                                           const std::map<std::string, std::string> &dotConfig,
                                                           const std::map<std::string, std::string> &required,
                                                           const std::set<std::string> &keep);

} // namespace bespoke
