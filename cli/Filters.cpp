// extend, verify, run: manifest -> Policy -> proven program -> rendering, file or exec; and any filter
// against a manifest's policy. Option tables and wiring; the work is in extension-gen/ and verify/.
#include "cli/Cli.h"
#include "analyzer/SyscallTable.h"
#include "extension-gen/Gate.h"
#include "extension-gen/Install.h"
#include "extension-gen/ManifestNet.h"
#include "extension-gen/ManifestPolicy.h"
#include "extension-gen/NetRun.h"
#include "extension-gen/Render.h"
#include "manifests/Manifest.h"
#include "seccomp/Bpf.h"
#include "seccomp/Interpreter.h"
#include "verify/Equivalence.h"
#include "verify/Safety.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace bespoke::cli {

namespace {

std::string syscallText(uint32_t nr) {
  std::optional<std::string_view> name = syscallName(static_cast<int32_t>(nr));
  char num[24];
  snprintf(num, sizeof num, "%d", static_cast<int32_t>(nr));
  return name ? std::string(*name) + " (" + num + ")" : std::string(num);
}

size_t argumentChecked(const Policy &p) {
  return size_t(std::count_if(p.allowed.begin(), p.allowed.end(), [](const SyscallRule &r) { return !r.unconditional(); }));
}

// A filter is only as complete as its manifest: say so when the analysis left sites unresolved.
void noteUnresolved(const char *cmd, const std::string &manifestPath, const Manifest &m) {
  size_t n = m.footprint.unresolved.size();
  if (n)
    fprintf(stderr, "bespoke %s: note: %s lists %zu unresolved site%s (see its unresolved: section); system calls "
                    "made only there are not in the filter\n",
            cmd, manifestPath.c_str(), n, n == 1 ? "" : "s");
}

int runExtend(const ParsedArgs &args) {
  std::optional<std::string> manifest = args.get("manifest"), format = args.get("format"),
                             output = args.get("output");
  if (!manifest) return usageError("extend", "missing MANIFEST");
  if (!format) return usageError("extend", "missing --format (bpf, c, oci, systemd or spo)");
  if (!output) return usageError("extend", "missing -o OUT ('-' for standard output)");
  bool quiet = args.has("quiet");

  Manifest m;
  auto policy = loadPolicy("extend", *manifest, defaultAction(args), policyOptions(args), quiet, &m);
  if (!policy) return inputError(policy.takeError());
  auto proven = compileProven(*policy);
  if (!proven) return proofFailure("extend", proven.takeError());
  const ProvenFilter &pf = *proven;

  const std::string &app = m.footprint.app.name;
  std::string text;
  if (*format == "bpf") text = writeBpf(pf.program);
  else if (*format == "c") text = renderCHeader(pf.program, *policy, app.empty() ? "bespoke_filter" : app + "_filter");
  else if (*format == "oci") text = renderOciJson(*policy);
  else if (*format == "systemd") text = renderSystemd(*policy, app);
  else text = renderSpo(*policy, app);

  if (*format == "bpf" && *output == "-" && isatty(1))
    return usageError("extend", "refusing to write binary BPF to a terminal (use -o FILE)");
  if (llvm::Error e = writeOutput(*output, text)) {
    fprintf(stderr, "bespoke: error: %s: cannot write: %s\n", output->c_str(), llvm::toString(std::move(e)).c_str());
    return ExitUsage;
  }
  if (!quiet) {
    noteUnresolved("extend", *manifest, m);
    PathStats ps = pathLengths(pf.program, *policy);
    fprintf(stderr,
            "bespoke: %s: %zu syscalls (%zu with argument checks) -> %zu BPF instructions (worst path %zu, mean "
            "%.1f), proven equivalent in %.2f s; %zu of %zu allowed syscalls kernel-cached -> %s (%s)\n",
            app.c_str(), policy->allowed.size(), argumentChecked(*policy), pf.program.size(), ps.worst, ps.mean,
            pf.verdict.seconds,
            pf.verdict.kernelCachedSyscalls.size(), policy->allowed.size(),
            *output == "-" ? "standard output" : output->c_str(), format->c_str());
  }
  return ExitOk;
}

int runVerify(const ParsedArgs &args) {
  std::optional<std::string> manifest = args.get("manifest"), filter = args.get("filter");
  if (!manifest) return usageError("verify", "missing --manifest MANIFEST");
  if (!filter) return usageError("verify", "missing --filter FILE");
  bool quiet = args.has("quiet");

  auto policy = loadPolicy("verify", *manifest, defaultAction(args), policyOptions(args), quiet, nullptr);
  if (!policy) return inputError(policy.takeError());
  const std::string &fp = *filter;
  if (llvm::sys::fs::is_directory(fp)) {
    fprintf(stderr, "bespoke: error: %s: is a directory, not a filter\n", fp.c_str());
    return ExitUsage;
  }
  auto buf = llvm::MemoryBuffer::getFile(fp, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf) {
    fprintf(stderr, "bespoke: error: %s: cannot read: %s\n", fp.c_str(), buf.getError().message().c_str());
    return ExitUsage;
  }
  auto prog = readBpf((*buf)->getBuffer(), fp);
  if (!prog) return inputError(prog.takeError());

  // A file cut short (or not a filter at all) is bad input; a complete program the kernel would refuse
  // (a forbidden opcode, a misaligned load, ...) is a negative verdict.
  std::vector<std::string> broken = checkStructure(*prog);
  if (!broken.empty()) {
    fprintf(stderr, "bespoke: error: %s: not a complete filter (truncated?): %s\n", fp.c_str(), broken[0].c_str());
    return ExitUsage;
  }
  std::vector<std::string> problems = checkSafety(*prog);
  if (!problems.empty()) {
    printf("UNSAFE: %s: the kernel would refuse this filter: %s\n", fp.c_str(), problems[0].c_str());
    if (!quiet)
      for (size_t i = 1; i < problems.size(); ++i) printf("  also: %s\n", problems[i].c_str());
    return exitStatus(ProofError::KernelWouldRefuse);
  }
  auto verdict = proveEquivalent(*prog, *policy);
  if (!verdict) {
    int status = ExitUsage;
    llvm::handleAllErrors(verdict.takeError(), [&](const ProofError &e) {
      status = exitStatus(e.kind);
      fprintf(stderr, "bespoke verify: %s: no verdict: %s\n", fp.c_str(), e.message.c_str());
    });
    return status;
  }
  if (!verdict->equivalent) {
    printf("NOT EQUIVALENT: %s does not implement %s's policy (default %s): for seccomp_data %s the filter "
           "returns %s, the policy says %s\n",
           fp.c_str(), manifest->c_str(), policy->defaultAction.name().c_str(), verdict->counterexample.c_str(),
           actionText(verdict->filterAction).c_str(), actionText(verdict->policyAction).c_str());
    if (!quiet) printf("  syscall: %s\n", syscallText(verdict->witness.nr).c_str());
    return exitStatus(ProofError::NotEquivalent);
  }
  printf("PROVEN: %s implements %s's policy (%zu allowed syscalls, default %s) for every seccomp_data; "
         "%zu instructions, %.2f s\n",
         fp.c_str(), manifest->c_str(), policy->allowed.size(), policy->defaultAction.name().c_str(),
         prog->size(), verdict->seconds);
  if (!quiet) {
    const auto &cached = verdict->kernelCachedSyscalls;
    printf("constant-action cache: %zu of %zu allowed syscalls are decided from nr and arch alone and cached "
           "by the kernel (Linux >= 5.11)",
           cached.size(), policy->allowed.size());
    std::vector<std::string> missing;
    for (const SyscallRule &r : policy->allowed)
      if (!std::binary_search(cached.begin(), cached.end(), r.nr)) missing.push_back(r.name);
    if (!missing.empty()) {
      printf("; not cached:");
      for (const std::string &n : missing) printf(" %s", n.c_str());
    }
    printf("\n");
  }
  return ExitOk;
}

// `run --net`: the command forked into a cgroup with the network policy's eBPF programs, each proven first.
int runUnderNet(const std::string &manifestPath, const Manifest &m, const ProvenFilter &pf, const std::string &path,
                const std::vector<std::string> &command, const ParsedArgs &args, bool quiet) {
  NetFlags flags{args.all("allow-bind"), args.all("allow-connect")};
  auto policy = netPolicyFromManifest(m, manifestPath, flags);
  if (!policy) return inputError(policy.takeError());
  auto programs = compileProvenNet(*policy);
  if (!programs) return proofFailure("run", programs.takeError());
  if (!quiet) {
    std::string fams;
    for (uint32_t f : policy->families) fams += (fams.empty() ? "" : ", ") + std::to_string(f);
    fprintf(stderr, "bespoke run: note: --net: %zu eBPF programs proven; socket families [%s] (AF_INET=2, AF_INET6=10 "
            "are the ones checked), %zu bind ports (and port 0), %s\n", programs->size(), fams.c_str(),
            policy->bindPorts.size(), policy->connectAny ? "connect anywhere"
            : (std::to_string(policy->connect.size()) + " connect destinations").c_str());
  }
  auto r = runUnderNetPrograms(*programs, path, command, [&]() { return installFilter(pf.program); });
  if (!r) {
    fprintf(stderr, "bespoke run: --net: %s\n", llvm::toString(r.takeError()).c_str());
    return ExitUsage;
  }
  if (r->leftBehindKilled && !quiet)
    fprintf(stderr, "bespoke run: note: %s left %d processes running; killed them to detach the network programs\n",
            command[0].c_str(), r->leftBehindKilled);
  return r->status;
}

int runRun(const ParsedArgs &args) {
  std::optional<std::string> manifest = args.get("manifest");
  std::vector<std::string> command = args.rest;
  if (!manifest) return usageError("run", "missing --manifest MANIFEST");
  if (command.empty()) return usageError("run", "missing the command (bespoke run --manifest M -- CMD ARGS...)");
  bool quiet = args.has("quiet");
  if (!args.has("net") && (args.has("allow-bind") || args.has("allow-connect")))
    return usageError("run", "--allow-bind and --allow-connect need --net");

  Manifest m;
  auto policy = loadPolicy("run", *manifest, defaultAction(args), policyOptions(args), quiet, &m);
  if (!policy) return inputError(policy.takeError());
  ExecveGrant grant = grantExecve(*policy);
  if (!quiet && grant != ExecveGrant::AlreadyAllowed)
    fprintf(stderr, "bespoke run: note: %s %s; allowing it, since the filter is installed before the exec\n",
            manifest->c_str(), grant == ExecveGrant::Added ? "lacks execve" : "allows execve only for some arguments");
  if (!quiet) noteUnresolved("run", *manifest, m);
  auto proven = compileProven(*policy);
  if (!proven) return proofFailure("run", proven.takeError());
  const ProvenFilter &pf = *proven;

  std::optional<std::string> path = resolveCommand(command[0]);
  if (!path) {
    fprintf(stderr, "bespoke run: %s: command not found or not executable\n", command[0].c_str());
    return 127;
  }
  if (args.has("net")) return runUnderNet(*manifest, m, pf, *path, command, args, quiet);
  std::vector<char *> argv;
  for (std::string &a : command) argv.push_back(a.data());
  argv.push_back(nullptr);
  fflush(nullptr);
  if (llvm::Error e = installFilter(pf.program)) {
    fprintf(stderr, "bespoke run: cannot install the filter: %s\n", llvm::toString(std::move(e)).c_str());
    return ExitUsage;
  }
  execv(path->c_str(), argv.data());
  // Only reachable if the exec failed after the check above; the filter may kill us on the way out.
  int err = errno;
  fprintf(stderr, "bespoke run: %s: %s\n", path->c_str(), strerror(err));
  _exit(127);
}


} // namespace

