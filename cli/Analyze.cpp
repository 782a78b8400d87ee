// bespoke analyze, and the analysis wiring (binary or source, cross-check) that `analyze` and `check`
// share: their common option rows, the inputs those rows give, and running the analysis.
#include "cli/Cli.h"

#include "analyzer/ModelCache.h"
#include "analyzer/source/ClangFrontend.h"
#include "analyzer/source/SourceAnalyzer.h"
#include "specializer/KernelRequirements.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"

#include <chrono>
#include <memory>
#include <set>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace bespoke::cli {

namespace {

std::string checkJobs(const std::string &, const std::string &v) {
  char *end = nullptr;
  long n = strtol(v.c_str(), &end, 10);
  return *end || n < 1 || n > 256 ? "--jobs needs a number from 1 to 256" : "";
}

llvm::Error usage(const std::string &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s", msg.c_str()); }

} // namespace

std::vector<Option> analysisOptions() {
  return {
      value("compile-commands", {"--compile-commands"}, "FILE", "a file name",
            "analyse the source of the program described by this compile database")
          .tool({"compile_commands", "Path of a compile_commands.json: analyse the program's source instead.", false,
                 McpPath::Operand}),
      value("binary", {"--binary"}, "FILE", "a file name",
            "with --compile-commands: the built program, to model its libraries and cross-check")
          .tool({"built_binary",
                 "With compile_commands: the built program, to model its libraries and cross-check the source "
                 "analysis.",
                 false, McpPath::Operand}),
      value("library", {"--library"}, "FILE", "a file name",
            "with --compile-commands and no --binary: the C library to model (default: musl's\n"
            "libc.so for musl-gcc builds, else glibc's libc.so.6)"),
      value("cache-dir", {"--cache-dir"}, "DIR", "a directory",
            "keep per-library models in DIR (default: $BESPOKE_CACHE_DIR,\n$XDG_CACHE_HOME/bespoke or ~/.cache/bespoke)"),
      flag("no-cache", {"--no-cache"}, "analyse every module from scratch and store nothing"),
      value("jobs", {"--jobs", "-j"}, "N", "a number from 1 to 256", "modules analysed in parallel (default: one per core)")
          .check(checkJobs),
      value("dlopen", {"--dlopen"}, "PATH", "a shared object or a directory",
            "the program loads this shared object at run time (a directory: every .so in it);\n"
            "analysed with its closure, every export a root; repeatable")
          .repeat()
          .tool({"dlopen", "Shared objects (or directories of them) the program loads at run time.", false,
                 McpPath::Operand}),
      value("exec", {"--exec"}, "PROGRAM", "a program",
            "the program executes PROGRAM (a path, or a name looked up in PATH); analysed with\n"
            "its closure and what it executes in turn; repeatable")
          .repeat()
          .tool({"exec", "Programs the application executes (paths or names looked up in PATH).", false,
                 McpPath::Operand}),
  };
}

llvm::Expected<AnalysisInputs> analysisInputs(const ParsedArgs &args) {
  AnalysisInputs in;
  in.cacheDir = ModelCache::defaultDirectory();
  in.binary = args.get("binary-operand");
  in.compileCommands = args.get("compile-commands");
  in.builtBinary = args.get("binary");
  in.library = args.get("library");
  for (const auto &[id, v] : args.values) { // the last of --cache-dir and --no-cache wins
    if (id == "cache-dir") in.cacheDir = v;
    if (id == "no-cache") in.cacheDir.clear();
  }
  if (std::optional<std::string> jobs = args.get("jobs")) in.jobs = unsigned(strtol(jobs->c_str(), nullptr, 10));
  in.quiet = args.has("quiet");
  in.dlopen = args.all("dlopen");
  in.exec = args.all("exec");
  if (args.has("observe")) in.observe = args.rest;
  if (in.observe && !in.binary) return usage("--observe runs BINARY: it does not go with --compile-commands");
  if (!in.observe && !args.rest.empty()) return usage("arguments after -- are for --observe");
  if (in.compileCommands && in.binary)
    return usage("give either BINARY or --compile-commands (with --binary '" + *in.binary + "')");
  if (!in.compileCommands && (in.builtBinary || in.library)) return usage("--binary and --library go with --compile-commands");
  if (in.builtBinary && in.library) return usage("--binary models the libraries already; drop --library");
  if (!in.binary && !in.compileCommands) return usage("missing BINARY (or --compile-commands FILE)");
  return in;
}

namespace {

std::string fileSha256(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf) return std::string(64, '0');
  return llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef((*buf)->getBuffer())), /*LowerCase=*/true);
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Binary analysis of the program, its libraries and what it loads and executes.
llvm::Expected<Analysis> analyzeBinaryProgram(const AnalysisInputs &in, const BinaryAnalysisOptions &opts,
                                              std::chrono::steady_clock::time_point t0) {
  BinaryAnalysisReport report;
  auto fp = analyzeBinary(*in.binary, opts, &report);
  if (!fp) return fp.takeError();
  Analysis a;
  a.manifest.footprint = std::move(*fp);
  const Footprint &f = a.manifest.footprint;
  std::string programs = report.programs > 1 ? llvm::formatv(", {0} programs", report.programs).str() : "";
  a.summary = llvm::formatv("{0}: {1} syscalls, {2} unresolved sites, {3} modules ({4} cached){5}, {6:F2} s", f.app.name,
                            f.syscalls.size(), f.unresolved.size(), report.modules, report.cacheHits, programs,
                            secondsSince(t0));
  return a;
}

