// The Kconfig parser: one line-oriented pass per file, a stack of if/menu/choice blocks carried across
// `source`, and an entry (config, choice or menu header) whose attributes are collected until the next
// keyword, then finalized with the blocks' dependencies.
#include "verify/Kconfig.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

namespace bespoke {

KExprPtr kAnd(KExprPtr a, KExprPtr b) {
  if (!a) return b;
  if (!b) return a;
  return std::make_shared<KExpr>(KExpr{KExpr::And, "", a, b});
}
KExprPtr kOr(KExprPtr a, KExprPtr b) {
  if (!a || !b) return nullptr;
  return std::make_shared<KExpr>(KExpr{KExpr::Or, "", a, b});
}
KExprPtr kNot(KExprPtr a) {
  if (!a) return kWord("n");
  return std::make_shared<KExpr>(KExpr{KExpr::Not, "", a, nullptr});
}
KExprPtr kWord(const std::string &w) { return std::make_shared<KExpr>(KExpr{KExpr::Word, w, nullptr, nullptr}); }

std::string toString(const KExprPtr &e) {
  if (!e) return "y";
  auto paren = [](const KExprPtr &x, KExpr::Kind parent) {
    bool need = (x->kind == KExpr::Or && parent != KExpr::Or) || (x->kind == KExpr::And && parent == KExpr::Not);
    return need ? "(" + toString(x) + ")" : toString(x);
  };
  switch (e->kind) {
  case KExpr::Word: return e->text;
  case KExpr::String: return "\"" + e->text + "\"";
  case KExpr::External: return e->text;
  case KExpr::Not: return "!" + (e->lhs->kind == KExpr::Word ? toString(e->lhs) : "(" + toString(e->lhs) + ")");
  case KExpr::And: return paren(e->lhs, KExpr::And) + " && " + paren(e->rhs, KExpr::And);
  case KExpr::Or: return toString(e->lhs) + " || " + toString(e->rhs);
  case KExpr::Equal: return toString(e->lhs) + "=" + toString(e->rhs);
  case KExpr::NotEqual: return toString(e->lhs) + "!=" + toString(e->rhs);
  case KExpr::Less: return toString(e->lhs) + "<" + toString(e->rhs);
  case KExpr::LessEqual: return toString(e->lhs) + "<=" + toString(e->rhs);
  case KExpr::Greater: return toString(e->lhs) + ">" + toString(e->rhs);
  case KExpr::GreaterEqual: return toString(e->lhs) + ">=" + toString(e->rhs);
  }
  return "?";
}

std::map<std::string, std::string> defaultKconfigVariables() {
  return {{"ARCH", "x86_64"}, {"SRCARCH", "x86"}, {"HEADER_ARCH", "x86"}, {"SUBARCH", "x86"}};
}

namespace {

struct Token {
  enum Kind { Word, String, External, Op, End };
  Kind kind = End;
  std::string text;
};

bool isWordChar(char c) { return llvm::isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == '+'; }

class Parser {
public:
  Parser(std::string tree, const std::map<std::string, std::string> &vars) : Tree(std::move(tree)), Vars(vars) {}

  llvm::Error parseFile(const std::string &rel, const KLocation &from);
  llvm::Error finish() {
    if (llvm::Error e = finalizeEntry()) return e;
    if (!Blocks.empty()) return err(Blocks.back().loc, "block not closed at end of input");
    return llvm::Error::success();
  }
  KconfigModel Model;

private:
  struct Block {
    enum Kind { Menu, If, Choice } kind;
    KExprPtr dep, visible;
    int choice = -1;
    KLocation loc;
  };
  struct Entry {
    enum Kind { None, Config, Choice, Menu, Comment } kind = None;
    std::string name;
    KLocation loc;
    KSymbol::Type type = KSymbol::Unknown;
    KExprPtr dep;
    std::vector<KProperty> prompts, defaults, selects, implies;
  };

