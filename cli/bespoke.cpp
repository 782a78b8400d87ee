// bespoke: the command-line driver. It parses flags and wires the pipeline stages; no analysis here.
#include "analyzer/BinaryAnalyzer.h"
#include "analyzer/ModelCache.h"
#include "manifests/Manifest.h"

#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

using namespace bespoke;

namespace {

constexpr int ExitOk = 0, ExitNegative = 1, ExitUsage = 2;

struct Command {
  const char *name;
  const char *summary;
  const char *usage;
  int issue; // 0 when implemented
};

const Command Commands[] = {
    {"analyze", "compute an application's syscall footprint and write its manifest",
     "usage: bespoke analyze BINARY [-o MANIFEST.yaml] [options]\n"
     "\n"
     "Statically finds every system call BINARY (an x86-64 ELF executable, static or dynamic) can reach,\n"
     "following its shared-library closure the way ld.so does, and writes a manifest (see manifests/README.md).\n"
     "\n"
     "options:\n"
     "  -o, --output FILE   write the manifest to FILE (atomically) instead of standard output\n"
     "  --cache-dir DIR     keep per-library models in DIR (default: $BESPOKE_CACHE_DIR,\n"
     "                      $XDG_CACHE_HOME/bespoke or ~/.cache/bespoke)\n"
     "  --no-cache          analyse every module from scratch and store nothing\n"
     "  -j, --jobs N        modules analysed in parallel (default: one per core)\n"
     "  -q, --quiet         no progress or summary on standard error\n"
     "  -h, --help          show this help\n"
     "\n"
     "exit status: 0 manifest written, 2 bad input (not an x86-64 ELF, missing library, bad flags)\n",
     0},
    {"extend", "compile a manifest into a verified seccomp filter", "usage: bespoke extend MANIFEST --format bpf|c|oci|systemd|spo -o OUT\n", 3},
    {"verify", "prove a filter equivalent to a manifest's policy", "usage: bespoke verify --manifest M --filter F.bpf [--default-action A]\n", 3},
    {"run", "run a command under a manifest's verified filter", "usage: bespoke run --manifest M [--default-action A] -- CMD ARGS...\n", 3},
    {"decide", "recommend extend or rewrite for an application", "usage: bespoke decide MANIFEST [--json]\n", 6},
    {"rewrite", "build a trimmed unikernel image for an application", "usage: bespoke rewrite MANIFEST --binary APP -o DIR [-- ARGS]\n", 5},
    {"boot", "boot a rewritten image under QEMU", "usage: bespoke boot DIR [--mem 64M] [--forward HOST:GUEST ...]\n", 5},
    {"diff", "compare two manifests", "usage: bespoke diff OLD.yaml NEW.yaml\n", 6},
    {"check", "fail when an application's footprint grew beyond a baseline", "usage: bespoke check --baseline MANIFEST BINARY\n", 6},
    {"mcp", "serve bespoke to agents over the Model Context Protocol (stdio)", "usage: bespoke mcp\n", 6},
};

void printTopHelp(FILE *out) {
  fprintf(out, "usage: bespoke COMMAND [ARGS...]\n\n"
               "bespoke specializes Linux applications for the kernel they run on.\n\ncommands:\n");
  for (const Command &c : Commands)
    fprintf(out, "  %-9s %s%s\n", c.name, c.summary, c.issue ? " (not yet available)" : "");
  fprintf(out, "\nRun 'bespoke COMMAND --help' for a command's options.\n"
               "exit status: 0 success, 1 negative verdict, 2 usage or input error\n");
}

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

int runAnalyze(const std::vector<std::string> &args) {
  std::optional<std::string> binary, output;
  std::string cacheDir = ModelCache::defaultDirectory();
  unsigned jobs = 0;
  bool quiet = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    auto value = [&](const char *flag) -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (a == "-h" || a == "--help") { fputs(Commands[0].usage, stdout); return ExitOk; }
    else if (a == "-o" || a == "--output") { output = value("-o"); if (!output) return usageError("analyze", a + " needs a file name"); }
    else if (a == "--cache-dir") { auto v = value("--cache-dir"); if (!v || v->empty()) return usageError("analyze", "--cache-dir needs a directory"); cacheDir = *v; }
    else if (a == "--no-cache") cacheDir.clear();
    else if (a == "-j" || a == "--jobs") {
      auto v = value("-j");
      char *end = nullptr;
      long n = v ? strtol(v->c_str(), &end, 10) : 0;
      if (!v || *end || n < 1 || n > 256) return usageError("analyze", "--jobs needs a number from 1 to 256");
      jobs = unsigned(n);
    }
    else if (a == "-q" || a == "--quiet") quiet = true;
    else if (a.size() > 1 && a[0] == '-') return usageError("analyze", "unknown option '" + a + "'");
    else if (binary) return usageError("analyze", "more than one BINARY given ('" + *binary + "' and '" + a + "')");
    else binary = a;
  }
  if (!binary) return usageError("analyze", "missing BINARY");

  BinaryAnalysisOptions opts;
  opts.cacheDir = cacheDir;
  opts.jobs = jobs;
  bool tty = isatty(2);
  if (!quiet && tty)
    opts.progress = [](const std::string &line) { fprintf(stderr, "bespoke: %s\n", line.c_str()); };
  auto t0 = std::chrono::steady_clock::now();
  BinaryAnalysisReport report;
  auto fp = analyzeBinary(*binary, opts, &report);
  if (!fp) return inputError(fp.takeError());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  Manifest m;
  m.footprint = std::move(*fp);
  if (output) {
    if (llvm::Error e = saveManifest(m, *output)) return inputError(std::move(e));
  } else {
    fputs(renderManifest(m).c_str(), stdout);
  }
  if (!quiet)
    fprintf(stderr, "bespoke: %s: %zu syscalls, %zu unresolved sites, %u modules (%u cached), %.2f s%s%s\n",
            m.footprint.app.name.c_str(), m.footprint.syscalls.size(), m.footprint.unresolved.size(),
            report.modules, report.cacheHits, secs, output ? " -> " : "", output ? output->c_str() : "");
  return ExitOk;
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
    for (const std::string &a : args)
      if (a == "-h" || a == "--help") {
        printf("%s\n%s.\nNot yet available in this build (see issue %d).\n", c.usage, c.summary, c.issue);
        return ExitOk;
      }
    fprintf(stderr, "bespoke %s: not yet available in this build (see issue %d)\n", c.name, c.issue);
    return ExitUsage;
  }
  fprintf(stderr, "bespoke: unknown command '%s'\n", cmd.c_str());
  printTopHelp(stderr);
  return ExitUsage;
}
