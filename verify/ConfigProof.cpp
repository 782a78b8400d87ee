// The Kconfig model as Z3 constraints (see ConfigProof.h for the encoding), the proof of one .config
// and the minimality search.
#include "verify/ConfigProof.h"

#include "llvm/ADT/StringExtras.h"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <z3++.h>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

struct Constraint {
  std::string symbol, text;
  KLocation where;
  std::set<std::string> involved;
};

bool isOn(const std::string &v) { return v == "y" || v == "m"; }

std::string unquote(const std::string &v) {
  return v.size() >= 2 && v.front() == '"' && v.back() == '"' ? v.substr(1, v.size() - 2) : v;
}

class Encoder {
public:
  Encoder(z3::context &ctx, const KconfigModel &m, const std::map<std::string, std::string> &dot)
      : Ctx(ctx), M(m), Dot(dot) {}

  z3::expr var(const std::string &name) {
    auto it = Vars.find(name);
    if (it != Vars.end()) return it->second;
    return Vars.emplace(name, Ctx.bool_const(name.c_str())).first->second;
  }

  // The value of a word or string operand, as Kconfig compares it: a symbol's .config value, else the text.
  std::string concrete(const KExprPtr &e, std::set<std::string> &involved) {
    if (e->kind == KExpr::Word) {
      if (const KSymbol *s = M.symbol(e->text)) {
        involved.insert(e->text);
        auto it = Dot.find(e->text);
        std::string v = it == Dot.end() ? (s->isBoolean() ? "n" : "") : unquote(it->second);
        return s->isBoolean() && v == "m" ? "y" : v;
      }
    }
    return e->text;
  }

  // A tristate-valued operand in bool semantics, or nothing when it is not one.
  std::optional<z3::expr> triOperand(const KExprPtr &e, std::set<std::string> &involved) {
    if (e->kind != KExpr::Word && e->kind != KExpr::String) return std::nullopt;
    if (e->text == "y") return Ctx.bool_val(true);
    if (e->text == "n" || e->text == "m") return Ctx.bool_val(false);
    if (e->kind == KExpr::Word)
      if (const KSymbol *s = M.symbol(e->text); s && s->isBoolean()) {
        involved.insert(e->text);
        return var(e->text);
      }
    return std::nullopt;
  }

  z3::expr external(const std::string &text) {
    auto it = Externals.find(text);
    if (it != Externals.end()) return it->second;
    return Externals.emplace(text, Ctx.bool_const(("external:" + text).c_str())).first->second;
  }

  z3::expr toBool(const KExprPtr &e, std::set<std::string> &involved) {
    if (!e) return Ctx.bool_val(true);
    switch (e->kind) {
    case KExpr::Word:
    case KExpr::String:
      // Kconfig rewrites a bare `m` to `m && MODULES`; with m counted as on that is MODULES.
      if (e->kind == KExpr::Word && e->text == "m") {
        if (const KSymbol *mod = M.symbol("MODULES"); mod && mod->isBoolean()) {
          involved.insert("MODULES");
          return var("MODULES");
        }
        return Ctx.bool_val(false);
      }
      if (auto t = triOperand(e, involved)) return *t;
      return Ctx.bool_val(false); // undefined symbols, numbers, strings are n
    case KExpr::External: return external(e->text);
    case KExpr::Not: return !toBool(e->lhs, involved);
    case KExpr::And: return toBool(e->lhs, involved) && toBool(e->rhs, involved);
    case KExpr::Or: return toBool(e->lhs, involved) || toBool(e->rhs, involved);
    default: break;
    }
    // Comparisons.
    if (e->lhs->kind == KExpr::External || e->rhs->kind == KExpr::External) return external(toString(e));
    bool eq = e->kind == KExpr::Equal, ne = e->kind == KExpr::NotEqual;
    if (eq || ne) {
      // `X = m` never holds in bool semantics; two tristate operands compare as Z3 bools.
      bool lm = e->lhs->text == "m" && !M.symbol("m"), rm = e->rhs->text == "m" && !M.symbol("m");
      if (lm || rm) return Ctx.bool_val(ne);
      auto l = triOperand(e->lhs, involved), r = triOperand(e->rhs, involved);
      if (l && r) return eq ? *l == *r : *l != *r;
    }
    std::string a = concrete(e->lhs, involved), b = concrete(e->rhs, involved);
    char *ea = nullptr, *eb = nullptr;
    long long na = std::strtoll(a.c_str(), &ea, 0), nb = std::strtoll(b.c_str(), &eb, 0);
    bool numeric = !a.empty() && !b.empty() && *ea == 0 && *eb == 0;
    int cmp = numeric ? (na < nb ? -1 : na > nb) : a.compare(b);
    switch (e->kind) {
    case KExpr::Equal: return Ctx.bool_val(cmp == 0);
    case KExpr::NotEqual: return Ctx.bool_val(cmp != 0);
    case KExpr::Less: return Ctx.bool_val(cmp < 0);
    case KExpr::LessEqual: return Ctx.bool_val(cmp <= 0);
    case KExpr::Greater: return Ctx.bool_val(cmp > 0);
    case KExpr::GreaterEqual: return Ctx.bool_val(cmp >= 0);
    default: return Ctx.bool_val(false);
    }
  }