  static llvm::Error err(const KLocation &loc, const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), loc.str() + ": " + msg);
  }

  // $(NAME) with NAME a known variable -> its value; anything else ($(shell,...), $(CC)) -> unknown.
  bool expandMacro(llvm::StringRef line, size_t &i, std::string &out, std::string &raw) {
    size_t start = i;
    int depth = 0;
    for (; i < line.size(); ++i) {
      if (line[i] == '(') ++depth;
      else if (line[i] == ')' && --depth == 0) break;
    }
    raw = line.slice(start, std::min(i + 1, line.size())).str();
    std::string inner = line.slice(start + 2, i).str();
    ++i;
    auto it = Vars.find(inner);
    if (it == Vars.end()) return false;
    out += it->second;
    return true;
  }

  llvm::Expected<std::vector<Token>> lex(llvm::StringRef line, const KLocation &loc) {
    std::vector<Token> toks;
    size_t i = 0;
    while (i < line.size()) {
      char c = line[i];
      if (c == ' ' || c == '\t') { ++i; continue; }
      if (c == '#') break;
      if (c == '"' || c == '\'') {
        char q = c;
        std::string s;
        bool external = false;
        std::string raw;
        ++i;
        while (i < line.size() && line[i] != q) {
          if (line[i] == '\\' && i + 1 < line.size()) { s += line[i + 1]; i += 2; continue; }
          if (line[i] == '$' && i + 1 < line.size() && line[i + 1] == '(') {
            std::string r;
            if (!expandMacro(line, i, s, r)) external = true;
            raw += r;
            continue;
          }
          s += line[i++];
        }
        if (i >= line.size()) return err(loc, "unterminated string");
        ++i;
        toks.push_back(external ? Token{Token::External, "\"" + line.str() + "\""} : Token{Token::String, s});
        continue;
      }
      if (c == '$' && i + 1 < line.size() && line[i + 1] == '(') {
        std::string s, raw;
        bool known = expandMacro(line, i, s, raw);
        toks.push_back(known ? Token{Token::Word, s} : Token{Token::External, raw});
        continue;
      }
      llvm::StringRef two = line.substr(i, 2);
      if (two == "&&" || two == "||" || two == "!=" || two == "<=" || two == ">=") {
        toks.push_back({Token::Op, two.str()});
        i += 2;
        continue;
      }
      if (c == '!' || c == '=' || c == '(' || c == ')' || c == '<' || c == '>') {
        toks.push_back({Token::Op, std::string(1, c)});
        ++i;
        continue;
      }
      if (isWordChar(c)) {
        size_t j = i;
        while (j < line.size() && isWordChar(line[j])) ++j;
        toks.push_back({Token::Word, line.slice(i, j).str()});
        i = j;
        continue;
      }
      return err(loc, "unexpected character '" + std::string(1, c) + "'");
    }
    toks.push_back({Token::End, ""});
    return toks;
  }

