#include "analyzer/source/ClangFrontend.h"
#include "analyzer/source/FactsVisitor.h"

#include "analyzer/ElfModule.h" // printable()

#include "clang/AST/ASTConsumer.h"
#include "clang/AST/ASTContext.h"
#include "clang/AST/Attr.h"
#include "clang/AST/Decl.h"
#include "clang/AST/Expr.h"
#include "clang/AST/ExprCXX.h"
#include "clang/AST/Mangle.h"
#include "clang/AST/RecursiveASTVisitor.h"
#include "clang/AST/Stmt.h"
#include "clang/Basic/Builtins.h"
#include "clang/Basic/Diagnostic.h"
#include "clang/Basic/SourceManager.h"
#include "clang/Driver/Driver.h"
#include "clang/Driver/Options.h"
#include "clang/Frontend/CompilerInstance.h"
#include "clang/Frontend/FrontendAction.h"
#include "clang/Index/USRGeneration.h"
#include "clang/Tooling/ArgumentsAdjusters.h"
#include "clang/Tooling/JSONCompilationDatabase.h"
#include "clang/Tooling/Tooling.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Option/ArgList.h"
#include "llvm/Option/OptTable.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/VirtualFileSystem.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#ifndef BESPOKE_CLANG_BINARY
#define BESPOKE_CLANG_BINARY "/usr/lib/llvm-19/bin/clang"
#endif

using namespace clang;
using llvm::Error;
using llvm::Expected;
using llvm::SmallString;
using llvm::StringRef;

namespace bespoke {

bool isArgumentApi(const std::string &name) {
  static const llvm::StringSet<> apis = {
      "syscall", "socket", "socketpair", "ioctl", "open", "open64", "openat", "openat64", "creat",
      "creat64", "fopen", "fopen64", "freopen", "freopen64", "opendir", "mmap", "mmap64", "mprotect",
      "madvise", "prctl", "fcntl", "fcntl64", "clone", "clone3", "accept4", "pipe2", "dup3", "eventfd",
      "epoll_create1", "signalfd", "timerfd_create", "inotify_init1", "memfd_create", "setsockopt",
      "getsockopt", "personality", "unshare", "setns", "ptrace", "access", "faccessat", "stat", "stat64",
      "lstat", "lstat64", "statx", "readlink", "readlinkat", "execve", "execv", "execvp", "mount", "umount2"};
  return apis.contains(name);
}

bool isCallbackApi(const std::string &name) {
  static const llvm::StringSet<> apis = {
      "signal", "sigset", "bsd_signal", "sysv_signal", "atexit", "at_quick_exit", "on_exit", "__cxa_atexit",
      "pthread_create", "pthread_once", "pthread_atfork", "pthread_key_create", "thrd_create", "call_once",
      "tss_create", "clone", "qsort", "qsort_r", "bsearch", "tsearch", "tfind", "tdelete", "twalk", "twalk_r",
      "lsearch", "lfind", "ftw", "nftw", "scandir", "scandirat", "glob", "dl_iterate_phdr", "makecontext",
      "__libc_start_main"};
  return apis.contains(name);
}

using source::FunctionRecord;
using source::TUResult;
using source::absolutePath;
using source::raiseEntry;

namespace {

Error fail(const std::string &path, const llvm::Twine &why) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", printable(path).c_str(),
                                 printable(why.str()).c_str());
}

bool locLess(const SourceLoc &a, const SourceLoc &b) {
  return std::tie(a.file, a.line) < std::tie(b.file, b.line);
}

auto argKey(const ArgValue &a) { return std::tie(a.known, a.isString, a.value, a.text, a.alternatives); }

bool argsLess(const std::vector<ArgValue> &a, const std::vector<ArgValue> &b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](const ArgValue &x, const ArgValue &y) { return argKey(x) < argKey(y); });
}

