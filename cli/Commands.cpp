// The command registry and the one dispatch path: parse with the command's option table, then --help,
// a usage error, or the command itself.
#include "cli/Cli.h"

#include <cstdio>

namespace bespoke::cli {

const std::vector<Command> &commands() {
  static const std::vector<Command> all = {analyzeCommand(), extendCommand(), verifyCommand(),
                                           runUnderFilterCommand(), observeCommand(), decideCommand(), rewriteCommand(),
                                           bootCommand(), diffCommand(), checkCommand(), mcpCommand()};
  return all;
}

const Command *findCommand(std::string_view name) {
  for (const Command &c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

int runCommand(const Command &c, const std::vector<std::string> &args) {
  ParsedArgs parsed;
  if (std::optional<std::string> problem = parseArgs(c.options, c.text, args, parsed))
    return usageError(c.name, *problem);
  if (parsed.help) {
    fputs(renderHelp(c.options, c.text).c_str(), stdout);
    return ExitOk;
  }
  return c.run(parsed);
}

std::string topHelp() {
  std::string out = "usage: bespoke COMMAND [ARGS...]\n\n"
                    "bespoke specializes Linux applications for the kernel they run on.\n\ncommands:\n";
  for (const Command &c : commands()) {
    char line[160];
    snprintf(line, sizeof line, "  %-9s %s\n", c.name, c.summary);
    out += line;
  }
  return out + "\nRun 'bespoke COMMAND --help' for a command's options.\n"
               "exit status: 0 success, 1 negative verdict, 2 usage or input error\n";
}

} // namespace bespoke::cli