  void add(const std::string &symbol, const std::string &text, const KLocation &where, std::set<std::string> involved,
           const z3::expr &e) {
    involved.insert(symbol);
    Constraints.push_back({symbol, text, where, std::move(involved)});
    Exprs.push_back(e);
  }

  void encode() {
    struct Selector {
      std::string by;
      KExprPtr cond;
      KLocation loc;
    };
    std::map<std::string, std::vector<Selector>> selectedBy, impliedBy;
    for (const auto &[name, s] : M.symbols) {
      for (const KProperty &p : s.selects) selectedBy[p.value->text].push_back({name, p.cond, p.loc});
      for (const KProperty &p : s.implies) impliedBy[p.value->text].push_back({name, p.cond, p.loc});
    }

    for (const auto &[name, s] : M.symbols) {
      if (!s.isBoolean() || s.choice >= 0) continue;
      z3::expr S = var(name);
      std::set<std::string> visInv, defInv, revInv;
      z3::expr vis = Ctx.bool_val(false);
      std::vector<std::string> visText;
      for (const KProperty &p : s.prompts) {
        vis = vis || toBool(p.cond, visInv);
        visText.push_back(toString(p.cond));
      }
      z3::expr def = Ctx.bool_val(false);
      for (auto it = s.defaults.rbegin(); it != s.defaults.rend(); ++it)
        def = z3::ite(toBool(it->cond, defInv), toBool(it->value, defInv), def);
      // imply: a weak select, part of the default of an invisible symbol, bounded by its dependencies.
      z3::expr implied = Ctx.bool_val(false);
      std::vector<std::string> impliedText;
      for (const Selector &imp : impliedBy[name]) {
        defInv.insert(imp.by);
        implied = implied || (var(imp.by) && toBool(imp.cond, defInv));
        impliedText.push_back(imp.by);
      }
      if (!impliedText.empty()) def = def || (implied && toBool(s.dependsOn, defInv));
      z3::expr rev = Ctx.bool_val(false);
      std::vector<std::string> revText;
      for (const Selector &sel : selectedBy[name]) {
        std::set<std::string> inv{sel.by};
        z3::expr fires = var(sel.by) && toBool(sel.cond, inv);
        rev = rev || fires;
        revText.push_back(sel.by);
        add(name, "selected by " + sel.by + (sel.cond ? " if " + toString(sel.cond) : "") + ", so it must be y",
            sel.loc, inv, z3::implies(fires, S));
        revInv.insert(inv.begin(), inv.end());
      }
      std::string defText;
      for (const KProperty &p : s.defaults)
        defText += (defText.empty() ? "" : ", ") + toString(p.value) + (p.cond ? " if " + toString(p.cond) : "");
      if (!impliedText.empty()) defText += (defText.empty() ? "" : ", ") + ("implied by " + llvm::join(impliedText, ", "));
      std::string why = (s.prompts.empty() ? std::string("it has no prompt")
                                           : "its prompt is not visible (" + llvm::join(visText, " || ") + ")");
      std::set<std::string> inv = visInv;
      inv.insert(defInv.begin(), defInv.end());
      std::set<std::string> inv2 = inv;
      inv.insert(revInv.begin(), revInv.end());
      add(name,
          "y needs its dependencies: " + why + ", its default (" + (defText.empty() ? "none" : defText) +
              ") is n and no select (" + (revText.empty() ? "none" : llvm::join(revText, ", ")) + ") fires",
          s.definitions.front(), inv, z3::implies(S && !vis, def || rev));
      add(name, "n, but " + why + " and its default (" + defText + ") gives y", s.definitions.front(), inv2,
          z3::implies(!S && !vis, !def));
    }

    for (const KChoice &c : M.choices) {
      std::set<std::string> cInv;
      z3::expr visC = Ctx.bool_val(false);
      for (const KProperty &p : c.prompts) visC = visC || toBool(p.cond, cInv);
      z3::expr anyVis = Ctx.bool_val(false);
      z3::expr_vector members(Ctx);
      std::string label = "choice at " + c.loc.str();
      for (const std::string &m : c.members) {
        const KSymbol &s = M.symbols.at(m);
        std::set<std::string> inv;
        z3::expr visM = Ctx.bool_val(false);
        for (const KProperty &p : s.prompts) visM = visM || toBool(p.cond, inv);
        anyVis = anyVis || visM;
        z3::expr S = var(m);
        members.push_back(S);
        add(m, "member of the " + label + ": y only when its prompt is visible", s.definitions.front(), inv,
            z3::implies(S, visM && visC));
        cInv.insert(m);
      }
      if (members.empty()) continue;
      if (!c.optional)
        add(c.members.front(), "the " + label + " is visible but none of its members (" + llvm::join(c.members, ", ") + ") is y",
            c.loc, cInv, z3::implies(visC && anyVis, z3::mk_or(members)));
      add(c.members.front(), "more than one member of the " + label + " is y", c.loc, cInv, z3::atmost(members, 1));
    }
  }

