// decide, diff, check: the commands that answer "which option, and why" and "did the footprint grow".
#include "cli/Cli.h"

#include "manifests/Diff.h"
#include "specializer/Decision.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdio>

namespace bespoke::cli {

namespace {

// Common tail of the three commands: the report to OUT or standard output.
int emit(const char *cmd, const std::optional<std::string> &output, const std::string &text) {
  if (!output) {
    fputs(text.c_str(), stdout);
    return ExitOk;
  }
  if (llvm::Error e = writeOutput(*output, text)) {
    fprintf(stderr, "bespoke: error: %s: cannot write: %s\n", output->c_str(), llvm::toString(std::move(e)).c_str());
    return ExitUsage;
  }
  return ExitOk;
}

std::string absoluteDirectory(const std::string &dir) {
  llvm::SmallString<256> abs(dir);
  llvm::sys::fs::make_absolute(abs);
  llvm::sys::path::remove_dots(abs, /*remove_dot_dot=*/true);
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  return std::string(abs);
}

int runDecide(const ParsedArgs &args) {
  std::optional<std::string> manifest = args.get("manifest"), output = args.get("output"), image = args.get("image");
  bool json = args.has("json");
  if (!manifest) return usageError("decide", "missing MANIFEST");
  auto m = loadManifest(*manifest);
  if (!m) return inputError(m.takeError());
  DecideOptions opts;
  opts.imageDir = image;
  auto d = decide(*m, opts);
  if (!d) return inputError(llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", manifest->c_str(),
                                                    llvm::toString(d.takeError()).c_str()));
  return emit("decide", output, json ? renderDecisionJson(*d) : renderDecisionText(*d));
}

int runDiff(const ParsedArgs &args) {
  std::vector<std::string> files = args.all("manifests");
  std::optional<std::string> output = args.get("output");
  if (files.size() != 2) return usageError("diff", "expected two manifests, OLD and NEW (got " + std::to_string(files.size()) + ")");
  std::string fmt = args.get("format").value_or("text");
  auto before = loadManifest(files[0]);
  if (!before) return inputError(before.takeError());
  auto after = loadManifest(files[1]);
  if (!after) return inputError(after.takeError());
  ManifestDiff d = diffManifests(before->footprint, after->footprint, /*compareFiles=*/before->version >= 2);
  DiffLabels labels{files[0], files[1], ""};
  std::string text = fmt == "json"       ? renderDiffJson(d, labels)
                     : fmt == "markdown" ? renderDiffMarkdown(d, labels, after->footprint.app.name)
                                         : renderDiffText(d, labels);
  if (int rc = emit("diff", output, text); rc != ExitOk) return rc;
  return d.empty() ? ExitOk : ExitNegative;
}

int runCheck(const ParsedArgs &args) {
  std::optional<std::string> baseline = args.get("baseline"), output = args.get("output"),
                             sourceRoot = args.get("source-root"), manifestOut = args.get("manifest-out");
  if (!baseline) return usageError("check", "missing --baseline MANIFEST");
  auto inputs = analysisInputs(args);
  if (!inputs) return usageError("check", llvm::toString(inputs.takeError()));
  const AnalysisInputs &in = *inputs;
  std::string fmt = args.get("format").value_or("text");

  // The baseline first: a bad baseline should not cost an analysis.
  auto base = loadManifest(*baseline);
  if (!base) return inputError(base.takeError());
  auto analysis = analyzeProgram(in);
  if (!analysis) return inputError(analysis.takeError());
  if (!analysis->problems.empty()) {
    fprintf(stderr, "bespoke: error: %s\n", analysis->problems.c_str());
    return ExitUsage;
  }
  const Footprint &now = analysis->manifest.footprint;
  const std::string &input = in.binary ? *in.binary : *in.compileCommands;
  if (base->footprint.app.name != now.app.name)
    return inputError(llvm::createStringError(
        llvm::inconvertibleErrorCode(), "%s: baseline is for '%s', but %s is '%s' (a baseline for a different application?)",
        baseline->c_str(), base->footprint.app.name.c_str(), input.c_str(), now.app.name.c_str()));
  if (manifestOut)
    if (llvm::Error e = saveManifest(analysis->manifest, *manifestOut)) return inputError(std::move(e));
  if (!in.quiet) fprintf(stderr, "bespoke: %s\n", analysis->summary.c_str());

  ManifestDiff d = diffManifests(base->footprint, now, /*compareFiles=*/base->version >= 2);
  DiffLabels labels{*baseline, input, absoluteDirectory(sourceRoot.value_or("."))};
  std::string text = fmt == "sarif"      ? renderDiffSarif(d, labels, now)
                     : fmt == "markdown" ? renderDiffMarkdown(d, labels, now.app.name)
                                         : renderDiffText(d, labels);
  if (int rc = emit("check", output, text); rc != ExitOk) return rc;
  if (!in.quiet)
    fprintf(stderr, "bespoke check: %s: footprint %s (%zu syscalls added, %zu removed)\n", now.app.name.c_str(),
            d.grew() ? "GREW beyond the baseline" : d.empty() ? "unchanged" : "did not grow",
            d.addedSyscalls.size(), d.removedSyscalls.size());
  return d.grew() ? ExitNegative : ExitOk;
}

} // namespace

