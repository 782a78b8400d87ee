// Shared command plumbing: errors, atomic output, and the analysis wiring of `analyze` and `check`.
#include "cli/Cli.h"

#include "analyzer/ModelCache.h"
#include "analyzer/source/ClangFrontend.h"
#include "analyzer/source/SourceAnalyzer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace bespoke::cli {

int usageError(const char *cmd, const std::string &msg) {
  fprintf(stderr, "bespoke %s: %s\n", cmd, msg.c_str());
  fprintf(stderr, "Try 'bespoke %s --help'.\n", cmd);
  return ExitUsage;
}

int inputError(llvm::Error e) {
  std::string msg = llvm::toString(std::move(e));
  fprintf(stderr, "bespoke: error: %s\n", msg.c_str());
  return ExitUsage;
}

bool takeValue(const std::vector<std::string> &args, size_t &i, std::optional<std::string> &slot) {
  if (i + 1 >= args.size() || args[i + 1].empty()) return false;
  slot = args[++i];
  return true;
}

llvm::Error writeOutput(const std::string &path, const std::string &text) {
  llvm::sys::fs::file_status st;
  if (path != "-" && !llvm::sys::fs::status(path, st) && llvm::sys::fs::exists(st) &&
      !llvm::sys::fs::is_regular_file(st) && !llvm::sys::fs::is_directory(st)) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec) return llvm::createStringError(ec, "%s", ec.message().c_str());
    os << text;
    os.close();
    if (os.has_error()) {
      std::error_code werr = os.error();
      os.clear_error();
      return llvm::createStringError(werr, "%s", werr.message().c_str());
    }
    return llvm::Error::success();
  }
  return llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << text;
    return llvm::Error::success();
  });
}

AnalysisInputs defaultAnalysisInputs() {
  AnalysisInputs in;
  in.cacheDir = ModelCache::defaultDirectory();
  return in;
}

int parseAnalysisFlag(const char *cmd, const std::vector<std::string> &args, size_t &i, AnalysisInputs &in,
                      bool &consumed) {
  const std::string &a = args[i];
  consumed = true;
  if (a == "--compile-commands") {
    if (!takeValue(args, i, in.compileCommands)) return usageError(cmd, "--compile-commands needs a file name");
  } else if (a == "--binary") {
    if (!takeValue(args, i, in.builtBinary)) return usageError(cmd, "--binary needs a file name");
  } else if (a == "--library") {
    if (!takeValue(args, i, in.library)) return usageError(cmd, "--library needs a file name");
  } else if (a == "--cache-dir") {
    std::optional<std::string> dir;
    if (!takeValue(args, i, dir)) return usageError(cmd, "--cache-dir needs a directory");
    in.cacheDir = *dir;
  } else if (a == "--no-cache") {
    in.cacheDir.clear();
  } else if (a == "-j" || a == "--jobs") {
    std::optional<std::string> v;
    char *end = nullptr;
    long n = takeValue(args, i, v) ? strtol(v->c_str(), &end, 10) : 0;
    if (!v || *end || n < 1 || n > 256) return usageError(cmd, "--jobs needs a number from 1 to 256");
    in.jobs = unsigned(n);
  } else {
    consumed = false;
  }
  return ExitOk;
}

int checkAnalysisInputs(const char *cmd, const AnalysisInputs &in) {
  if (in.compileCommands && in.binary)
    return usageError(cmd, "give either BINARY or --compile-commands (with --binary '" + *in.binary + "')");
  if (!in.compileCommands && (in.builtBinary || in.library))
    return usageError(cmd, "--binary and --library go with --compile-commands");
  if (in.builtBinary && in.library) return usageError(cmd, "--binary models the libraries already; drop --library");
  if (!in.binary && !in.compileCommands) return usageError(cmd, "missing BINARY (or --compile-commands FILE)");
  return ExitOk;
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

llvm::Expected<Analysis> analyzeProgram(const AnalysisInputs &in) {
  BinaryAnalysisOptions opts;
  opts.cacheDir = in.cacheDir;
  opts.jobs = in.jobs;
  if (!in.quiet && isatty(2))
    opts.progress = [](const std::string &line) { fprintf(stderr, "bespoke: %s\n", line.c_str()); };
  auto t0 = std::chrono::steady_clock::now();
  if (in.compileCommands) return analyzeSourceProgram(in, opts, t0);
  BinaryAnalysisReport report;
  auto fp = analyzeBinary(*in.binary, opts, &report);
  if (!fp) return fp.takeError();
  Analysis a;
  a.manifest.footprint = std::move(*fp);
  const Footprint &f = a.manifest.footprint;
  a.summary = llvm::formatv("{0}: {1} syscalls, {2} unresolved sites, {3} modules ({4} cached), {5:F2} s", f.app.name,
                            f.syscalls.size(), f.unresolved.size(), report.modules, report.cacheHits, secondsSince(t0));
  return a;
}

int proofFailure(const char *cmd, llvm::Error e) {
  int status = ExitUsage;
  llvm::handleAllErrors(
      std::move(e),
      [&](const ProofError &p) {
        status = exitStatus(p.kind);
        fprintf(stderr, "bespoke %s: %s\n", cmd, p.message.c_str());
      },
      [&](const llvm::ErrorInfoBase &other) { fprintf(stderr, "bespoke %s: %s\n", cmd, other.message().c_str()); });
  return status;
}

int exitStatus(ProofError::Kind kind) {
  switch (kind) {
  case ProofError::BadPolicy:
    return ExitUsage; // the input (a manifest, a policy) is the problem
  case ProofError::KernelWouldRefuse:
  case ProofError::NotEquivalent:
  case ProofError::GaveUp:
    return ExitNegative; // no proof: nothing is written or run
  }
  return ExitUsage;
}

} // namespace bespoke::cli