  // expr := and ('||' and)*; and := unary ('&&' unary)*; unary := '!' unary | cmp; cmp := prim [op prim]
  struct ExprParser {
    const std::vector<Token> &t;
    size_t p;
    const KLocation &loc;
    bool isOp(const char *op) const { return t[p].kind == Token::Op && t[p].text == op; }
    llvm::Expected<KExprPtr> parseOr() {
      auto l = parseAnd();
      if (!l) return l;
      KExprPtr e = *l;
      while (isOp("||")) {
        ++p;
        auto r = parseAnd();
        if (!r) return r;
        e = std::make_shared<KExpr>(KExpr{KExpr::Or, "", e, *r});
      }
      return e;
    }
    llvm::Expected<KExprPtr> parseAnd() {
      auto l = parseUnary();
      if (!l) return l;
      KExprPtr e = *l;
      while (isOp("&&")) {
        ++p;
        auto r = parseUnary();
        if (!r) return r;
        e = std::make_shared<KExpr>(KExpr{KExpr::And, "", e, *r});
      }
      return e;
    }
    llvm::Expected<KExprPtr> parseUnary() {
      if (isOp("!")) {
        ++p;
        auto e = parseUnary();
        if (!e) return e;
        return std::make_shared<KExpr>(KExpr{KExpr::Not, "", *e, nullptr});
      }
      if (isOp("(")) {
        ++p;
        auto e = parseOr();
        if (!e) return e;
        if (!isOp(")")) return err(loc, "expected ')' in expression");
        ++p;
        return e;
      }
      auto l = parsePrimary();
      if (!l) return l;
      static const std::pair<const char *, KExpr::Kind> ops[] = {
          {"=", KExpr::Equal}, {"!=", KExpr::NotEqual}, {"<", KExpr::Less},
          {"<=", KExpr::LessEqual}, {">", KExpr::Greater}, {">=", KExpr::GreaterEqual}};
      for (auto [op, kind] : ops)
        if (isOp(op)) {
          ++p;
          auto r = parsePrimary();
          if (!r) return r;
          return std::make_shared<KExpr>(KExpr{kind, "", *l, *r});
        }
      return l;
    }
    llvm::Expected<KExprPtr> parsePrimary() {
      const Token &tok = t[p];
      if (tok.kind == Token::Word || tok.kind == Token::String || tok.kind == Token::External) {
        ++p;
        KExpr::Kind k = tok.kind == Token::Word ? KExpr::Word : tok.kind == Token::String ? KExpr::String : KExpr::External;
        return std::make_shared<KExpr>(KExpr{k, tok.text, nullptr, nullptr});
      }
      return err(loc, "expected a symbol or constant in expression, got '" + tok.text + "'");
    }
  };

  // Parses an expression from tokens[p], optionally followed by `if EXPR`; the rest must be empty.
  llvm::Error parseValueIf(const std::vector<Token> &t, size_t p, const KLocation &loc, KExprPtr &value, KExprPtr &cond,
                           bool valueRequired = true) {
    ExprParser ep{t, p, loc};
    if (valueRequired || !(t[p].kind == Token::End || (t[p].kind == Token::Word && t[p].text == "if"))) {
      auto v = ep.parseOr();
      if (!v) return v.takeError();
      value = *v;
    }
    if (t[ep.p].kind == Token::Word && t[ep.p].text == "if") {
      ++ep.p;
      auto c = ep.parseOr();
      if (!c) return c.takeError();
      cond = *c;
    }
    if (t[ep.p].kind != Token::End) return err(loc, "unexpected '" + t[ep.p].text + "' after expression");
    return llvm::Error::success();
  }

  // A prompt: `"text" [if EXPR]`.
  llvm::Error parsePrompt(const std::vector<Token> &t, size_t p, const KLocation &loc, Entry &e) {
    if (t[p].kind == Token::End) return llvm::Error::success();
    if (t[p].kind != Token::String && t[p].kind != Token::External) return err(loc, "expected a prompt string");
    KExprPtr value, cond;
    if (llvm::Error x = parseValueIf(t, p + 1, loc, value, cond, /*valueRequired=*/false)) return x;
    e.prompts.push_back({nullptr, cond, loc});
    return llvm::Error::success();
  }

  KExprPtr parentDeps() const {
    KExprPtr d;
    for (const Block &b : Blocks) d = kAnd(d, b.dep);
    return d;
  }
  KExprPtr visibleIfs() const {
    KExprPtr d;
    for (const Block &b : Blocks) d = kAnd(d, b.visible);
    return d;
  }

