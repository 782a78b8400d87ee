// Option tables: parsing a command line and writing the options section of --help from one table.
#include "cli/Options.h"

#include <algorithm>

namespace bespoke::cli {

Option flag(std::string id, std::vector<const char *> spellings, const char *help) {
  Option o;
  o.kind = Option::Flag;
  o.id = std::move(id);
  o.spellings = std::move(spellings);
  o.help = help;
  return o;
}

Option value(std::string id, std::vector<const char *> spellings, const char *valueName, const char *needs,
             const char *help) {
  Option o = flag(std::move(id), std::move(spellings), help);
  o.kind = Option::Value;
  o.valueName = valueName;
  o.needs = needs;
  return o;
}

Option operand(std::string id, const char *name) {
  Option o;
  o.kind = Option::Operand;
  o.id = std::move(id);
  o.valueName = name;
  return o;
}

Option rest(std::string id) {
  Option o;
  o.kind = Option::Rest;
  o.id = std::move(id);
  return o;
}

bool ParsedArgs::has(const std::string &id) const {
  return std::any_of(values.begin(), values.end(), [&](const auto &v) { return v.first == id; });
}

std::optional<std::string> ParsedArgs::get(const std::string &id) const {
  for (auto it = values.rbegin(); it != values.rend(); ++it)
    if (it->first == id) return it->second;
  return std::nullopt;
}

std::vector<std::string> ParsedArgs::all(const std::string &id) const {
  std::vector<std::string> out;
  for (const auto &[key, v] : values)
    if (key == id) out.push_back(v);
  return out;
}

std::string listChoices(const std::vector<const char *> &choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i)
    out += std::string(i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return out;
}

namespace {

bool isOption(const std::string &a) { return a.size() > 1 && a[0] == '-'; }

const Option *findSpelling(const std::vector<Option> &options, const std::string &a) {
  for (const Option &o : options)
    for (const char *s : o.spellings)
      if (a == s) return &o;
  return nullptr;
}

// "-f, --format FORMAT": short spellings first.
std::string leftColumn(const Option &o) {
  std::vector<const char *> s = o.spellings;
  std::stable_sort(s.begin(), s.end(), [](const char *a, const char *b) {
    return std::string(a).rfind("--", 0) != 0 && std::string(b).rfind("--", 0) == 0;
  });
  std::string out;
  for (const char *x : s) out += (out.empty() ? "" : ", ") + std::string(x);
  if (o.kind == Option::Value) out += std::string(" ") + o.valueName;
  return out;
}

} // namespace

std::optional<std::string> parseArgs(const std::vector<Option> &options, const CommandText &text,
                                     const std::vector<std::string> &args, ParsedArgs &out) {
  std::vector<const Option *> operands;
  const Option *restRow = nullptr;
  for (const Option &o : options) {
    if (o.kind == Option::Operand) operands.push_back(&o);
    if (o.kind == Option::Rest) restRow = &o;
  }
  size_t nextOperand = 0; // the operand row the next word fills
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--" && restRow) {
      out.rest.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "-h" || a == "--help") {
      out.help = true;
      return std::nullopt;
    }
    if (!isOption(a)) {
      if (operands.empty()) return "unexpected argument '" + a + "'" + text.unexpectedOperand;
      // Rows fill in order; the last one takes the rest when repeatable.
      while (nextOperand + 1 < operands.size() && out.has(operands[nextOperand]->id)) ++nextOperand;
      const Option &row = *operands[nextOperand];
      if (!row.repeatable)
        if (std::optional<std::string> first = out.get(row.id))
          return "more than one " + std::string(row.valueName) + " given ('" + *first + "' and '" + a + "')";
      out.values.emplace_back(row.id, a);
      continue;
    }
    const Option *o = findSpelling(options, a);
    if (!o) return "unknown option '" + a + "'";
    if (o->kind == Option::Flag) {
      out.values.emplace_back(o->id, "");
      continue;
    }
    if (i + 1 >= args.size() || args[i + 1].empty()) return a + " needs " + o->needs;
    const std::string &v = args[++i];
    if (!o->choices.empty() &&
        std::none_of(o->choices.begin(), o->choices.end(), [&](const char *c) { return v == c; })) {
      std::string noun = o->needs;
      if (noun.rfind("a ", 0) == 0) noun.erase(0, 2);
      return "unknown " + noun + " '" + v + "' (expected " + listChoices(o->choices) + ")";
    }
    if (o->validate)
      if (std::string problem = o->validate(a, v); !problem.empty()) return problem;
    // A value row that shares its id with an operand (-m MANIFEST) counts as that operand.
    if (!o->repeatable)
      for (const Option *row : operands)
        if (row->id == o->id && !row->repeatable)
          if (std::optional<std::string> first = out.get(o->id))
            return "more than one " + std::string(row->valueName) + " given ('" + *first + "' and '" + v + "')";
    out.values.emplace_back(o->id, v);
  }
  return std::nullopt;
}

std::string renderHelp(const std::vector<Option> &options, const CommandText &text) {
  std::vector<const Option *> rows;
  for (const Option &o : options)
    if (o.kind == Option::Flag || o.kind == Option::Value) rows.push_back(&o);
  static const Option help = flag("help", {"-h", "--help"}, "show this help");
  rows.push_back(&help);
  // The help texts start in one column, just right of the longest spellings (at most 27 characters in,
  // so that a long one runs into its text instead of pushing every text right).
  size_t column = 0;
  for (const Option *o : rows) column = std::max(column, 2 + leftColumn(*o).size() + 2);
  column = std::min<size_t>(column, 27);
  std::string out = std::string(text.synopsis) + "\n" + text.description + "\noptions:\n";
  for (const Option *o : rows) {
    std::string left = "  " + leftColumn(*o);
    out += left + std::string(left.size() + 2 <= column ? column - left.size() : 2, ' ');
    for (const char *c = o->help; *c; ++c) {
      out += *c;
      if (*c == '\n') out += std::string(column, ' ');
    }
    out += "\n";
  }
  return out + "\n" + text.exitStatus;
}

} // namespace bespoke::cli