Command decideCommand() {
  return {"decide", "recommend extend or rewrite for an application, with blockers and gains",
          {"usage: bespoke decide MANIFEST [--json] [--image DIR] [-o OUT]\n",
           "Recommends how to specialize the kernel for the application of MANIFEST: 'extend' (the stock kernel\n"
           "with a verified seccomp filter) or 'rewrite' (a trimmed unikernel with only what the app needs).\n"
           "Rewrite is recommended when nothing blocks it. Blockers, each tied to manifest evidence: executing\n"
           "programs (execve), ptrace, kernel modules, mounts, devices a microVM lacks, dynamic loading, and\n"
           "unresolved syscall sites. Gains are computed: for extend, syscalls allowed / denied / argument-\n"
           "constrained and the compiled filter's worst path; for rewrite, the Kconfig options required (from the\n"
           "Linux 6.1 syscall -> Kconfig table), syscalls compiled in vs Debian's generic kernel, and the image\n"
           "size (measured with --image, else an estimate labelled as such). With --image DIR also what DIR\n"
           "measured: its last boot (DIR/boot.json from bespoke boot: accelerator, times, the memory it ran in,\n"
           "the app's exit status; a failed run blocks rewrite), the memory floor bench/images-bench.py searched\n"
           "(DIR/mem_floor.json), and which operator-facing kernel features (DIR/kernel.config) and syscalls\n"
           "(boot.json's syscall probe, else kernel.config) the image lacks against Debian's generic kernel.\n"
           "boot.json or mem_floor.json older than the image is ignored, with a note. Deterministic: the same\n"
           "files give the same decision.\n",
           "exit status: 0 a decision was made (either way), 2 bad input (the manifest, or a missing or malformed\n"
           "file of DIR)\n"},
          {operand("manifest", "MANIFEST")
               .tool({"manifest", "Path of the application's manifest (from analyze).", true, McpPath::Operand}),
           flag("json", {"--json"},
                "the decision as JSON (schema: specializer/decision.schema.json, version field\n"
                "\"bespoke_decision\")"),
           value("image", {"--image"}, "DIR", "a directory",
                 "a `bespoke rewrite` output directory to measure (bzImage, the root, and when\n"
                 "there kernel.config, boot.json, mem_floor.json)")
               .tool({"image", "A `bespoke rewrite` output directory: its sizes, last boot (boot.json), memory floor "
                               "(mem_floor.json) and what its kernel lacks enter the decision.", false,
                      McpPath::Operand}),
           value("output", {"-o", "--output"}, "F", "a file name", "write to F (atomically) instead of standard output")},
          runDecide};
}

Command diffCommand() {
  return {"diff", "compare two manifests: added and removed syscalls, argument facts, kernel paths",
          {"usage: bespoke diff OLD.yaml NEW.yaml [--format text|markdown|json] [-o OUT]\n",
           "Compares two manifests of one application: syscalls added (with the evidence that reaches them) and\n"
           "removed, argument facts gained or lost (an argument without facts takes any value), kernel paths and\n"
           "features, and unresolved sites (matched by kind and function, since addresses move between builds).\n",
           "exit status: 0 no differences, 1 the manifests differ, 2 bad input\n"},
          {operand("manifests", "MANIFEST")
               .repeat()
               .tool({"old", "Path of the old manifest.", true, McpPath::Operand})
               .tool({"new", "Path of the new manifest.", true, McpPath::Operand}),
           value("format", {"--format", "-f"}, "F", "a format",
                 "text (default), markdown (for a pull-request comment) or json")
               .oneOf({"text", "markdown", "json"})
               .tool({"format", "Report format (default text)."}),
           value("output", {"-o", "--output"}, "F", "a file name", "write to F (atomically) instead of standard output")},
          runDiff};
}

Command checkCommand() {
  Command c{"check", "CI gate: fail when an application's footprint grew beyond a baseline manifest",
            {"usage: bespoke check --baseline BASELINE.yaml BINARY [options]\n"
             "       bespoke check --baseline BASELINE.yaml --compile-commands compile_commands.json [--binary BIN] "
             "[options]\n",
             "The CI gate: analyses the program (as bespoke analyze does) and compares its footprint with the\n"
             "reviewed baseline manifest. Fails when the footprint grew: a new syscall, a new argument value, a new\n"
             "kernel path or feature, or a new unresolved site. A footprint that shrank or stayed the same passes.\n",
             "exit status: 0 the footprint did not grow, 1 it grew, 2 bad input (including a baseline made for a\n"
             "different application)\n"},
            {value("baseline", {"--baseline", "-b"}, "F", "a manifest",
                   "the baseline manifest (e.g. manifests/APP.yaml, from bespoke analyze)")
                 .tool({"baseline", "Path of the baseline manifest.", true, McpPath::Operand}),
             operand("binary-operand", "BINARY")
                 .tool({"binary", "Path of the x86-64 ELF executable to check.", false, McpPath::Operand})},
            runCheck};
  for (Option &o : analysisOptions()) c.options.push_back(std::move(o));
  c.options.push_back(value("format", {"--format", "-f"}, "F", "a format",
                            "text (default), markdown (a pull-request comment) or sarif (SARIF 2.1.0: each\n"
                            "new syscall at its evidence location, for code-scanning UIs)")
                          .oneOf({"text", "markdown", "sarif"})
                          .tool({"format", "Report format (default text)."}));
  c.options.push_back(value("output", {"-o", "--output"}, "F", "a file name",
                            "write the report to F (atomically) instead of standard output"));
  c.options.push_back(value("source-root", {"--source-root"}, "DIR", "a directory",
                            "SARIF: make source paths under DIR relative to %SRCROOT% (default: the\n"
                            "current directory)"));
  c.options.push_back(value("manifest-out", {"--manifest-out"}, "F", "a file name",
                            "also write the new manifest to F (to review, or to adopt as the baseline)"));
  c.options.push_back(quietOption("no progress or summary on standard error"));
  return c;
}

} // namespace bespoke::cli
