// decide, diff, check: the commands that answer "which option, and why" and "did the footprint grow".
#include "cli/Cli.h"

#include "manifests/Diff.h"
#include "specializer/Decision.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdio>

namespace bespoke::cli {

const char *const DecideUsage =
    "usage: bespoke decide MANIFEST [--json] [--image DIR] [-o OUT]\n"
    "\n"
    "Recommends how to specialize the kernel for the application of MANIFEST: 'extend' (the stock kernel\n"
    "with a verified seccomp filter) or 'rewrite' (a trimmed unikernel with only what the app needs).\n"
    "Rewrite is recommended when nothing blocks it. Blockers, each tied to manifest evidence: executing\n"
    "programs (execve), ptrace, kernel modules, mounts, devices a microVM lacks, dynamic loading, and\n"
    "unresolved syscall sites. Gains are computed: for extend, syscalls allowed / denied / argument-\n"
    "constrained and the compiled filter's worst path; for rewrite, the Kconfig options required (from the\n"
    "Linux 6.1 syscall -> Kconfig table), syscalls compiled in vs Debian's generic kernel, and the image\n"
    "size (measured with --image, else an estimate labelled as such). Deterministic.\n"
    "\n"
    "options:\n"
    "  --json          the decision as JSON (schema: specializer/decision.schema.json, version field\n"
    "                  \"bespoke_decision\")\n"
    "  --image DIR     a `bespoke rewrite` output directory (bzImage, initramfs.cpio.gz) to measure\n"
    "  -o, --output F  write to F (atomically) instead of standard output\n"
    "  -h, --help      show this help\n"
    "\n"
    "exit status: 0 a decision was made (either way), 2 bad input\n";

const char *const DiffUsage =
    "usage: bespoke diff OLD.yaml NEW.yaml [--format text|markdown|json] [-o OUT]\n"
    "\n"
    "Compares two manifests of one application: syscalls added (with the evidence that reaches them) and\n"
    "removed, argument facts gained or lost (an argument without facts takes any value), kernel paths and\n"
    "features, and unresolved sites (matched by kind and function, since addresses move between builds).\n"
    "\n"
    "options:\n"
    "  -f, --format F  text (default), markdown (for a pull-request comment) or json\n"
    "  -o, --output F  write to F (atomically) instead of standard output\n"
    "  -h, --help      show this help\n"
    "\n"
    "exit status: 0 no differences, 1 the manifests differ, 2 bad input\n";

const char *const CheckUsage =
    "usage: bespoke check --baseline BASELINE.yaml BINARY [options]\n"
    "       bespoke check --baseline BASELINE.yaml --compile-commands compile_commands.json [--binary BIN] [options]\n"
    "\n"
    "The CI gate: analyses the program (as bespoke analyze does) and compares its footprint with the\n"
    "reviewed baseline manifest. Fails when the footprint grew: a new syscall, a new argument value, a new\n"
    "kernel path or feature, or a new unresolved site. A footprint that shrank or stayed the same passes.\n"
    "\n"
    "options:\n"
    "  -b, --baseline F       the baseline manifest (e.g. manifests/APP.yaml, from bespoke analyze)\n"
    "  -f, --format F         text (default), markdown (a pull-request comment) or sarif (SARIF 2.1.0: each\n"
    "                         new syscall at its evidence location, for code-scanning UIs)\n"
    "  -o, --output F         write the report to F (atomically) instead of standard output\n"
    "  --source-root DIR      SARIF: make source paths under DIR relative to %SRCROOT% (default: the\n"
    "                         current directory)\n"
    "  --manifest-out F       also write the new manifest to F (to review, or to adopt as the baseline)\n"
    "  --compile-commands F, --binary F, --library F, --cache-dir D, --no-cache, -j N: as for analyze\n"
    "  -q, --quiet            no progress or summary on standard error\n"
    "  -h, --help             show this help\n"
    "\n"
    "exit status: 0 the footprint did not grow, 1 it grew, 2 bad input (including a baseline made for a\n"
    "different application)\n";

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

} // namespace

int runDecide(const std::vector<std::string> &args) {
  std::optional<std::string> manifest, output, image;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "-h" || a == "--help") { fputs(DecideUsage, stdout); return ExitOk; }
    else if (a == "--json") json = true;
    else if (a == "--image") { if (!takeValue(args, i, image)) return usageError("decide", "--image needs a directory"); }
    else if (a == "-o" || a == "--output") { if (!takeValue(args, i, output)) return usageError("decide", a + " needs a file name"); }
    else if (a.size() > 1 && a[0] == '-') return usageError("decide", "unknown option '" + a + "'");
    else if (manifest) return usageError("decide", "more than one MANIFEST given ('" + *manifest + "' and '" + a + "')");
    else manifest = a;
  }
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

int runDiff(const std::vector<std::string> &args) {
  std::vector<std::string> files;
  std::optional<std::string> output, format;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "-h" || a == "--help") { fputs(DiffUsage, stdout); return ExitOk; }
    else if (a == "-f" || a == "--format") { if (!takeValue(args, i, format)) return usageError("diff", a + " needs a format"); }
    else if (a == "-o" || a == "--output") { if (!takeValue(args, i, output)) return usageError("diff", a + " needs a file name"); }
    else if (a.size() > 1 && a[0] == '-') return usageError("diff", "unknown option '" + a + "'");
    else files.push_back(a);
  }
  if (files.size() != 2) return usageError("diff", "expected two manifests, OLD and NEW (got " + std::to_string(files.size()) + ")");
  std::string fmt = format.value_or("text");
  if (fmt != "text" && fmt != "markdown" && fmt != "json")
    return usageError("diff", "unknown format '" + fmt + "' (expected text, markdown or json)");
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

int runCheck(const std::vector<std::string> &args) {
  AnalysisInputs in = defaultAnalysisInputs();
  std::optional<std::string> baseline, output, format, sourceRoot, manifestOut;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    bool consumed = false;
    if (int rc = parseAnalysisFlag("check", args, i, in, consumed); rc != ExitOk) return rc;
    if (consumed) continue;
    if (a == "-h" || a == "--help") { fputs(CheckUsage, stdout); return ExitOk; }
    else if (a == "-b" || a == "--baseline") { if (!takeValue(args, i, baseline)) return usageError("check", a + " needs a manifest"); }
    else if (a == "-f" || a == "--format") { if (!takeValue(args, i, format)) return usageError("check", a + " needs a format"); }
    else if (a == "-o" || a == "--output") { if (!takeValue(args, i, output)) return usageError("check", a + " needs a file name"); }
    else if (a == "--source-root") { if (!takeValue(args, i, sourceRoot)) return usageError("check", a + " needs a directory"); }
    else if (a == "--manifest-out") { if (!takeValue(args, i, manifestOut)) return usageError("check", a + " needs a file name"); }
    else if (a == "-q" || a == "--quiet") in.quiet = true;
    else if (a.size() > 1 && a[0] == '-') return usageError("check", "unknown option '" + a + "'");
    else if (in.binary) return usageError("check", "more than one BINARY given ('" + *in.binary + "' and '" + a + "')");
    else in.binary = a;
  }
  if (!baseline) return usageError("check", "missing --baseline MANIFEST");
  if (int rc = checkAnalysisInputs("check", in); rc != ExitOk) return rc;
  std::string fmt = format.value_or("text");
  if (fmt != "text" && fmt != "markdown" && fmt != "sarif")
    return usageError("check", "unknown format '" + fmt + "' (expected text, markdown or sarif)");

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

} // namespace bespoke::cli