  llvm::Error finalizeEntry() {
    Entry e = std::move(Cur);
    Cur = Entry();
    if (e.kind == Entry::Menu) {
      Blocks.back().dep = e.dep; // the menu's own `depends on`, now complete
      return llvm::Error::success();
    }
    if (e.kind == Entry::Choice) {
      Blocks.back().dep = e.dep;
      KChoice &c = Model.choices[Blocks.back().choice];
      c.dependsOn = parentDeps();
      for (KProperty &pr : e.prompts) c.prompts.push_back({nullptr, kAnd(kAnd(pr.cond, c.dependsOn), visibleIfs()), pr.loc});
      return llvm::Error::success();
    }
    if (e.kind != Entry::Config) return llvm::Error::success();
    KSymbol &s = Model.symbols[e.name];
    s.name = e.name;
    if (e.type != KSymbol::Unknown) {
      // Kconfig lets a later definition repeat the type; a conflicting one is its error too.
      if (s.type != KSymbol::Unknown && s.type != e.type &&
          !(s.isBoolean() && (e.type == KSymbol::Bool || e.type == KSymbol::Tristate)))
        return err(e.loc, "symbol " + e.name + " redefined with another type");
      if (s.type == KSymbol::Unknown || e.type == KSymbol::Tristate) s.type = e.type;
    }
    KExprPtr full = kAnd(parentDeps(), e.dep);
    s.dependsOn = s.definitions.empty() ? full : kOr(s.dependsOn, full);
    s.definitions.push_back(e.loc);
    KExprPtr vis = visibleIfs();
    for (KProperty &p : e.prompts) s.prompts.push_back({nullptr, kAnd(kAnd(p.cond, full), vis), p.loc});
    for (KProperty &p : e.defaults) s.defaults.push_back({p.value, kAnd(p.cond, full), p.loc});
    for (KProperty &p : e.selects) s.selects.push_back({p.value, kAnd(p.cond, full), p.loc});
    for (KProperty &p : e.implies) s.implies.push_back({p.value, kAnd(p.cond, full), p.loc});
    // A member of the innermost choice, unless a menu intervenes.
    for (auto it = Blocks.rbegin(); it != Blocks.rend(); ++it) {
      if (it->kind == Block::Menu) break;
      if (it->kind == Block::Choice) {
        KChoice &c = Model.choices[it->choice];
        if (s.choice < 0) {
          s.choice = it->choice;
          c.members.push_back(s.name);
        }
        break;
      }
    }
    return llvm::Error::success();
  }

  // The attribute lines of an entry.
  llvm::Error attribute(const std::vector<Token> &t, const KLocation &loc) {
    const std::string &kw = t[0].text;
    static const std::map<std::string, KSymbol::Type> types = {{"bool", KSymbol::Bool},     {"tristate", KSymbol::Tristate},
                                                               {"string", KSymbol::String}, {"int", KSymbol::Int},
                                                               {"hex", KSymbol::Hex},       {"boolean", KSymbol::Bool}};
    if (Cur.kind == Entry::None) return err(loc, "'" + kw + "' outside of an entry");
    if (auto it = types.find(kw); it != types.end()) {
      Cur.type = it->second;
      return parsePrompt(t, 1, loc, Cur);
    }
    if (kw == "def_bool" || kw == "def_tristate") {
      Cur.type = kw == "def_bool" ? KSymbol::Bool : KSymbol::Tristate;
      KProperty p{nullptr, nullptr, loc};
      if (llvm::Error e = parseValueIf(t, 1, loc, p.value, p.cond)) return e;
      Cur.defaults.push_back(p);
      return llvm::Error::success();
    }
    if (kw == "prompt") return parsePrompt(t, 1, loc, Cur);
    if (kw == "default") {
      KProperty p{nullptr, nullptr, loc};
      if (llvm::Error e = parseValueIf(t, 1, loc, p.value, p.cond)) return e;
      if (Cur.kind == Entry::Config) Cur.defaults.push_back(p); // a choice's default member: not modelled
      return llvm::Error::success();
    }
    if (kw == "depends") {
      if (t[1].kind != Token::Word || t[1].text != "on") return err(loc, "expected 'depends on'");
      KExprPtr v, c;
      if (llvm::Error e = parseValueIf(t, 2, loc, v, c)) return e;
      if (c) return err(loc, "'if' after 'depends on'");
      Cur.dep = kAnd(Cur.dep, v);
      return llvm::Error::success();
    }
    if (kw == "visible") {
      if (Cur.kind != Entry::Menu || t[1].text != "if") return err(loc, "'visible if' outside of a menu");
      KExprPtr v, c;
      if (llvm::Error e = parseValueIf(t, 2, loc, v, c)) return e;
      Blocks.back().visible = kAnd(Blocks.back().visible, v);
      return llvm::Error::success();
    }
    if (kw == "select" || kw == "imply") {
      if (t[1].kind != Token::Word) return err(loc, "expected a symbol after '" + kw + "'");
      KProperty p{kWord(t[1].text), nullptr, loc};
      KExprPtr none;
      if (llvm::Error e = parseValueIf(t, 2, loc, none, p.cond, /*valueRequired=*/false)) return e;
      (kw == "select" ? Cur.selects : Cur.implies).push_back(p);
      return llvm::Error::success();
    }
    if (kw == "optional") {
      if (Cur.kind != Entry::Choice) return err(loc, "'optional' outside of a choice");
      Model.choices[Blocks.back().choice].optional = true;
      return llvm::Error::success();
    }
    if (kw == "range" || kw == "modules" || kw == "option" || kw == "transitional")
      return llvm::Error::success(); // no bearing on bool/tristate values
    return err(loc, "unknown keyword '" + kw + "'");
  }