Command extendCommand() {
  return {"extend", "compile a manifest into a verified seccomp filter",
          {"usage: bespoke extend MANIFEST --format FORMAT -o OUT [options]\n",
           "Compiles the manifest's policy (x86-64 only; x32 numbers and other architectures killed; every\n"
           "manifest syscall allowed, for the argument values its facts list where they list any (low 32\n"
           "bits); everything else the default action) to classic BPF, proves with Z3 that the program means\n"
           "exactly that policy, and only then writes OUT (atomically). systemd drop-ins cannot check\n"
           "arguments: there those syscalls are allowed for any arguments (the file says so).\n",
           "exit status: 0 written, 1 the compiled filter was not proven (the kernel would refuse it, it is not\n"
           "equivalent, or the prover reached no verdict; nothing written), 2 bad input\n"},
          {operand("manifest", "MANIFEST").tool({"manifest", "Path of the manifest.", true, McpPath::Operand}),
           value("manifest", {"--manifest", "-m"}, "MANIFEST", "a file name",
                 "the manifest, as an option instead of the argument"),
           value("format", {"--format", "-f"}, "FORMAT", "a format",
                 "bpf      raw struct sock_filter array (what seccomp_export_bpf writes)\n"
                 "c        a C header with the program and its struct sock_fprog\n"
                 "oci      an OCI / Docker seccomp profile (JSON)\n"
                 "systemd  a systemd drop-in (SystemCallFilter=, SystemCallArchitectures=)\n"
                 "spo      a Kubernetes security-profiles-operator SeccompProfile")
               .oneOf({"bpf", "c", "oci", "systemd", "spo"})
               .tool({"format", "Output format.", true}),
           value("output", {"-o", "--output"}, "OUT", "a file name", "where to write ('-' for standard output)")
               .tool({"output", "File to write ('-' returns a text format in the result instead).", true,
                      McpPath::OperandOrDash}),
           defaultActionOption("for syscalls outside the manifest: kill-process (default), kill-thread,\n"
                               "errno:N (0..4095), trap, log",
                               true),
           noArgsOption(true), clone3EnosysOption(true), quietOption("no summary on standard error")},
          runExtend};
}

