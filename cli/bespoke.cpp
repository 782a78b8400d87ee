// bespoke: the command-line driver. It parses flags and wires the pipeline stages; no analysis here.
#include "cli/Cli.h"
#include "cli/Images.h"
#include "cli/Mcp.h"
#include "analyzer/BinaryAnalyzer.h"
#include "analyzer/ModelCache.h"
#include "analyzer/SyscallTable.h"
#include "extension-gen/Gate.h"
#include "extension-gen/Install.h"
#include "extension-gen/ManifestPolicy.h"
#include "extension-gen/Render.h"
#include "manifests/Manifest.h"
#include "seccomp/Bpf.h"
#include "seccomp/Interpreter.h"
#include "verify/Equivalence.h"
#include "verify/Safety.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace bespoke;
using namespace bespoke::cli;

namespace {

struct Command {
  const char *name;
  const char *summary;
  const char *usage;
};

const Command Commands[] = {
    {"analyze", "compute an application's syscall footprint and write its manifest",
     "usage: bespoke analyze BINARY [-o MANIFEST.yaml] [options]\n"
     "       bespoke analyze --compile-commands compile_commands.json [--binary BINARY] [-o MANIFEST.yaml]\n"
     "\n"
     "Statically finds every system call BINARY (an x86-64 ELF executable, static or dynamic) can reach,\n"
     "following its shared-library closure the way ld.so does, and writes a manifest (see manifests/README.md).\n"
     "With --compile-commands, analyses the program's C/C++ source instead (Clang, every translation unit in\n"
     "parallel): call graph by USR, indirect calls matched by function type, argument facts (socket families,\n"
     "ioctl requests, open flags, /proc and /dev paths) and file:line evidence; calls into libraries are\n"
     "resolved through the binary analyzer's model of the C library the program links (or of BINARY's whole\n"
     "closure with --binary, which also cross-checks: syscalls only one analysis finds are reported and the\n"
     "manifest keeps the union). A translation unit that does not compile is reported, the others analysed,\n"
     "the manifest written with it under unresolved:, and the exit status is 2.\n"
     "\n"
     "options:\n"
     "  -o, --output FILE   write the manifest to FILE (atomically) instead of standard output\n"
     "  --compile-commands FILE  analyse the source of the program described by this compile database\n"
     "  --binary FILE       with --compile-commands: the built program, to model its libraries and cross-check\n"
     "  --library FILE      with --compile-commands and no --binary: the C library to model (default: musl's\n"
     "                      libc.so for musl-gcc builds, else glibc's libc.so.6)\n"
     "  --cache-dir DIR     keep per-library models in DIR (default: $BESPOKE_CACHE_DIR,\n"
     "                      $XDG_CACHE_HOME/bespoke or ~/.cache/bespoke)\n"
     "  --no-cache          analyse every module from scratch and store nothing\n"
     "  -j, --jobs N        modules analysed in parallel (default: one per core)\n"
     "  -q, --quiet         no progress or summary on standard error\n"
     "  -h, --help          show this help\n"
     "\n"
     "exit status: 0 manifest written, 2 bad input (not an x86-64 ELF, missing library, bad flags)\n",
    },
    {"extend", "compile a manifest into a verified seccomp filter",
     "usage: bespoke extend MANIFEST --format FORMAT -o OUT [options]\n"
     "\n"
     "Compiles the manifest's policy (x86-64 only; x32 numbers and other architectures killed; every\n"
     "manifest syscall allowed; everything else the default action) to classic BPF, proves with Z3 that\n"
     "the program means exactly that policy, and only then writes OUT (atomically).\n"
     "\n"
     "options:\n"
     "  -f, --format FORMAT      bpf      raw struct sock_filter array (what seccomp_export_bpf writes)\n"
     "                           c        a C header with the program and its struct sock_fprog\n"
     "                           oci      an OCI / Docker seccomp profile (JSON)\n"
     "                           systemd  a systemd drop-in (SystemCallFilter=, SystemCallArchitectures=)\n"
     "                           spo      a Kubernetes security-profiles-operator SeccompProfile\n"
     "  -o, --output OUT         where to write ('-' for standard output)\n"
     "  -d, --default-action A   for syscalls outside the manifest: kill-process (default), kill-thread,\n"
     "                           errno:N (0..4095), trap, log\n"
     "  -q, --quiet              no summary on standard error\n"
     "  -h, --help               show this help\n"
     "\n"
     "exit status: 0 written, 1 the compiled filter was not proven (the kernel would refuse it, it is not\n"
     "equivalent, or the prover reached no verdict; nothing written), 2 bad input\n",
    },
    {"verify", "prove a filter equivalent to a manifest's policy",
     "usage: bespoke verify --manifest MANIFEST --filter FILTER.bpf [options]\n"
     "\n"
     "Checks that the kernel would accept FILTER (raw little-endian struct sock_filter array, from bespoke\n"
     "extend or seccomp_export_bpf) and proves with Z3 that it returns exactly what MANIFEST's policy\n"
     "prescribes for every seccomp_data: all syscall numbers, x32 and foreign architectures, all\n"
     "arguments and instruction pointers. On a difference, prints one seccomp_data and both actions.\n"
     "Also reports which allowed syscalls the kernel's constant-action cache (Linux >= 5.11) serves.\n"
     "\n"
     "options:\n"
     "  -m, --manifest MANIFEST  the manifest the filter must implement\n"
     "  -F, --filter FILE        the filter\n"
     "  -d, --default-action A   the policy's default action (as for extend; default kill-process)\n"
     "  -q, --quiet              print only the verdict line\n"
     "  -h, --help               show this help\n"
     "\n"
     "exit status: 0 proven, 1 not proven (not equivalent, unsafe, or the prover reached no verdict),\n"
     "2 bad input\n",
    },
    {"run", "run a command under a manifest's verified filter",
     "usage: bespoke run --manifest MANIFEST [options] -- CMD [ARGS...]\n"
     "\n"
     "Compiles and proves MANIFEST's filter (as extend does), sets no_new_privs, installs the filter for\n"
     "every thread (SECCOMP_FILTER_FLAG_TSYNC) and executes CMD. The filter is installed before the exec,\n"
     "so execve is allowed even when the manifest lacks it (a note says so).\n"
     "\n"
     "options:\n"
     "  -m, --manifest MANIFEST  the application's manifest\n"
     "  -d, --default-action A   for syscalls outside the manifest (as for extend; default kill-process)\n"
     "  -q, --quiet              no notes on standard error\n"
     "  -h, --help               show this help\n"
     "\n"
     "exit status: CMD's own; 1 the filter was not proven, 2 bad input, 127 CMD cannot be executed\n",
    },
    {"decide", "recommend extend or rewrite for an application, with blockers and gains", DecideUsage},
    {"rewrite", "build a trimmed unikernel image for an application", RewriteUsage},
    {"boot", "boot a rewritten image under QEMU", BootUsage},
    {"diff", "compare two manifests: added and removed syscalls, argument facts, kernel paths", DiffUsage},
    {"check", "CI gate: fail when an application's footprint grew beyond a baseline manifest", CheckUsage},
    {"mcp", "serve bespoke to agents over the Model Context Protocol (stdio)", McpUsage},
};

void printTopHelp(FILE *out) {
  fprintf(out, "usage: bespoke COMMAND [ARGS...]\n\n"
               "bespoke specializes Linux applications for the kernel they run on.\n\ncommands:\n");
  for (const Command &c : Commands)
    fprintf(out, "  %-9s %s\n", c.name, c.summary);
  fprintf(out, "\nRun 'bespoke COMMAND --help' for a command's options.\n"
               "exit status: 0 success, 1 negative verdict, 2 usage or input error\n");
}

// The manifest to OUTPUT (atomically) or to standard output.
int writeManifest(const Manifest &m, const std::optional<std::string> &output) {
  if (output) {
    if (llvm::Error e = saveManifest(m, *output)) return inputError(std::move(e));
  } else {
    fputs(renderManifest(m).c_str(), stdout);
  }
  return ExitOk;
}

int runAnalyze(const std::vector<std::string> &args) {
  AnalysisInputs in = defaultAnalysisInputs();
  std::optional<std::string> output;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    bool consumed = false;
    if (int rc = parseAnalysisFlag("analyze", args, i, in, consumed); rc != ExitOk) return rc;
    if (consumed) continue;
    if (a == "-h" || a == "--help") { fputs(Commands[0].usage, stdout); return ExitOk; }
    else if (a == "-o" || a == "--output") {
      if (i + 1 >= args.size()) return usageError("analyze", a + " needs a file name");
      output = args[++i];
    }
    else if (a == "-q" || a == "--quiet") in.quiet = true;
    else if (a.size() > 1 && a[0] == '-') return usageError("analyze", "unknown option '" + a + "'");
    else if (in.binary) return usageError("analyze", "more than one BINARY given ('" + *in.binary + "' and '" + a + "')");
    else in.binary = a;
  }
  if (int rc = checkAnalysisInputs("analyze", in); rc != ExitOk) return rc;
  auto analysis = analyzeProgram(in);
  if (!analysis) return inputError(analysis.takeError());
  if (int rc = writeManifest(analysis->manifest, output); rc != ExitOk) return rc;
  if (!in.quiet)
    fprintf(stderr, "bespoke: %s%s%s\n", analysis->summary.c_str(), output ? " -> " : "", output ? output->c_str() : "");
  if (!analysis->problems.empty()) {
    // The manifest is written (marked incomplete under unresolved:), but the run is not a success.
    fprintf(stderr, "bespoke: error: %s\n", analysis->problems.c_str());
    return ExitUsage;
  }
  return ExitOk;
}

