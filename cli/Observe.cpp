// observe: a command run unrestricted while a proven eBPF program records every system call the manifest's
// policy would refuse; then the report (and, with --manifest-out, the manifest with those additions).
// Wiring only: the program is extension-gen/ObserveProgram (proven by verify/ObserveProof through the
// Gate), the run extension-gen/ObserveRun, the report extension-gen/ObserveReport.
#include "cli/Cli.h"
#include "extension-gen/Gate.h"
#include "extension-gen/ManifestPolicy.h"
#include "extension-gen/ObserveReport.h"
#include "extension-gen/ObserveRun.h"
#include "extension-gen/StackSymbols.h"
#include "manifests/Manifest.h"

#include <cstdio>
#include <string>
#include <vector>

namespace bespoke::cli {

namespace {

int runObserve(const ParsedArgs &args) {
  std::optional<std::string> manifest = args.get("manifest");
  std::vector<std::string> command = args.rest;
  if (!manifest) return usageError("observe", "missing --manifest MANIFEST");
  if (command.empty()) return usageError("observe", "missing the command (bespoke observe --manifest M -- CMD ARGS...)");
  bool quiet = args.has("quiet"), json = args.has("json");
  std::string output = args.get("output").value_or("-");
  std::optional<std::string> manifestOut = args.get("manifest-out");

  Manifest m;
  auto policy = loadPolicy("observe", *manifest, defaultAction(args), policyOptions(args), quiet, &m);
  if (!policy) return inputError(policy.takeError());
  // As `run` installs its filter before the exec: the exec of CMD itself is no violation.
  grantExecve(*policy);
  std::optional<std::string> path = resolveCommand(command[0]);
  if (!path) {
    fprintf(stderr, "bespoke observe: %s: command not found or not executable\n", command[0].c_str());
    return 127;
  }

  std::vector<StackModule> modules;
  for (const ModuleInfo &mod : m.footprint.modules) modules.push_back({mod.name, mod.path});
  StackSymbols symbols = StackSymbols::load(modules);

  size_t decisionInsns = 0;
  auto make = [&](const ObserveMaps &maps) -> llvm::Expected<ObserveProgram> {
    auto p = compileProvenObserve(*policy, maps);
    if (p) decisionInsns = p->decisionEnd - p->decisionBegin;
    return p;
  };
  auto run = runObserved(make, *path, command);
  if (!run) {
    llvm::Error e = run.takeError();
    if (e.isA<ProofError>()) return proofFailure("observe", std::move(e)); // the gate's: exit 1 or 2 by kind
    fprintf(stderr, "bespoke observe: %s\n", llvm::toString(std::move(e)).c_str());
    return ExitUsage;
  }
  if (!quiet) {
    fprintf(stderr, "bespoke observe: note: the observe program (id %u, %zu instructions, a %zu-instruction decision "
            "proven by Z3) watched %s; it ended with exit status %d\n",
            run->programId, run->instructions, decisionInsns, command[0].c_str(), run->status);
    if (run->leftBehindKilled)
      fprintf(stderr, "bespoke observe: note: %s left %d processes running; killed them to detach the program\n",
              command[0].c_str(), run->leftBehindKilled);
  }
  ObserveReport report = buildObserveReport(*policy, *run, symbols);
  std::string text = json ? renderObserveJson(report) : renderObserveText(report);
  if (llvm::Error e = writeOutput(output, text)) {
    fprintf(stderr, "bespoke observe: %s\n", llvm::toString(std::move(e)).c_str());
    return ExitUsage;
  }
  if (manifestOut) {
    if (llvm::Error e = saveManifest(withObserved(m, report), *manifestOut)) {
      fprintf(stderr, "bespoke observe: %s\n", llvm::toString(std::move(e)).c_str());
      return ExitUsage;
    }
  }
  return run->status;
}

} // namespace

Command observeCommand() {
  return {"observe", "run a command and report what a manifest's filter would refuse",
          {"usage: bespoke observe --manifest MANIFEST [options] -- CMD [ARGS...]\n",
           "Complain mode, before enforcing: runs CMD unrestricted in a fresh cgroup v2 while an eBPF program on\n"
           "raw_syscalls:sys_enter records every system call of the cgroup's processes that MANIFEST's seccomp\n"
           "policy (as `run` would install it) might refuse, with the arguments the policy checks and the first\n"
           "user stack. When CMD ends, each refused syscall is reported with its count, the filter's answer and\n"
           "the stack (module!symbol@address through the manifest's modules; frames after the first are only as\n"
           "good as the code's frame pointers). The program's decision is proven by Z3 against the policy before\n"
           "it is loaded. The report is written when CMD has ended; CMD's own output stays where it was, so give\n"
           "-o when CMD writes to standard output too. Needs root (CAP_BPF, CAP_PERFMON) and a mounted cgroup v2.\n",
           "exit status: CMD's own; 1 the observe program was not proven, 2 bad input (also: no cgroup v2, not\n"
           "root, the kernel refused the program), 127 CMD cannot be executed\n",
           " (put the command after --)"},
          {value("manifest", {"--manifest", "-m"}, "MANIFEST", "a file name", "the application's manifest")
               .tool({"manifest", "Path of the application's manifest.", true, McpPath::Operand}),
           flag("json", {"--json"}, "the report as JSON ({\"violations\": [{\"syscall\", \"count\", \"stack\", ...}], ...})"),
           value("output", {"-o", "--output"}, "REPORT", "a file name", "where to write the report (default: standard output)")
               .tool({"output", "File to write the report to (default: the result text).", false,
                      McpPath::OperandOrDash}),
           value("manifest-out", {"--manifest-out"}, "NEW", "a file name",
                 "also write the manifest with the observed additions (evidence root 'observed')")
               .tool({"manifest_out", "Also write the manifest with the observed additions here.", false,
                      McpPath::Operand}),
           defaultActionOption("the policy's default action, as `run` would use it (default kill-process)", true),
           noArgsOption(true), clone3EnosysOption(true), quietOption("no notes on standard error"),
           rest("command").tool({"command", "The command to run and observe: the program (a path, or a name "
                                 "searched in PATH) and its arguments.", true})},
          runObserve};
}

} // namespace bespoke::cli