  // Z3 literals fixing every bool/tristate symbol to its .config value.
  z3::expr fixed(const std::string &name) {
    auto it = Dot.find(name);
    return it != Dot.end() && isOn(it->second) ? var(name) : !var(name);
  }

  // The requirement as a Z3 bool, or an error text when it cannot hold.
  std::optional<z3::expr> requirement(const std::string &opt, const std::string &value, std::string &problem) {
    const KSymbol *s = M.symbol(opt);
    auto it = Dot.find(opt);
    std::string have = it == Dot.end() ? "n" : it->second;
    if (!s) {
      if (value == "n") return Ctx.bool_val(true);
      problem = opt + ": required " + value + ", but no Kconfig file defines it";
      return std::nullopt;
    }
    if (s->isBoolean()) return isOn(value) ? var(opt) : !var(opt);
    if (unquote(have) != unquote(value)) problem = opt + ": required " + value + ", .config has " + have;
    return Ctx.bool_val(problem.empty());
  }

  z3::context &Ctx;
  const KconfigModel &M;
  const std::map<std::string, std::string> &Dot;
  std::map<std::string, z3::expr> Vars, Externals;
  std::vector<Constraint> Constraints;
  std::vector<z3::expr> Exprs;
};

std::string valueOf(const std::map<std::string, std::string> &dot, const std::string &name) {
  auto it = dot.find(name);
  return it == dot.end() ? "n" : it->second;
}

} // namespace

std::string ConfigViolation::str() const {
  return where.str() + ": " + symbol + ": " + constraint + " [" + llvm::join(values, " ") + "]";
}

std::string ConfigProof::report() const {
  std::string out;
  for (const ConfigViolation &v : violations) out += v.str() + "\n";
  for (const std::string &m : missing) out += m + "\n";
  return out;
}

llvm::Expected<ConfigProof> proveConfig(const KconfigModel &model, const std::map<std::string, std::string> &dot,
                                        const std::map<std::string, std::string> &required) {
  auto start = std::chrono::steady_clock::now();
  ConfigProof proof;
  z3::context ctx;
  Encoder enc(ctx, model, dot);
  enc.encode();
  proof.constraints = enc.Exprs.size();
  for (const auto &[opt, v] : dot)
    if (!model.symbol(opt)) proof.unknownSymbols.push_back(opt);

  z3::expr_vector fixedValues(ctx);
  for (const auto &[name, s] : model.symbols)
    if (s.isBoolean()) {
      fixedValues.push_back(enc.fixed(name));
      ++proof.symbols;
    }
  for (const auto &[opt, value] : required) {
    std::string problem;
    auto r = enc.requirement(opt, value, problem);
    if (!problem.empty()) proof.missing.push_back(problem);
    else if (r && model.symbol(opt) && model.symbol(opt)->isBoolean() && isOn(value) != isOn(valueOf(dot, opt)))
      proof.missing.push_back(opt + ": required " + value + ", .config has " + valueOf(dot, opt));
  }
  // The values are fixed, so most constraints simplify to true: only those left over (false, or with a
  // toolchain macro) go to the solver, each behind a tracking literal whose unsat cores name the broken ones.
  z3::model values(ctx);
  for (unsigned i = 0; i < fixedValues.size(); ++i) {
    z3::expr lit = fixedValues[i];
    bool on = !lit.is_not();
    z3::func_decl d = (on ? lit : lit.arg(0)).decl();
    z3::expr v = ctx.bool_val(on);
    values.add_const_interp(d, v);
  }
  z3::solver solver(ctx);
  z3::expr_vector track(ctx);
  std::map<unsigned, size_t> byId;
  for (size_t i = 0; i < enc.Exprs.size(); ++i) {
    z3::expr e = values.eval(enc.Exprs[i], /*model_completion=*/false);
    if (e.is_true()) continue;
    z3::expr p = ctx.bool_const(("c" + std::to_string(i)).c_str());
    solver.add(z3::implies(p, e));
    track.push_back(p);
    byId[p.id()] = i;
  }
  std::set<size_t> broken;
  for (int round = 0; round < 256; ++round) {
    z3::check_result r = solver.check(track);
    if (r == z3::unknown) return err("Z3 gave up on the config proof: " + solver.reason_unknown());
    if (r == z3::sat) break;
    z3::expr_vector core = solver.unsat_core();
    if (core.empty()) break;
    std::set<unsigned> drop;
    for (unsigned i = 0; i < core.size(); ++i) {
      drop.insert(core[i].id());
      broken.insert(byId[core[i].id()]);
    }
    z3::expr_vector rest(ctx);
    for (unsigned i = 0; i < track.size(); ++i)
      if (!drop.count(track[i].id())) rest.push_back(track[i]);
    track = rest;
  }
  for (size_t i : broken) {
    const Constraint &c = enc.Constraints[i];
    ConfigViolation v{c.symbol, c.text, c.where, {}};
    for (const std::string &s : c.involved) v.values.push_back(s + "=" + valueOf(dot, s));
    proof.violations.push_back(std::move(v));
  }
  proof.holds = proof.violations.empty() && proof.missing.empty();
  proof.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return proof;
}