// ---------------------------------------------------------------------------------------------------
// extend / verify / run: manifest -> Policy -> program -> proof -> rendering, file or exec.

const char *const DefaultActionChoices = "kill-process, kill-thread, errno:N (0..4095), trap or log";

std::optional<Action> parseDefaultAction(const std::string &text) {
  std::optional<Action> a = parseAction(text);
  if (!a || a->kind == Action::Allow) return std::nullopt; // an allow-everything filter is not a filter
  return a;
}

std::string syscallText(uint32_t nr) {
  std::optional<std::string_view> name = syscallName(static_cast<int32_t>(nr));
  char num[24];
  snprintf(num, sizeof num, "%d", static_cast<int32_t>(nr));
  return name ? std::string(*name) + " (" + num + ")" : std::string(num);
}

// The policy of a manifest; errors name the manifest.
llvm::Expected<Policy> loadPolicy(const std::string &manifestPath, Action defaultAction, Manifest *out) {
  auto m = loadManifest(manifestPath);
  if (!m) return m.takeError();
  auto p = policyFromManifest(*m, defaultAction);
  if (!p)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", manifestPath.c_str(),
                                   llvm::toString(p.takeError()).c_str());
  if (out) *out = std::move(*m);
  return p;
}

// A filter is only as complete as its manifest: say so when the analysis left sites unresolved.
void noteUnresolved(const char *cmd, const std::string &manifestPath, const Manifest &m) {
  size_t n = m.footprint.unresolved.size();
  if (n)
    fprintf(stderr, "bespoke %s: note: %s lists %zu unresolved site%s (see its unresolved: section); system calls "
                    "made only there are not in the filter\n",
            cmd, manifestPath.c_str(), n, n == 1 ? "" : "s");
}

