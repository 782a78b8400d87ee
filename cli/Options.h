// The declarative command line. Each bespoke command declares its options once, as a table of Option
// rows (as llvm-readobj declares its options): the table drives parsing (parseArgs), the options section
// of --help (renderHelp) and, for the rows an MCP tool offers, the tool's input schema and the command
// line built from a tool call (cli/Mcp.cpp). Adding a flag is one row, plus the code that reads it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace bespoke::cli {

// How an MCP tool argument that holds a path becomes a command-line word.
enum class McpPath {
  No,        // as given
  Operand,   // "./-x" for a path starting with '-', so it is never read as an option
  OperandOrDash, // as Operand, but "-" (standard output) stays "-"
};

// One tool argument of the MCP server that fills an Option. Its JSON type follows from the row: a flag
// is a boolean, a repeatable value or the words after "--" an array of strings, anything else a string.
struct McpParam {
  const char *name = nullptr;        // "default_action"
  const char *description = nullptr; // for agents (the row's help is for people at a terminal)
  bool required = false;
  McpPath path = McpPath::No;
  const char *pattern = nullptr;     // for strings (ECMAScript and POSIX ERE alike)
};

struct Option {
  enum Kind { Flag, Value, Operand, Rest };
  Kind kind = Flag;
  std::string id;                     // where parseArgs puts it; rows may share one (-m and MANIFEST)
  std::vector<const char *> spellings; // "--format", "-f": the first is what generated command lines use
  const char *valueName = "";         // "FILE" after the spellings in --help; an operand's name in messages
  const char *needs = "";             // "a file name": the message "-o needs a file name" (value missing or empty)
  const char *help = "";              // the --help text; "\n" starts a continuation line
  bool repeatable = false;            // every occurrence kept (else the last wins; an operand takes one word)
  std::vector<const char *> choices;  // the only values accepted: else "unknown format 'x' (expected a, b or c)",
                                      // the value named by `needs` without its article
  // A value's own check: the message for a bad value, or "" when it is fine. Gets the spelling used.
  std::string (*validate)(const std::string &spelling, const std::string &value) = nullptr;
  std::vector<McpParam> mcp;          // tool arguments this row takes (an operand row may take several)

  Option &repeat() { repeatable = true; return *this; }
  Option &oneOf(std::vector<const char *> values) { choices = std::move(values); return *this; }
  Option &check(std::string (*f)(const std::string &, const std::string &)) { validate = f; return *this; }
  Option &tool(McpParam p) { mcp.push_back(p); return *this; }
};

// --quiet: `-q, --quiet` with this help.
Option flag(std::string id, std::vector<const char *> spellings, const char *help);
// --output FILE.
Option value(std::string id, std::vector<const char *> spellings, const char *valueName, const char *needs,
             const char *help);
// A word that is not an option (MANIFEST); named in "more than one MANIFEST given".
Option operand(std::string id, const char *name);
// Everything after "--" (the command `run` executes, the app's arguments in an image).
Option rest(std::string id);

// What a command line said, by row id.
struct ParsedArgs {
  bool help = false; // -h / --help: print the help and nothing else
  std::vector<std::pair<std::string, std::string>> values; // (id, value) in command-line order; flags ""
  std::vector<std::string> rest;

  bool has(const std::string &id) const;
  std::optional<std::string> get(const std::string &id) const; // the last value
  std::vector<std::string> all(const std::string &id) const;
};

// The usage text of a command, apart from its option table.
struct CommandText {
  const char *synopsis;    // "usage: bespoke extend MANIFEST --format FORMAT -o OUT [options]\n"
  const char *description; // the paragraphs after it, each line ending in "\n"
  const char *exitStatus;  // "exit status: ...\n"
  const char *unexpectedOperand = ""; // after "unexpected argument 'X'" when the command takes no operand
};

// Parses ARGS against OPTIONS (plus -h/--help). Returns the message of the first problem ("unknown option
// '-x'", "-o needs a file name", "more than one MANIFEST given ('a' and 'b')", ...), or nothing.
std::optional<std::string> parseArgs(const std::vector<Option> &options, const CommandText &text,
                                     const std::vector<std::string> &args, ParsedArgs &out);

// The whole --help text: synopsis, description, "options:" with one entry per flag and value row (and
// -h, --help), exit status.
std::string renderHelp(const std::vector<Option> &options, const CommandText &text);

// "a, b or c".
std::string listChoices(const std::vector<const char *> &choices);

} // namespace bespoke::cli