  std::string Tree;
  std::map<std::string, std::string> Vars;
  std::vector<Block> Blocks;
  Entry Cur;
};

unsigned indentOf(llvm::StringRef line) {
  unsigned col = 0;
  for (char c : line) {
    if (c == ' ') ++col;
    else if (c == '\t') col = (col / 8 + 1) * 8;
    else break;
  }
  return col;
}

llvm::Error Parser::parseFile(const std::string &rel, const KLocation &from) {
  auto buf = llvm::MemoryBuffer::getFile(Tree + "/" + rel);
  if (!buf)
    return from.file.empty() ? llvm::createStringError(llvm::inconvertibleErrorCode(),
                                                       Tree + "/" + rel + ": " + buf.getError().message())
                             : err(from, "source \"" + rel + "\": " + buf.getError().message());
  Model.files.push_back(rel);
  llvm::SmallVector<llvm::StringRef> lines;
  (*buf)->getBuffer().split(lines, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    KLocation loc{rel, unsigned(i + 1)};
    std::string line = lines[i].str();
    while (!line.empty() && line.back() == '\\' && i + 1 < lines.size()) {
      line.pop_back();
      line += lines[++i].str();
    }
    llvm::StringRef trimmed = llvm::StringRef(line).trim();
    if (trimmed.empty() || trimmed.starts_with("#")) continue;
    if (trimmed.starts_with("$(")) continue; // a top-level macro call ($(error-if,...)): the toolchain's business
    if (trimmed == "help" || trimmed == "---help---") {
      // The help text: every following line indented at least as much as its first one (blank lines too).
      size_t j = i + 1;
      while (j < lines.size() && lines[j].trim().empty()) ++j;
      if (j < lines.size() && indentOf(lines[j]) > 0) { // Kconfig allows the text at the keyword's indentation
        unsigned ind = indentOf(lines[j]);
        while (j < lines.size() && (lines[j].trim().empty() || indentOf(lines[j]) >= ind)) ++j;
      }
      i = j - 1;
      continue;
    }
    // Macro assignments (NAME := VALUE, NAME = VALUE, NAME += VALUE): keep the plain ones.
    {
      size_t w = 0;
      while (w < trimmed.size() && (llvm::isAlnum(trimmed[w]) || trimmed[w] == '_' || trimmed[w] == '-')) ++w;
      llvm::StringRef rest = trimmed.drop_front(w).ltrim();
      if (w > 0 && (rest.starts_with(":=") || rest.starts_with("+=") || (rest.starts_with("=") && !rest.starts_with("==")))) {
        std::string name = trimmed.take_front(w).str();
        llvm::StringRef value = rest.drop_front(rest[0] == '=' ? 1 : 2).trim();
        bool append = rest.starts_with("+=");
        if (value.contains("$(")) Vars.erase(name);
        else Vars[name] = append && Vars.count(name) ? Vars[name] + " " + value.str() : value.str();
        continue;
      }
    }
    auto toks = lex(line, loc);
    if (!toks) return toks.takeError();
    const std::vector<Token> &t = *toks;
    if (t[0].kind != Token::Word) return err(loc, "expected a keyword, got '" + t[0].text + "'");
    const std::string &kw = t[0].text;
    auto needName = [&]() -> llvm::Error {
      if (t[1].kind != Token::Word || t[2].kind != Token::End) return err(loc, "expected '" + kw + " NAME'");
      return llvm::Error::success();
    };
    if (kw == "config" || kw == "menuconfig") {
      if (llvm::Error e = finalizeEntry()) return e;
      if (llvm::Error e = needName()) return e;
      Cur.kind = Entry::Config;
      Cur.name = t[1].text;
      Cur.loc = loc;
    } else if (kw == "choice") {
      if (llvm::Error e = finalizeEntry()) return e;
      Model.choices.push_back(KChoice{loc, {}, nullptr, false, {}});
      Blocks.push_back({Block::Choice, nullptr, nullptr, int(Model.choices.size() - 1), loc});
      Cur.kind = Entry::Choice;
      Cur.loc = loc;
    } else if (kw == "menu") {
      if (llvm::Error e = finalizeEntry()) return e;
      ++Model.menus;
      Blocks.push_back({Block::Menu, nullptr, nullptr, -1, loc});
      Cur.kind = Entry::Menu;
      Cur.loc = loc;
    } else if (kw == "comment") {
      if (llvm::Error e = finalizeEntry()) return e;
      ++Model.comments;
      Cur.kind = Entry::Comment;
      Cur.loc = loc;
    } else if (kw == "if") {
      if (llvm::Error e = finalizeEntry()) return e;
      KExprPtr v, c;
      if (llvm::Error e = parseValueIf(t, 1, loc, v, c)) return e;
      ++Model.ifBlocks;
      Blocks.push_back({Block::If, v, nullptr, -1, loc});
    } else if (kw == "endif" || kw == "endmenu" || kw == "endchoice") {
      if (llvm::Error e = finalizeEntry()) return e;
      Block::Kind want = kw == "endif" ? Block::If : kw == "endmenu" ? Block::Menu : Block::Choice;
      if (Blocks.empty() || Blocks.back().kind != want) return err(loc, "'" + kw + "' without its opening block");
      Blocks.pop_back();
    } else if (kw == "source" || kw == "rsource" || kw == "osource" || kw == "orsource") {
      if (llvm::Error e = finalizeEntry()) return e;
      if (t[1].kind != Token::String && t[1].kind != Token::Word) return err(loc, "expected a file after 'source'");
      std::string path = t[1].text;
      if (kw == "rsource" || kw == "orsource") {
        size_t slash = rel.rfind('/');
        path = (slash == std::string::npos ? "" : rel.substr(0, slash + 1)) + path;
      }
      bool optional = kw[0] == 'o';
      if (optional && !llvm::sys::fs::exists(Tree + "/" + path)) continue;
      if (llvm::Error e = parseFile(path, loc)) return e;
    } else if (kw == "mainmenu") {
      // the title only
    } else {
      if (llvm::Error e = attribute(t, loc)) return e;
    }
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<KconfigModel> parseKconfig(const std::string &tree, const std::string &root,
                                          const std::map<std::string, std::string> &variables) {
  Parser p(tree, variables);
  if (llvm::Error e = p.parseFile(root, KLocation{})) return e;
  if (llvm::Error e = p.finish()) return e;
  return std::move(p.Model);
}

} // namespace bespoke