// Shared flag parsing of the three commands. Returns ExitOk, or an exit status to return now.
struct FilterFlags {
  std::optional<std::string> manifest, filter, output, format;
  Action defaultAction{Action::KillProcess, 0};
  bool quiet = false;
  std::vector<std::string> positional, command;
};

int parseFilterFlags(const char *cmd, const Command &c, const std::vector<std::string> &args, FilterFlags &f,
                     bool &help) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    auto value = [&](std::optional<std::string> &slot) -> bool {
      if (i + 1 >= args.size()) return false;
      slot = args[++i];
      return true;
    };
    if (a == "-h" || a == "--help") { fputs(c.usage, stdout); help = true; return ExitOk; }
    if (a == "--" && std::string(cmd) == "run") {
      f.command.assign(args.begin() + i + 1, args.end());
      break;
    }
    if (a == "-m" || a == "--manifest") { if (!value(f.manifest)) return usageError(cmd, a + " needs a file name"); }
    else if (a == "-F" || a == "--filter") { if (!value(f.filter)) return usageError(cmd, a + " needs a file name"); }
    else if (a == "-o" || a == "--output") { if (!value(f.output)) return usageError(cmd, a + " needs a file name"); }
    else if (a == "-f" || a == "--format") { if (!value(f.format)) return usageError(cmd, a + " needs a format"); }
    else if (a == "-d" || a == "--default-action") {
      std::optional<std::string> v;
      if (!value(v)) return usageError(cmd, a + " needs an action (" + DefaultActionChoices + ")");
      std::optional<Action> act = parseDefaultAction(*v);
      if (!act) return usageError(cmd, "unknown default action '" + *v + "' (expected " + DefaultActionChoices + ")");
      f.defaultAction = *act;
    }
    else if (a == "-q" || a == "--quiet") f.quiet = true;
    else if (a.size() > 1 && a[0] == '-') return usageError(cmd, "unknown option '" + a + "'");
    else f.positional.push_back(a);
  }
  return ExitOk;
}