// Front end -> source analysis (-> binary analysis, cross-check, union).
llvm::Expected<Analysis> analyzeSourceProgram(const AnalysisInputs &in, const BinaryAnalysisOptions &opts,
                                              std::chrono::steady_clock::time_point t0) {
  FrontendOptions fo;
  fo.jobs = opts.jobs;
  fo.progress = opts.progress;
  auto facts = collectSourceFacts(*in.compileCommands, fo);
  if (!facts) return facts.takeError();

  std::optional<Footprint> bin;
  if (in.builtBinary) {
    auto b = analyzeBinary(*in.builtBinary, opts);
    if (!b) return b.takeError();
    bin = std::move(*b);
  }
  SourceAnalysisOptions so;
  so.binary = opts;
  so.library = in.builtBinary ? *in.builtBinary : in.library.value_or("");
  llvm::SmallString<256> abs(*in.compileCommands);
  llvm::sys::fs::make_absolute(abs);
  so.appPath = std::string(abs);
  so.appName = llvm::sys::path::filename(llvm::sys::path::parent_path(abs)).str();
  if (so.appName.empty()) so.appName = "program";
  so.appSha256 = fileSha256(*in.compileCommands);
  auto fp = analyzeSource(*facts, so);
  if (!fp) return fp.takeError();

  if (bin) {
    FootprintDiff d = diffSyscalls(*fp, *bin);
    fp->crossCheck.done = true;
    fp->crossCheck.sourceOnly = d.onlyInFirst;
    fp->crossCheck.binaryOnly = d.onlyInSecond;
    mergeFootprint(*fp, *bin);
    fp->app = bin->app;
    fp->modules = bin->modules;
    if (!in.quiet) {
      auto list = [](const std::vector<std::string> &v) {
        return v.empty() ? std::string(" none") : " " + llvm::join(v, " ");
      };
      fprintf(stderr, "bespoke: cross-check with %s: source only:%s; binary only:%s\n", in.builtBinary->c_str(),
              list(d.onlyInFirst).c_str(), list(d.onlyInSecond).c_str());
    }
  }
  Analysis a;
  a.manifest.footprint = std::move(*fp);
  const Footprint &f = a.manifest.footprint;
  a.summary = llvm::formatv("{0}: {1} syscalls, {2} unresolved sites, {3} translation units, {4:F2} s", f.app.name,
                            f.syscalls.size(), f.unresolved.size(), facts->translationUnits.size(), secondsSince(t0));
  if (!facts->problems.empty())
    a.problems = llvm::formatv("{0}: {1} translation unit{2} not analysed (first: {3}: {4})", *in.compileCommands,
                               facts->problems.size(), facts->problems.size() == 1 ? "" : "s",
                               facts->problems[0].file, facts->problems[0].message);
  return a;
}

} // namespace