llvm::Expected<std::vector<RemovableOption>> findRemovable(const KconfigModel &model,
                                                           const std::map<std::string, std::string> &dot,
                                                           const std::map<std::string, std::string> &required,
                                                           const std::set<std::string> &keep) {
  z3::context ctx;
  Encoder enc(ctx, model, dot);
  enc.encode();
  z3::solver solver(ctx);
  for (const z3::expr &e : enc.Exprs) solver.add(e);
  for (const auto &[opt, value] : required) {
    std::string problem;
    if (auto r = enc.requirement(opt, value, problem); r && problem.empty()) solver.add(*r);
  }
  // The toolchain's answers stay as in the .config: fix the macros to a model of the actual config.
  z3::expr_vector all(ctx);
  for (const auto &[name, s] : model.symbols)
    if (s.isBoolean()) all.push_back(enc.fixed(name));
  if (solver.check(all) != z3::sat) return err("the .config does not satisfy the Kconfig constraints; prove it first");
  z3::model m = solver.get_model();
  for (auto &[text, e] : enc.Externals) solver.add(e == m.eval(e, true));

  std::vector<std::string> prompted;
  for (const auto &[name, s] : model.symbols)
    if (s.isBoolean() && !s.prompts.empty()) prompted.push_back(name);
  std::vector<RemovableOption> out;
  for (const auto &[name, s] : model.symbols) {
    if (!s.isBoolean() || s.prompts.empty() || s.choice >= 0 || keep.count(name) || required.count(name) ||
        !isOn(valueOf(dot, name)))
      continue;
    std::map<unsigned, std::string> byId;
    z3::expr_vector assume(ctx);
    assume.push_back(!enc.var(name));
    for (const std::string &p : prompted)
      if (p != name) {
        z3::expr lit = enc.fixed(p);
        byId[lit.id()] = p;
        assume.push_back(lit);
      }
    std::vector<std::string> released;
    bool removable = false;
    for (int round = 0; round < 32; ++round) {
      z3::check_result r = solver.check(assume);
      if (r == z3::unknown) return err("Z3 gave up on minimality for " + name + ": " + solver.reason_unknown());
      if (r == z3::sat) { removable = true; break; }
      z3::expr_vector core = solver.unsat_core();
      std::set<unsigned> drop;
      for (unsigned i = 0; i < core.size(); ++i)
        if (byId.count(core[i].id())) drop.insert(core[i].id());
      if (drop.empty()) break; // turning it off alone contradicts the requirements
      z3::expr_vector rest(ctx);
      for (unsigned i = 0; i < assume.size(); ++i)
        if (drop.count(assume[i].id())) released.push_back(byId[assume[i].id()]);
        else rest.push_back(assume[i]);
      assume = rest;
    }
    if (!removable) continue;
    z3::model mm = solver.get_model();
    RemovableOption r{name, {}};
    for (const std::string &p : released)
      if (bool on = mm.eval(enc.var(p), true).is_true(); on != isOn(valueOf(dot, p)))
        r.alsoChanged.push_back(p + (on ? "=y" : "=n"));
    llvm::sort(r.alsoChanged);
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace bespoke