bool argsEqual(const std::vector<ArgValue> &a, const std::vector<ArgValue> &b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const ArgValue &x, const ArgValue &y) { return argKey(x) == argKey(y); });
}

auto callKey(const SourceCall &c) {
  return std::tie(c.callerUsr, c.loc.file, c.loc.line, c.calleeUsr, c.indirectType, c.typeCastAway);
}

// Records the first error (one line) and keeps everything off stderr.
class FirstErrorConsumer : public DiagnosticConsumer {
public:
  std::string first;
  void HandleDiagnostic(DiagnosticsEngine::Level level, const Diagnostic &info) override {
    DiagnosticConsumer::HandleDiagnostic(level, info);
    if (level < DiagnosticsEngine::Error || !first.empty()) return;
    SmallString<256> text;
    info.FormatDiagnostic(text);
    std::string prefix;
    if (info.hasSourceManager() && info.getLocation().isValid()) {
      PresumedLoc p = info.getSourceManager().getPresumedLoc(info.getLocation());
      if (p.isValid())
        prefix = std::string(p.getFilename()) + ":" + std::to_string(p.getLine()) + ":" + std::to_string(p.getColumn()) + ": ";
    }
    first = printable(prefix + "error: " + std::string(text));
  }
};

class FactsConsumer : public ASTConsumer {
public:
  FactsConsumer(const DiagnosticConsumer &diags, std::string workingDir, TUResult &out)
      : diags(diags), workingDir(std::move(workingDir)), out(out) {}
  void HandleTranslationUnit(ASTContext &ctx) override {
    if (diags.getNumErrors() > 0) return; // reported as a problem; a broken AST is not analysed
    source::collectTUFacts(ctx, workingDir, out);
    out.analysed = true;
  }

private:
  const DiagnosticConsumer &diags;
  std::string workingDir;
  TUResult &out;
};

class FactsAction : public ASTFrontendAction {
public:
  FactsAction(const DiagnosticConsumer &diags, std::string workingDir, TUResult &out)
      : diags(diags), workingDir(std::move(workingDir)), out(out) {}
  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &, StringRef) override {
    return std::make_unique<FactsConsumer>(diags, workingDir, out);
  }

private:
  const DiagnosticConsumer &diags;
  std::string workingDir;
  TUResult &out;
};

// ---------------------------------------------------------------------------------------------------
// Compile commands.

struct Entry {
  std::string file; // absolute
  tooling::CompileCommand command;
};

bool isAssemblySource(StringRef file) {
  StringRef ext = llvm::sys::path::extension(file);
  return ext == ".s" || ext == ".S" || ext == ".sx" || ext == ".asm";
}

// Include directories a gcc specs file adds (musl-gcc's: -nostdinc -isystem /usr/include/x86_64-linux-musl).
struct SpecsIncludes {
  bool nostdinc = false;
  std::vector<std::string> dirs;
};

SpecsIncludes readSpecs(const std::string &specsPath) {
  SpecsIncludes out;
  auto buf = llvm::MemoryBuffer::getFile(specsPath);
  if (!buf) return out;
  llvm::SmallVector<StringRef, 64> words;
  (*buf)->getBuffer().split(words, ' ', -1, false);
  for (size_t i = 0; i < words.size(); ++i) {
    StringRef w = words[i].trim();
    if (w.starts_with("-nostdinc")) out.nostdinc = true;
    if (w == "-isystem" && i + 1 < words.size()) {
      StringRef dir = words[i + 1].trim();
      if (llvm::sys::path::is_absolute(dir) &&
          std::find(out.dirs.begin(), out.dirs.end(), dir.str()) == out.dirs.end())
        out.dirs.push_back(dir.str());
    }
  }
  return out;
}