// --observe: one run of the program, before the analysis. A command that cannot start is bad input; a
// run that fails or leaves daemons behind still showed code, so the analysis goes on with a warning.
llvm::Expected<Observation> observe(const AnalysisInputs &in) {
  if (!in.quiet && isatty(2)) fprintf(stderr, "bespoke: observing %s under ptrace...\n", in.binary->c_str());
  auto o = observeRun(*in.binary, *in.observe);
  if (!o) return usage(llvm::toString(o.takeError()) + " (--observe)");
  auto warn = [](const std::string &w) { fprintf(stderr, "bespoke: warning: %s\n", w.c_str()); };
  if (o->signal) warn(*in.binary + ": the observed run was killed by signal " + std::to_string(o->signal) +
                      "; what it mapped and executed until then is analysed");
  else if (o->exitStatus) warn(*in.binary + ": the observed run exited with status " + std::to_string(o->exitStatus) +
                               "; what it mapped and executed is analysed");
  for (const std::string &d : o->killedDescendants)
    warn(d + ": still running after the observed run ended; killed, so what it would load later is not seen");
  for (const ObservedObject &t : o->transient)
    warn(t.path + ": code mapped from a file that cannot be reopened (memfd or deleted), not analysed");
  if (!in.quiet)
    fprintf(stderr, "bespoke: observed %zu mapped objects and %zu executed programs in %.2f s\n", o->objects.size(),
            o->programs.size(), o->seconds);
  return o;
}

llvm::Expected<Analysis> analyzeProgram(const AnalysisInputs &in) {
  BinaryAnalysisOptions opts;
  opts.cacheDir = in.cacheDir;
  opts.jobs = in.jobs;
  if (!in.quiet && isatty(2))
    opts.progress = [](const std::string &line) { fprintf(stderr, "bespoke: %s\n", line.c_str()); };
  // Each warning once, though every executed program's analysis reads the same configuration.
  auto warned = std::make_shared<std::set<std::string>>();
  opts.runTime.warning = [warned](const std::string &line) {
    if (warned->insert(line).second) fprintf(stderr, "bespoke: warning: %s\n", line.c_str());
  };
  auto dlopen = expandDlopenPaths(in.dlopen);
  if (!dlopen) return dlopen.takeError();
  opts.runTime.dlopen = std::move(*dlopen);
  opts.runTime.exec = in.exec;
  auto t0 = std::chrono::steady_clock::now();
  std::optional<Observation> observation;
  if (in.observe) {
    auto o = observe(in);
    if (!o) return o.takeError();
    observation = std::move(*o);
    opts.runTime.observation = &*observation;
  }
  auto a = in.compileCommands ? analyzeSourceProgram(in, opts, t0) : analyzeBinaryProgram(in, opts, t0);
  if (a) recordKernelFeatures(a->manifest.footprint); // kernel.features: what rewrite would build
  return a;
}


// ---------------------------------------------------------------------------------------------------
// bespoke analyze

namespace {

int runAnalyze(const ParsedArgs &args) {
  auto in = analysisInputs(args);
  if (!in) return usageError("analyze", llvm::toString(in.takeError()));
  std::optional<std::string> output = args.get("output");
  // The reviewer-written parts of an earlier manifest, read first: a bad one stops the run before analysis.
  std::optional<Manifest> reviewed;
  if (std::optional<std::string> path = args.get("reviewed")) {
    auto m = loadManifest(*path);
    if (!m) return inputError(m.takeError());
    reviewed = std::move(*m);
  }
  auto analysis = analyzeProgram(*in);
  if (!analysis) return inputError(analysis.takeError());
  // The analysis never writes network: (bind ports and destinations are the reviewer's): carried over as is.
  if (reviewed && reviewed->footprint.network.present) analysis->manifest.footprint.network = reviewed->footprint.network;
  if (output) {
    if (llvm::Error e = saveManifest(analysis->manifest, *output)) return inputError(std::move(e));
  } else {
    fputs(renderManifest(analysis->manifest).c_str(), stdout);
  }
  if (!in->quiet)
    fprintf(stderr, "bespoke: %s%s%s\n", analysis->summary.c_str(), output ? " -> " : "", output ? output->c_str() : "");
  if (!analysis->problems.empty()) {
    // The manifest is written (marked incomplete under unresolved:), but the run is not a success.
    fprintf(stderr, "bespoke: error: %s\n", analysis->problems.c_str());
    return ExitUsage;
  }
  return ExitOk;
}

} // namespace