Command verifyCommand() {
  return {"verify", "prove a filter equivalent to a manifest's policy",
          {"usage: bespoke verify --manifest MANIFEST --filter FILTER.bpf [options]\n",
           "Checks that the kernel would accept FILTER (raw little-endian struct sock_filter array, from bespoke\n"
           "extend or seccomp_export_bpf) and proves with Z3 that it returns exactly what MANIFEST's policy\n"
           "prescribes for every seccomp_data: all syscall numbers, x32 and foreign architectures, all\n"
           "arguments and instruction pointers. On a difference, prints one seccomp_data and both actions.\n"
           "Also reports which allowed syscalls the kernel's constant-action cache (Linux >= 5.11) serves.\n",
           "exit status: 0 proven, 1 not proven (not equivalent, unsafe, or the prover reached no verdict),\n"
           "2 bad input\n"},
          {value("manifest", {"--manifest", "-m"}, "MANIFEST", "a file name", "the manifest the filter must implement")
               .tool({"manifest", "Path of the manifest the filter must implement.", true, McpPath::Operand}),
           value("filter", {"--filter", "-F"}, "FILE", "a file name", "the filter")
               .tool({"filter", "Path of the filter (raw little-endian struct sock_filter array).", true,
                      McpPath::Operand}),
           defaultActionOption("the policy's default action (as for extend; default kill-process)", true),
           noArgsOption(true), clone3EnosysOption(true), quietOption("print only the verdict line")},
          runVerify};
}