int runExtend(const Command &c, const std::vector<std::string> &args) {
  FilterFlags f;
  bool help = false;
  if (int rc = parseFilterFlags("extend", c, args, f, help); rc != ExitOk || help) return rc;
  if (f.manifest) f.positional.insert(f.positional.begin(), *f.manifest);
  if (f.positional.empty()) return usageError("extend", "missing MANIFEST");
  if (f.positional.size() > 1) return usageError("extend", "more than one MANIFEST given ('" + f.positional[0] + "' and '" + f.positional[1] + "')");
  if (!f.format) return usageError("extend", "missing --format (bpf, c, oci, systemd or spo)");
  static const char *const formats[] = {"bpf", "c", "oci", "systemd", "spo"};
  if (std::find(std::begin(formats), std::end(formats), *f.format) == std::end(formats))
    return usageError("extend", "unknown format '" + *f.format + "' (expected bpf, c, oci, systemd or spo)");
  if (!f.output) return usageError("extend", "missing -o OUT ('-' for standard output)");
  if (f.output->empty()) return usageError("extend", "-o needs a file name");

  Manifest m;
  auto policy = loadPolicy(f.positional[0], f.defaultAction, &m);
  if (!policy) return inputError(policy.takeError());
  auto proven = compileProven(*policy);
  if (!proven) return proofFailure("extend", proven.takeError());
  const ProvenFilter &pf = *proven;

  const std::string &app = m.footprint.app.name;
  std::string text;
  if (*f.format == "bpf") text = writeBpf(pf.program);
  else if (*f.format == "c") text = renderCHeader(pf.program, *policy, app.empty() ? "bespoke_filter" : app + "_filter");
  else if (*f.format == "oci") text = renderOciJson(*policy);
  else if (*f.format == "systemd") text = renderSystemd(*policy, app);
  else text = renderSpo(*policy, app);

  if (*f.format == "bpf" && *f.output == "-" && isatty(1))
    return usageError("extend", "refusing to write binary BPF to a terminal (use -o FILE)");
  if (llvm::Error e = writeOutput(*f.output, text)) {
    fprintf(stderr, "bespoke: error: %s: cannot write: %s\n", f.output->c_str(), llvm::toString(std::move(e)).c_str());
    return ExitUsage;
  }
  if (!f.quiet) {
    noteUnresolved("extend", f.positional[0], m);
    PathStats ps = pathLengths(pf.program, *policy);
    fprintf(stderr,
            "bespoke: %s: %zu syscalls -> %zu BPF instructions (worst path %zu, mean %.1f), proven equivalent "
            "in %.2f s; %zu of %zu allowed syscalls kernel-cached -> %s (%s)\n",
            app.c_str(), policy->allowed.size(), pf.program.size(), ps.worst, ps.mean, pf.verdict.seconds,
            pf.verdict.kernelCachedSyscalls.size(), policy->allowed.size(),
            *f.output == "-" ? "standard output" : f.output->c_str(), f.format->c_str());
  }
  return ExitOk;
}

