// Kconfig: the Linux Kconfig language (the subset Linux 6.1 uses) parsed into a model of symbols, their
// prompts, dependencies, defaults and selects, and the choices. No Z3 here: ConfigProof.h encodes it.
// Each property's condition already includes the dependencies of its entry and of the enclosing
// if/menu/choice blocks (as Kconfig's menu_finalize does), so a consumer never walks the menu tree.
#pragma once

#include "llvm/Support/Error.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bespoke {

// A Kconfig expression. Symbol names and constants are both words: a word that names a defined symbol
// is a symbol, "y"/"m"/"n" are the tristate constants, anything else (numbers, quoted strings) is a
// constant. External is a macro Kconfig would run ($(cc-option,...), $(success,...)): its value comes
// from the toolchain, which the model does not have.
struct KExpr {
  enum Kind { Word, String, External, Not, And, Or, Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual };
  Kind kind = Word;
  std::string text; // Word, String (unquoted, variables expanded), External (the macro as written)
  std::shared_ptr<const KExpr> lhs, rhs;
};
using KExprPtr = std::shared_ptr<const KExpr>;

KExprPtr kAnd(KExprPtr a, KExprPtr b); // null means "true": kAnd(null, b) == b
KExprPtr kOr(KExprPtr a, KExprPtr b);  // null means "true"
KExprPtr kNot(KExprPtr a);
KExprPtr kWord(const std::string &w);
std::string toString(const KExprPtr &e); // Kconfig syntax; "y" for null

struct KLocation {
  std::string file; // relative to the source tree
  unsigned line = 0;
  std::string str() const { return file + ":" + std::to_string(line); }
};

// A prompt, default, select or imply. `cond` is the `if` part AND the entry's dependencies AND the
// enclosing blocks' (prompts also AND the enclosing menus' `visible if`); null means always.
struct KProperty {
  KExprPtr value; // default: the value expression; select/imply: the target as a Word; prompt: null
  KExprPtr cond;
  KLocation loc;
};

struct KSymbol {
  enum Type { Unknown, Bool, Tristate, String, Int, Hex };
  std::string name;
  Type type = Unknown;
  std::vector<KLocation> definitions; // a symbol may be defined in several places
  KExprPtr dependsOn;                 // OR over the definitions of their direct dependencies (null: none)
  std::vector<KProperty> prompts, defaults, selects, implies; // defaults in the order Kconfig tries them
  int choice = -1;                    // index into KconfigModel::choices when a member
  bool isBoolean() const { return type == Bool || type == Tristate; }
};

// choice ... endchoice: when visible, exactly one member is y (at most one when `optional`).
struct KChoice {
  KLocation loc;
  std::vector<KProperty> prompts; // cond includes the choice's dependencies
  KExprPtr dependsOn;
  bool optional = false;
  std::vector<std::string> members;
};

struct KconfigModel {
  std::map<std::string, KSymbol> symbols;
  std::vector<KChoice> choices;
  std::vector<std::string> files; // every file parsed, in order (relative to the tree)
  unsigned menus = 0, comments = 0, ifBlocks = 0;
  // Looks up a defined symbol; null for an undefined name (Kconfig treats those as n).
  const KSymbol *symbol(const std::string &name) const {
    auto it = symbols.find(name);
    return it == symbols.end() ? nullptr : &it->second;
  }
};

// Variables for $(NAME) in `source` paths and strings. The images build with `make ARCH=x86_64`, so
// that is the default (SRCARCH=x86); ARCH=x86 would make 64BIT a visible prompt instead of a default.
std::map<std::string, std::string> defaultKconfigVariables();

// Parses `root` (relative to `tree`, normally "Kconfig") and every file it sources. Errors name
// file:line (a syntax error, a missing sourced file, an unbalanced block).
llvm::Expected<KconfigModel> parseKconfig(const std::string &tree, const std::string &root = "Kconfig",
                                          const std::map<std::string, std::string> &variables =
                                              defaultKconfigVariables());

} // namespace bespoke