// The specs file of a command: `-specs=F` / `-specs F`, or the one the musl-gcc wrapper script passes.
std::string specsOf(const std::vector<std::string> &args) {
  for (size_t i = 1; i < args.size(); ++i) {
    StringRef a = args[i];
    if (a.consume_front("-specs=") || a.consume_front("--specs=")) return a.str();
    if ((a == "-specs" || a == "--specs") && i + 1 < args.size()) return args[i + 1];
  }
  if (args.empty() || !StringRef(llvm::sys::path::filename(args[0])).contains("musl-gcc")) return {};
  std::string wrapper = args[0];
  if (!llvm::sys::path::is_absolute(wrapper) && wrapper.find('/') == std::string::npos) {
    auto found = llvm::sys::findProgramByName(wrapper);
    if (!found) return {};
    wrapper = *found;
  }
  auto buf = llvm::MemoryBuffer::getFile(wrapper);
  if (!buf || (*buf)->getBufferSize() > 65536 || !(*buf)->getBuffer().starts_with("#!")) return {};
  StringRef text = (*buf)->getBuffer();
  size_t at = text.find("-specs");
  if (at == StringRef::npos) return {};
  StringRef rest = text.substr(at + 6).ltrim(" =\t\"'");
  return rest.take_until([](char c) { return c == '"' || c == '\'' || c == ' ' || c == '\n' || c == '\t'; }).str();
}

