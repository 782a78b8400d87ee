// observe: a command run unrestricted while every system call the manifest's policy would refuse is
// recorded; then the report (and, with --manifest-out, the manifest with those additions). Two mechanisms:
// seccomp (default) — the manifest's filter with its refusals handed to bespoke as user notifications
// (extension-gen/ObserveNotify, the filter proven by the Gate like any other) — and ebpf — a program on
// raw_syscalls:sys_enter (extension-gen/ObserveProgram, proven by verify/ObserveProof; run by
// extension-gen/ObserveRun). Wiring only; the report is extension-gen/ObserveReport.
#include "cli/Cli.h"
#include "extension-gen/Gate.h"
#include "extension-gen/ManifestPolicy.h"
#include "extension-gen/ObserveNotify.h"
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

  const bool viaEbpf = args.get("via").value_or("seccomp") == "ebpf";
  size_t decisionInsns = 0;
  llvm::Expected<ObserveRunResult> run = [&]() -> llvm::Expected<ObserveRunResult> {
    if (!viaEbpf) {
      auto proven = compileProven(notifyPolicy(*policy));
      if (!proven) return proven.takeError();
      return runNotified(proven->program, *policy, *path, command);
    }
    auto make = [&](const ObserveMaps &maps) -> llvm::Expected<ObserveProgram> {
      auto p = compileProvenObserve(*policy, maps);
      if (p) decisionInsns = p->decisionEnd - p->decisionBegin;
      return p;
    };
    return runObserved(make, *path, command);
  }();
  if (!run) {
    llvm::Error e = run.takeError();
    if (e.isA<ProofError>()) return proofFailure("observe", std::move(e)); // the gate's: exit 1 or 2 by kind
    fprintf(stderr, "bespoke observe: %s\n", llvm::toString(std::move(e)).c_str());
    return ExitUsage;
  }
  if (!quiet) {
    if (viaEbpf)
      fprintf(stderr, "bespoke observe: note: the observe program (id %u, %zu instructions, a %zu-instruction decision "
              "proven by Z3) watched %s; it ended with exit status %d\n",
              run->programId, run->instructions, decisionInsns, command[0].c_str(), run->status);
    else
      fprintf(stderr, "bespoke observe: note: the observe filter (%zu instructions, proven by Z3 to hand over exactly "
              "what the policy refuses, and every execve) watched %s; it ended with exit status %d\n",
              run->instructions, command[0].c_str(), run->status);
    if (run->leftBehindKilled)
      fprintf(stderr, "bespoke observe: note: %s left %d processes running; killed them to end the observation\n",
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
           "Complain mode, before enforcing: runs CMD unrestricted in a fresh cgroup v2 and records every system\n"
           "call of it and its children that MANIFEST's seccomp policy (as `run` would install it) would refuse,\n"
           "with the arguments the policy checks and a user stack. When CMD ends, each refused syscall is\n"
           "reported with its count, the filter's answer and the stack (module!symbol@address through the\n"
           "manifest's modules). Two mechanisms (--via):\n"
           "  seccomp  (default) the manifest's filter, with every refusal turned into a user notification, is\n"
           "           installed before CMD's exec; bespoke receives each refused call, records it and lets it\n"
           "           run. Allowed calls never leave the kernel (a few percent at most; nothing for other\n"
           "           processes). Stacks: the syscall instruction, then return addresses found by scanning the\n"
           "           stack (a stale one can appear). Also sees int 0x80 calls as i386.\n"
           "  ebpf     an eBPF program on raw_syscalls:sys_enter records the calls of the cgroup's processes;\n"
           "           stacks walk frame pointers. Every task of the machine pays the hook (7-12 % of a\n"
           "           loopback server's throughput here: bench/RESULTS.md).\n"
           "Either way what decides is proven by Z3 against the policy before it is used. The report is written\n"
           "when CMD has ended; CMD's own output stays where it was, so give -o when CMD writes to standard\n"
           "output too. Needs root and a mounted cgroup v2 (ebpf: CAP_BPF, CAP_PERFMON).\n",
           "exit status: CMD's own; 1 the observe filter or program was not proven, 2 bad input (also: no cgroup\n"
           "v2, not root, the kernel refused the program or filter), 127 CMD cannot be executed\n",
           " (put the command after --)"},
          {value("manifest", {"--manifest", "-m"}, "MANIFEST", "a file name", "the application's manifest")
               .tool({"manifest", "Path of the application's manifest.", true, McpPath::Operand}),
           value("via", {"--via"}, "MECHANISM", "a mechanism",
                 "seccomp (default: a filter handing refused calls to bespoke) or ebpf (a program on\n"
                 "raw_syscalls:sys_enter)")
               .oneOf({"seccomp", "ebpf"})
               .tool({"via", "How to observe: seccomp (default; costs the observed program a few percent at most) "
                             "or ebpf (a sys_enter program; every process on the machine pays its hook)."}),
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