int runVerify(const Command &c, const std::vector<std::string> &args) {
  FilterFlags f;
  bool help = false;
  if (int rc = parseFilterFlags("verify", c, args, f, help); rc != ExitOk || help) return rc;
  if (!f.positional.empty()) return usageError("verify", "unexpected argument '" + f.positional[0] + "'");
  if (!f.manifest) return usageError("verify", "missing --manifest MANIFEST");
  if (!f.filter) return usageError("verify", "missing --filter FILE");
  if (f.output || f.format) return usageError("verify", "verify writes no file (no -o / --format)");

  auto policy = loadPolicy(*f.manifest, f.defaultAction, nullptr);
  if (!policy) return inputError(policy.takeError());
  const std::string &fp = *f.filter;
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
    if (!f.quiet)
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
           fp.c_str(), f.manifest->c_str(), policy->defaultAction.name().c_str(), verdict->counterexample.c_str(),
           actionText(verdict->filterAction).c_str(), actionText(verdict->policyAction).c_str());
    if (!f.quiet) printf("  syscall: %s\n", syscallText(verdict->witness.nr).c_str());
    return exitStatus(ProofError::NotEquivalent);
  }
  printf("PROVEN: %s implements %s's policy (%zu allowed syscalls, default %s) for every seccomp_data; "
         "%zu instructions, %.2f s\n",
         fp.c_str(), f.manifest->c_str(), policy->allowed.size(), policy->defaultAction.name().c_str(),
         prog->size(), verdict->seconds);
  if (!f.quiet) {
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

// CMD as execve needs it: a path to an executable file (PATH searched when CMD has no '/').
std::optional<std::string> resolveCommand(const std::string &cmd) {
  auto executable = [](const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  if (cmd.find('/') != std::string::npos) return executable(cmd) ? std::optional(cmd) : std::nullopt;
  const char *path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + cmd;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

int runRun(const Command &c, const std::vector<std::string> &args) {
  FilterFlags f;
  bool help = false;
  if (int rc = parseFilterFlags("run", c, args, f, help); rc != ExitOk || help) return rc;
  if (!f.positional.empty()) return usageError("run", "unexpected argument '" + f.positional[0] + "' (put the command after --)");
  if (!f.manifest) return usageError("run", "missing --manifest MANIFEST");
  if (f.command.empty()) return usageError("run", "missing the command (bespoke run --manifest M -- CMD ARGS...)");
  if (f.filter || f.output || f.format) return usageError("run", "run takes no --filter, -o or --format");

  Manifest m;
  auto policy = loadPolicy(*f.manifest, f.defaultAction, &m);
  if (!policy) return inputError(policy.takeError());
  ExecveGrant grant = grantExecve(*policy);
  if (!f.quiet && grant != ExecveGrant::AlreadyAllowed)
    fprintf(stderr, "bespoke run: note: %s %s; allowing it, since the filter is installed before the exec\n",
            f.manifest->c_str(), grant == ExecveGrant::Added ? "lacks execve" : "allows execve only for some arguments");
  if (!f.quiet) noteUnresolved("run", *f.manifest, m);
  auto proven = compileProven(*policy);
  if (!proven) return proofFailure("run", proven.takeError());
  const ProvenFilter &pf = *proven;

  std::optional<std::string> path = resolveCommand(f.command[0]);
  if (!path) {
    fprintf(stderr, "bespoke run: %s: command not found or not executable\n", f.command[0].c_str());
    return 127;
  }
  std::vector<char *> argv;
  for (std::string &a : f.command) argv.push_back(a.data());
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

int main(int argc, char **argv) {
  if (argc < 2) { printTopHelp(stderr); return ExitUsage; }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") { printTopHelp(stdout); return ExitOk; }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command &c : Commands) {
    if (cmd != c.name) continue;
    if (cmd == "analyze") return runAnalyze(args);
    if (cmd == "extend") return runExtend(c, args);
    if (cmd == "verify") return runVerify(c, args);
    if (cmd == "run") return runRun(c, args);
    if (cmd == "decide") return runDecide(args);
    if (cmd == "rewrite") return runRewrite(args);
    if (cmd == "boot") return runBoot(args);
    if (cmd == "diff") return runDiff(args);
    if (cmd == "check") return runCheck(args);
    if (cmd == "mcp") return runMcp(args);
  }
  fprintf(stderr, "bespoke: unknown command '%s'\n", cmd.c_str());
  printTopHelp(stderr);
  return ExitUsage;
}
