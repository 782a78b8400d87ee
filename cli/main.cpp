// bespoke: the command-line driver. Finds the command and hands it its arguments; the commands parse
// them with their option tables and wire the pipeline stages (no analysis here).
#include "cli/Cli.h"

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  using namespace bespoke::cli;
  if (argc < 2) {
    fputs(topHelp().c_str(), stderr);
    return ExitUsage;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    fputs(topHelp().c_str(), stdout);
    return ExitOk;
  }
  if (const Command *c = findCommand(cmd)) return runCommand(*c, std::vector<std::string>(argv + 2, argv + argc));
  fprintf(stderr, "bespoke: unknown command '%s'\n", cmd.c_str());
  fputs(topHelp().c_str(), stderr);
  return ExitUsage;
}