Command runUnderFilterCommand() {
  return {"run", "run a command under a manifest's verified filter",
          {"usage: bespoke run --manifest MANIFEST [options] -- CMD [ARGS...]\n",
           "Compiles and proves MANIFEST's filter (as extend does), sets no_new_privs, installs the filter for\n"
           "every thread (SECCOMP_FILTER_FLAG_TSYNC) and executes CMD. The filter is installed before the exec,\n"
           "so execve is allowed even when the manifest lacks it (a note says so).\n"
           "With --net (root, cgroup v2), CMD also runs in a fresh cgroup with eBPF programs, each proven by Z3\n"
           "against the network policy before it is loaded: AF_INET/AF_INET6 sockets only of the manifest's\n"
           "socket families, bind only to --allow-bind ports (and port 0), connect and sendmsg only to\n"
           "--allow-connect destinations; anything else fails with EPERM and CMD keeps running. The cgroup\n"
           "and programs are removed when CMD ends (processes it leaves behind are killed).\n",
           "exit status: CMD's own; 1 the filter or a network program was not proven, 2 bad input (also: no\n"
           "cgroup v2, not root, a manifest without socket facts with --net), 127 CMD cannot be executed\n",
           " (put the command after --)"},
          {value("manifest", {"--manifest", "-m"}, "MANIFEST", "a file name", "the application's manifest"),
           defaultActionOption("for syscalls outside the manifest (as for extend; default kill-process)", false),
           noArgsOption(false), clone3EnosysOption(false),
           flag("net", {"--net"}, "also enforce the network policy with proven eBPF cgroup programs (root)"),
           value("allow-bind", {"--allow-bind"}, "PORT", "a port", "with --net: a port CMD may bind (repeatable)").repeat(),
           value("allow-connect", {"--allow-connect"}, "DEST", "HOST:PORT|any",
                 "with --net: where CMD may connect or send datagrams: 10.0.0.53:53,\n"
                 "[2001:db8::1]:443, *:53, 10.0.0.53:* or any (repeatable)")
               .repeat(),
           quietOption("no notes on standard error"), rest("command")},
          runRun};
}

} // namespace bespoke::cli
