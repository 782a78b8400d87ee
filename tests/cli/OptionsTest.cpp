// The declarative command line: the option-table parser's messages, every command's table (help lists
// every row, spellings unique, tool arguments unique), and the exit-status contract of a filter without a
// proof. The end-to-end contract (bespoke CMD ... through the binary) is tests/cli/*.sh.
#include <gtest/gtest.h>

#include "cli/Cli.h"

#include <set>

using namespace bespoke;
using namespace bespoke::cli;

namespace {

std::string checkEven(const std::string &spelling, const std::string &v) {
  return v.size() % 2 ? spelling + " needs an even-length word" : "";
}

const CommandText Text{"usage: t\n", "Test.\n", "exit status: 0\n", " (no arguments here)"};

std::vector<Option> table() {
  return {operand("input", "INPUT"),
          value("input", {"--input", "-i"}, "F", "a file name", "the input"),
          value("format", {"--format", "-f"}, "F", "a format", "a\nb").oneOf({"a", "b", "c"}),
          value("word", {"--word"}, "W", "a word", "w").check(checkEven),
          value("add", {"--add"}, "X", "a thing", "repeatable").repeat(),
          flag("quiet", {"-q", "--quiet"}, "quiet"),
          rest("rest")};
}

std::string problem(const std::vector<Option> &t, std::vector<std::string> args) {
  ParsedArgs p;
  return parseArgs(t, Text, args, p).value_or("");
}

TEST(Options, Messages) {
  std::vector<Option> t = table();
  EXPECT_EQ(problem(t, {"--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(problem(t, {"-i"}), "-i needs a file name");
  EXPECT_EQ(problem(t, {"--input", ""}), "--input needs a file name");
  EXPECT_EQ(problem(t, {"-f", "d"}), "unknown format 'd' (expected a, b or c)");
  EXPECT_EQ(problem(t, {"--word", "abc"}), "--word needs an even-length word");
  EXPECT_EQ(problem(t, {"x", "y"}), "more than one INPUT given ('x' and 'y')");
  EXPECT_EQ(problem(t, {"-i", "x", "y"}), "more than one INPUT given ('x' and 'y')");
  EXPECT_EQ(problem({flag("q", {"-q"}, "")}, {"x"}), "unexpected argument 'x' (no arguments here)");
  EXPECT_EQ(problem({flag("q", {"-q"}, "")}, {"--", "x"}), "unknown option '--'"); // no rest row
  EXPECT_EQ(problem(t, {"--bogus", "--help"}), "unknown option '--bogus'");
  EXPECT_EQ(problem(t, {"--help", "--bogus"}), "");
}

TEST(Options, Values) {
  ParsedArgs p;
  ASSERT_FALSE(parseArgs(table(), Text, {"in", "-q", "--add", "1", "-f", "a", "--add", "-", "-f", "c", "--", "-x", "--help"}, p));
  EXPECT_FALSE(p.help);
  EXPECT_EQ(p.get("input"), "in");
  EXPECT_EQ(p.get("format"), "c"); // the last wins
  EXPECT_EQ(p.all("add"), (std::vector<std::string>{"1", "-"}));
  EXPECT_TRUE(p.has("quiet"));
  EXPECT_FALSE(p.has("word"));
  EXPECT_EQ(p.rest, (std::vector<std::string>{"-x", "--help"}));
}

TEST(Options, Help) {
  std::string h = renderHelp(table(), Text);
  EXPECT_EQ(h.rfind("usage: t\n\nTest.\n\noptions:\n", 0), 0u) << h;
  // One column, two spaces right of the widest spellings; continuation lines start there too.
  EXPECT_NE(h.find("  -i, --input F   the input\n"), std::string::npos) << h;
  EXPECT_NE(h.find("  -f, --format F  a\n                  b\n"), std::string::npos) << h;
  EXPECT_NE(h.find("  -h, --help      show this help\n\nexit status: 0\n"), std::string::npos) << h;
}

// Every command: parsing its own table accepts each spelling, --help lists it, and no spelling or tool
// argument is declared twice.
TEST(Options, EveryCommandTable) {
  ASSERT_EQ(commands().size(), 11u);
  for (const Command &c : commands()) {
    std::string help = renderHelp(c.options, c.text);
    std::set<std::string> spellings{"-h", "--help"}, tool;
    for (const Option &o : c.options) {
      for (const char *s : o.spellings) {
        EXPECT_TRUE(spellings.insert(s).second) << c.name << ": " << s << " twice";
        EXPECT_NE(help.find(s), std::string::npos) << c.name << " --help lacks " << s;
      }
      if (o.kind == Option::Value) {
        EXPECT_STRNE(o.needs, "") << c.name << ": " << o.id;
      }
      for (const McpParam &m : o.mcp) EXPECT_TRUE(tool.insert(m.name).second) << c.name << ": " << m.name;
    }
    ParsedArgs p;
    EXPECT_FALSE(parseArgs(c.options, c.text, {"--help"}, p));
    EXPECT_TRUE(p.help);
    EXPECT_NE(help.find("exit status:"), std::string::npos) << c.name;
  }
}

// One contract in every command that proves a filter: bad input 2, no proof 1.
TEST(ExitStatus, FilterWithoutProof) {
  EXPECT_EQ(exitStatus(ProofError::BadPolicy), ExitUsage);
  EXPECT_EQ(exitStatus(ProofError::KernelWouldRefuse), ExitNegative);
  EXPECT_EQ(exitStatus(ProofError::NotEquivalent), ExitNegative);
  EXPECT_EQ(exitStatus(ProofError::GaveUp), ExitNegative);
  testing::internal::CaptureStderr();
  int status = proofFailure("extend", llvm::make_error<ProofError>(ProofError::GaveUp, "Z3 gave up"));
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "bespoke extend: Z3 gave up\n");
  EXPECT_EQ(status, ExitNegative);
}

} // namespace