// The command line clang parses: clang's driver in the compiler's mode, output and dependency-file
// options stripped, -fsyntax-only, options clang does not know (gcc-only) and gcc plugins dropped,
// inputs other than this entry's file dropped, musl-gcc's include directories made explicit, errors gcc
// only warns about downgraded, warnings off, and Clang's resource directory.
std::vector<std::string> adjustCommand(const Entry &entry, const std::string &resourceDir) {
  std::vector<std::string> args = entry.command.CommandLine;
  const std::string &file = entry.command.Filename;
  // Clang's own driver, in the mode (and for the target) the compiler's name implies (g++ -> C++):
  // with argv[0] "cc" the driver would look for the GCC installation relative to "", not to clang.
  tooling::addTargetAndModeForProgramName(args, args.front());
  args.front() = BESPOKE_CLANG_BINARY;
  for (const auto &adjust : {tooling::getClangStripOutputAdjuster(), tooling::getClangSyntaxOnlyAdjuster(),
                             tooling::getClangStripDependencyFileAdjuster()})
    args = adjust(args, file);

  const llvm::opt::OptTable &table = driver::getDriverOptTable();
  std::vector<const char *> argv;
  for (size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
  unsigned missingIndex = 0, missingCount = 0;
  llvm::opt::InputArgList parsed =
      table.ParseArgs(argv, missingIndex, missingCount, llvm::opt::Visibility(driver::options::ClangOption));
  // An option spans the tokens from its index up to the next option's (argv starts at args[1]).
  std::vector<const llvm::opt::Arg *> inOrder(parsed.begin(), parsed.end());
  std::vector<bool> drop(args.size(), false);
  for (size_t n = 0; n < inOrder.size(); ++n) {
    const llvm::opt::Arg *a = inOrder[n];
    unsigned id = a->getOption().getID();
    StringRef spelling = a->getSpelling();
    bool remove = id == driver::options::OPT_UNKNOWN || a->getOption().hasFlag(driver::options::Unsupported) ||
                  (id == driver::options::OPT_INPUT && absolutePath(a->getValue(), entry.command.Directory) != entry.file) ||
                  spelling.starts_with("-fplugin") || spelling.starts_with("-save-temps"); // gcc plugins; no files
    if (!remove) continue;
    size_t end = n + 1 < inOrder.size() ? inOrder[n + 1]->getIndex() : argv.size();
    for (size_t k = a->getIndex(); k < end && k + 1 < drop.size(); ++k) drop[k + 1] = true;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i)
    if (!drop[i]) out.push_back(std::move(args[i]));

  std::vector<std::string> extra;
  std::string specs = specsOf(entry.command.CommandLine);
  if (!specs.empty()) {
    SpecsIncludes inc = readSpecs(specs);
    if (inc.nostdinc && !inc.dirs.empty()) {
      extra.push_back("-nostdinc");
      for (const std::string &d : inc.dirs) {
        extra.push_back("-isystem");
        extra.push_back(d);
      }
      extra.push_back("-isystem");
      extra.push_back(resourceDir + "/include");
    }
  }
  // -fno-caret-diagnostics also keeps CompilerInstance from printing "N errors generated." to stderr.
  for (const char *flag : {"-fno-caret-diagnostics", "-Wno-error", "-Wno-error=implicit-function-declaration", "-Wno-error=implicit-int",
                           "-Wno-error=int-conversion", "-Wno-error=incompatible-function-pointer-types",
                           "-Wno-error=incompatible-pointer-types", "-Wno-error=return-type", "-w"})
    extra.push_back(flag);
  bool haveResourceDir = std::any_of(out.begin(), out.end(), [](const std::string &a) {
    return StringRef(a).starts_with("-resource-dir");
  });
  if (!haveResourceDir) extra.push_back("-resource-dir=" + resourceDir);
  // Before the inputs would be tidier, but the driver does not care about the order of options and files.
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

// An assembly source is not C: report it, and list its `syscall` instructions (outside any function the
// front end knows).
void scanAssembly(const Entry &entry, TUResult &r) {
  r.problem = SourceProblem{entry.file, "assembly source: not analysed by the C front end"};
  auto buf = llvm::MemoryBuffer::getFile(entry.file);
  if (!buf) return;
  llvm::SmallVector<StringRef, 256> lines;
  (*buf)->getBuffer().split(lines, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    StringRef code = lines[i].split('#').first.split("//").first;
    for (size_t at = code.find("syscall"); at != StringRef::npos; at = code.find("syscall", at + 1)) {
      auto isWord = [](char c) { return isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
      bool before = at > 0 && isWord(code[at - 1]);
      bool after = at + 7 < code.size() && isWord(code[at + 7]);
      if (!before && !after) {
        r.inlineAsm.push_back({std::string(), SourceLoc{entry.file, unsigned(i + 1)}});
        break;
      }
    }
  }
}

TUResult analyseEntry(const Entry &entry, const std::string &resourceDir) {
  TUResult r;
  r.file = entry.file;
  if (!llvm::sys::fs::exists(entry.file)) {
    r.problem = SourceProblem{entry.file, "source file not found"};
    return r;
  }
  if (entry.command.CommandLine.empty()) {
    r.problem = SourceProblem{entry.file, "empty compile command"};
    return r;
  }
  if (isAssemblySource(entry.file)) {
    scanAssembly(entry, r);
    return r;
  }
  // A file system of our own: its working directory is the command's, without chdir (other threads).
  llvm::IntrusiveRefCntPtr<llvm::vfs::FileSystem> fs(llvm::vfs::createPhysicalFileSystem().release());
  if (!entry.command.Directory.empty()) {
    if (std::error_code ec = fs->setCurrentWorkingDirectory(entry.command.Directory)) {
      r.problem = SourceProblem{entry.file, printable("directory " + entry.command.Directory + ": " + ec.message())};
      return r;
    }
  }
  llvm::IntrusiveRefCntPtr<FileManager> files(new FileManager(FileSystemOptions(), fs));
  FirstErrorConsumer diags;
  std::string workingDir = entry.command.Directory;
  if (workingDir.empty()) {
    SmallString<256> cwd;
    if (!llvm::sys::fs::current_path(cwd)) workingDir = std::string(cwd);
  }
  tooling::ToolInvocation invocation(adjustCommand(entry, resourceDir),
                                     std::make_unique<FactsAction>(diags, workingDir, r), files.get());
  invocation.setDiagnosticConsumer(&diags);
  invocation.run();
  if (!r.analysed || diags.getNumErrors() > 0) {
    r = TUResult();
    r.file = entry.file;
    r.problem = SourceProblem{entry.file, diags.first.empty() ? std::string("could not be parsed") : diags.first};
  }
  return r;
}

Expected<std::unique_ptr<tooling::JSONCompilationDatabase>> loadDatabase(const std::string &path) {
  if (!llvm::sys::fs::exists(path)) return fail(path, "compile database not found");
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf) return fail(path, "cannot read compile database: " + buf.getError().message());
  // Checked here first: the JSON reader of LibTooling prints parse errors to stderr.
  Expected<llvm::json::Value> json = llvm::json::parse((*buf)->getBuffer());
  if (!json) return fail(path, "malformed JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Array *array = json->getAsArray();
  if (!array) return fail(path, "compile database is not a JSON array");
  if (array->empty()) return fail(path, "compile database has no entries");
  std::string why;
  std::unique_ptr<tooling::JSONCompilationDatabase> db =
      tooling::JSONCompilationDatabase::loadFromFile(path, why, tooling::JSONCommandLineSyntax::AutoDetect);
  if (!db) return fail(path, "invalid compile database: " + why);
  return db;
}

std::string findResourceDir() {
  std::string dir = driver::Driver::GetResourcesPath(BESPOKE_CLANG_BINARY);
  if (llvm::sys::fs::exists(dir + "/include/stddef.h")) return dir;
  return {};
}

void mergeFunction(std::map<std::string, FunctionRecord> &merged, const FunctionRecord &r) {
  auto [it, inserted] = merged.try_emplace(r.fn.usr, r);
  if (inserted) return;
  FunctionRecord &m = it->second;
  auto rank = [](const FunctionRecord &x) { return x.realDefinition ? 2 : x.inlineDefinition ? 1 : 0; };
  // The representative: a real definition over an inline-only one over a declaration; among
  // declarations the first in (file, line) order; otherwise the first TU in file order.
  if (rank(r) > rank(m) || (rank(r) == 0 && rank(m) == 0 && locLess(r.fn.loc, m.fn.loc))) {
    m.fn.name = r.fn.name;
    m.fn.symbol = r.fn.symbol;
    m.fn.type = r.fn.type;
    m.fn.loc = r.fn.loc;
  }
  m.fn.defined |= r.fn.defined;
  m.fn.addressTaken |= r.fn.addressTaken;
  m.fn.typeCastAway |= r.fn.typeCastAway;
  m.realDefinition |= r.realDefinition;
  m.inlineDefinition |= r.inlineDefinition;
  raiseEntry(m.fn, r.fn.entry, r.fn.entryWhy);
}

} // namespace

Expected<SourceFacts> collectSourceFacts(const std::string &compileCommandsPath, const FrontendOptions &opts) {
  auto db = loadDatabase(compileCommandsPath);
  if (!db) return db.takeError();
  std::string resourceDir = findResourceDir();
  if (resourceDir.empty())
    return fail(driver::Driver::GetResourcesPath(BESPOKE_CLANG_BINARY),
                "Clang resource directory (with include/stddef.h) not found; install libclang-common-19-dev");

  std::vector<Entry> entries;
  for (tooling::CompileCommand &c : (*db)->getAllCompileCommands()) {
    Entry e;
    e.file = absolutePath(c.Filename, c.Directory);
    e.command = std::move(c);
    entries.push_back(std::move(e));
  }
  if (entries.empty()) return fail(compileCommandsPath, "compile database has no entries");
  // File order makes the merge, and so the result, independent of the database's order and of threads.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return std::tie(a.file, a.command.Directory, a.command.CommandLine) <
           std::tie(b.file, b.command.Directory, b.command.CommandLine);
  });

  std::vector<TUResult> results(entries.size());
  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t done = 0;
  unsigned jobs = opts.jobs ? opts.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = std::max(1u, std::min<unsigned>(jobs, unsigned(entries.size())));
  // Largest files first: the wall time is bounded by the slowest translation unit.
  std::vector<std::pair<uint64_t, size_t>> order;
  for (size_t i = 0; i < entries.size(); ++i) {
    uint64_t size = 0;
    llvm::sys::fs::file_size(entries[i].file, size);
    order.push_back({size, i});
  }
  std::stable_sort(order.begin(), order.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
  auto worker = [&] {
    for (size_t k; (k = next++) < order.size();) {
      size_t i = order[k].second;
      results[i] = analyseEntry(entries[i], resourceDir);
      if (opts.progress) {
        std::lock_guard<std::mutex> lock(mu);
        ++done;
        const TUResult &r = results[i];
        opts.progress("[" + std::to_string(done) + "/" + std::to_string(entries.size()) + "] " + r.file +
                      (r.problem ? ": " + r.problem->message
                                 : " (" + std::to_string(r.functions.size()) + " functions, " +
                                       std::to_string(r.calls.size()) + " calls)"));
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < jobs; ++t) pool.emplace_back(worker);
  worker();
  for (auto &t : pool) t.join();

  SourceFacts facts;
  facts.compiler = entries.front().command.CommandLine.empty() ? std::string()
                                                               : entries.front().command.CommandLine.front();
  std::map<std::string, FunctionRecord> merged;
  for (TUResult &r : results) {
    if (r.problem) facts.problems.push_back(*r.problem);
    if (r.analysed) facts.translationUnits.push_back(r.file);
    for (const FunctionRecord &f : r.functions) mergeFunction(merged, f);
    std::move(r.calls.begin(), r.calls.end(), std::back_inserter(facts.calls));
    std::move(r.inlineAsm.begin(), r.inlineAsm.end(), std::back_inserter(facts.inlineAsm));
  }
  for (auto &[usr, m] : merged) {
    m.fn.inlineOnly = m.inlineDefinition && !m.realDefinition;
    facts.functions.push_back(std::move(m.fn));
  }

  std::sort(facts.calls.begin(), facts.calls.end(), [](const SourceCall &a, const SourceCall &b) {
    if (callKey(a) != callKey(b)) return callKey(a) < callKey(b);
    return argsLess(a.args, b.args);
  });
  facts.calls.erase(std::unique(facts.calls.begin(), facts.calls.end(),
                                [](const SourceCall &a, const SourceCall &b) {
                                  return callKey(a) == callKey(b) && argsEqual(a.args, b.args);
                                }),
                    facts.calls.end());
  auto asmKey = [](const InlineAsmSyscall &a) { return std::tie(a.functionUsr, a.loc.file, a.loc.line); };
  std::sort(facts.inlineAsm.begin(), facts.inlineAsm.end(),
            [&](const InlineAsmSyscall &a, const InlineAsmSyscall &b) { return asmKey(a) < asmKey(b); });
  facts.inlineAsm.erase(std::unique(facts.inlineAsm.begin(), facts.inlineAsm.end(),
                                    [&](const InlineAsmSyscall &a, const InlineAsmSyscall &b) {
                                      return asmKey(a) == asmKey(b);
                                    }),
                        facts.inlineAsm.end());
  auto problemKey = [](const SourceProblem &p) { return std::tie(p.file, p.message); };
  std::sort(facts.problems.begin(), facts.problems.end(),
            [&](const SourceProblem &a, const SourceProblem &b) { return problemKey(a) < problemKey(b); });
  facts.problems.erase(std::unique(facts.problems.begin(), facts.problems.end(),
                                   [&](const SourceProblem &a, const SourceProblem &b) {
                                     return problemKey(a) == problemKey(b);
                                   }),
                       facts.problems.end());
  std::sort(facts.translationUnits.begin(), facts.translationUnits.end());
  facts.translationUnits.erase(std::unique(facts.translationUnits.begin(), facts.translationUnits.end()),
                               facts.translationUnits.end());
  return facts;
}

} // namespace bespoke