Command analyzeCommand() {
  Command c{"analyze", "compute an application's syscall footprint and write its manifest",
            {"usage: bespoke analyze BINARY [-o MANIFEST.yaml] [options] [--observe -- ARGS...]\n"
             "       bespoke analyze --compile-commands compile_commands.json [--binary BINARY] [-o MANIFEST.yaml]\n",
             "Statically finds every system call BINARY (an x86-64 ELF executable, static or dynamic) can reach,\n"
             "following its shared-library closure the way ld.so does, and writes a manifest (see manifests/README.md).\n"
             "Code that arrives at run time is analysed too, each with its closure: libraries dlopen'd by constant\n"
             "names, the NSS, gconv, PAM and OpenSSL modules this machine's configuration names when the program can\n"
             "reach those systems, and the programs it executes (constant paths, PATH names, system()'s /bin/sh), in\n"
             "turn; what the program chooses at run time can be named with --dlopen and --exec, or shown by one run\n"
             "under --observe. A dlopen or exec the analysis cannot name is listed under unresolved:.\n"
             "With --compile-commands, analyses the program's C/C++ source instead (Clang, every translation unit in\n"
             "parallel): call graph by USR, indirect calls matched by function type, argument facts (socket families,\n"
             "ioctl requests, open flags, /proc and /dev paths) and file:line evidence; calls into libraries are\n"
             "resolved through the binary analyzer's model of the C library the program links (or of BINARY's whole\n"
             "closure with --binary, which also cross-checks: syscalls only one analysis finds are reported and the\n"
             "manifest keeps the union). A translation unit that does not compile is reported, the others analysed,\n"
             "the manifest written with it under unresolved:, and the exit status is 2.\n",
             "exit status: 0 manifest written, 2 bad input (not an x86-64 ELF, missing library, a --dlopen that is not a\n"
             "shared object, an --observe command that cannot start, a configuration file its library rejects or\n"
             "that cannot be read, bad flags)\n"},
            {},
            runAnalyze};
  c.options.push_back(operand("binary-operand", "BINARY")
                          .tool({"binary", "Path of the x86-64 ELF executable to analyse.", false, McpPath::Operand}));
  for (Option &o : analysisOptions()) c.options.push_back(std::move(o));
  c.options.push_back(value("output", {"-o", "--output"}, "FILE", "a file name",
                            "write the manifest to FILE (atomically) instead of standard output")
                          .tool({"output", "Write the manifest to this file (atomically) instead of returning it.",
                                 false, McpPath::Operand}));
  c.options.push_back(value("reviewed", {"--reviewed"}, "OLD.yaml", "a file name",
                            "carry the reviewer-written parts of an earlier manifest of the program over into\n"
                            "the new one: its network: section (bind ports, connect destinations, the bound on\n"
                            "socket families)")
                          .tool({"reviewed", "An earlier, reviewed manifest of the program whose network: section "
                                 "(written by a reviewer, never by the analysis) the new manifest keeps.",
                                 false, McpPath::Operand}));
  c.options.push_back(flag("observe", {"--observe"},
                           "run BINARY once with the arguments after -- (e.g. `nginx -t`) under ptrace and add\n"
                           "every library it maps and program it executes to the analysis, and the files it\n"
                           "opens or looks up to files: (root: observed; bespoke rewrite carries them)"));
  c.options.push_back(quietOption("no progress or summary on standard error"));
  c.options.push_back(rest("observe-args").tool({"observe_args", "With observe: the arguments of the observed run."}));
  return c;
}

} // namespace bespoke::cli
