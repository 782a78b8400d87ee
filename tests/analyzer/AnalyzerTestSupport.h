// AnalyzerTestSupport: what the analyzer's unit test files share: the compiled test programs
// (BESPOKE_TEST_DATA_DIR), a private temporary directory, file helpers, footprint queries and checks
// (well-formed evidence, coverage of what strace sees).
#pragma once

#include "analyzer/BinaryAnalyzer.h"
#include "analyzer/KernelEntries.h"
#include "analyzer/ElfModule.h"
#include "analyzer/Loader.h"
#include "analyzer/ModelCache.h"
#include "analyzer/ModuleModel.h"
#include "analyzer/SyscallTable.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Object/ELF.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <csignal>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#ifndef BESPOKE_TEST_DATA_DIR
#error "BESPOKE_TEST_DATA_DIR must name the directory of the compiled test programs"
#endif
#ifndef BESPOKE_TEST_HAVE_MUSL
#define BESPOKE_TEST_HAVE_MUSL 0
#endif


namespace bespoke::analyzertest {

namespace fs = std::filesystem;


inline const std::string DataDir = BESPOKE_TEST_DATA_DIR;
inline std::string data(const std::string &name) { return DataDir + "/" + name; }

#define REQUIRE_MUSL()                                                                                     \
  do {                                                                                                     \
    if (!BESPOKE_TEST_HAVE_MUSL) GTEST_SKIP() << "musl-gcc was not found at configure time";              \
  } while (0)

// A private temporary directory, removed with everything in it.
class TempDir {
public:
  TempDir() {
    std::string base = fs::temp_directory_path().string() + "/bespoke-analyzer-test-XXXXXX";
    std::vector<char> tmpl(base.begin(), base.end());
    tmpl.push_back('\0');
    if (!mkdtemp(tmpl.data())) {
      perror("mkdtemp");
      abort();
    }
    Path = tmpl.data();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(Path, ec);
  }
  std::string operator/(const std::string &name) const { return Path + "/" + name; }
  const std::string &path() const { return Path; }

private:
  std::string Path;
};

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

// The error ElfModule::open reports for `path`, or "" when it opens.
inline std::string openError(const std::string &path) {
  auto m = ElfModule::open(path);
  if (m) return "";
  return llvm::toString(m.takeError());
}

// An ElfModule error is one line "PATH: problem" that mentions every word of `problem`.
inline void expectElfError(const std::string &path, std::initializer_list<const char *> problem) {
  std::string msg = openError(path);
  ASSERT_FALSE(msg.empty()) << path << " opened, but it should have been rejected";
  EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << "message does not start with the path: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
  for (const char *w : problem) EXPECT_TRUE(contains(msg, w)) << "expected \"" << w << "\" in: " << msg;
}

// A copy of /bin/true with `patch` applied at byte offsets.
inline std::string patchedTrue(const TempDir &tmp, const std::string &name, std::map<size_t, uint8_t> patch) {
  std::string bytes = readFile("/bin/true");
  for (auto [off, v] : patch) bytes[off] = char(v);
  std::string p = tmp / name;
  writeFile(p, bytes);
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Footprint helpers

inline const SyscallUse *findSyscall(const Footprint &fp, const std::string &name) {
  for (const SyscallUse &u : fp.syscalls)
    if (u.name == name) return &u;
  return nullptr;
}

inline std::set<std::string> syscallNames(const Footprint &fp) {
  std::set<std::string> out;
  for (const SyscallUse &u : fp.syscalls) out.insert(u.name);
  return out;
}

// The syscalls the program's code reaches: without those only the kernel issues (KernelEntries).
inline std::set<std::string> programSyscallNames(const Footprint &fp) {
  std::set<std::string> out;
  for (const SyscallUse &u : fp.syscalls)
    if (!onlyKernelIssued(u)) out.insert(u.name);
  return out;
}

inline bool chainHas(const Evidence &ev, const std::string &module, const std::string &symbol) {
  for (const Frame &f : ev.chain)
    if (f.module == module && f.symbol == symbol) return true;
  return false;
}

inline bool someChainHas(const SyscallUse &u, const std::string &module, const std::string &symbol) {
  for (const Evidence &ev : u.evidence)
    if (chainHas(ev, module, symbol)) return true;
  return false;
}

inline std::string chainText(const Evidence &ev) {
  std::string s = "[" + ev.root + "]";
  for (const Frame &f : ev.chain) {
    char addr[32];
    snprintf(addr, sizeof addr, "%llx", (unsigned long long)f.address);
    s += " " + f.module + ":" + f.symbol + "@" + addr;
  }
  return s;
}

inline std::string evidenceText(const SyscallUse &u) {
  std::string s;
  for (const Evidence &ev : u.evidence) s += "\n  " + chainText(ev);
  return s;
}

// Everything in a footprint, as text, for equality checks with readable diffs.
inline std::string describe(const Footprint &fp) {
  std::ostringstream o;
  o << "app " << fp.app.name << " " << fp.app.path << " " << fp.app.sha256 << " " << fp.app.arch << " "
    << fp.app.linkage << " " << fp.app.libc << " " << fp.app.libcVersion << "\n";
  for (const ModuleInfo &m : fp.modules) o << "module " << m.name << " " << m.path << " " << m.sha256 << "\n";
  for (const SyscallUse &u : fp.syscalls) {
    o << "syscall " << u.name << " " << u.nr << "\n";
    for (auto &[arg, fact] : u.args) {
      o << "  arg " << arg << (fact.any ? " any" : "");
      for (const std::string &v : fact.values) o << " " << v;
      o << "\n";
    }
    for (const Evidence &ev : u.evidence) o << "  " << chainText(ev) << "\n";
  }
  for (const std::string &p : fp.kernel.paths) o << "path " << p << "\n";
  for (const std::string &f : fp.kernel.features) o << "feature " << f << "\n";
  for (const Unresolved &u : fp.unresolved) o << "unresolved " << u.kind << " " << u.why << " " << chainText(u.evidence) << "\n";
  o << "stats " << fp.stats.functions << " " << fp.stats.reachableFunctions << " " << fp.stats.indirectCallSites << " "
    << fp.stats.addressTakenFunctions << "\n";
  return o.str();
}

inline Footprint analyze(const std::string &path, const std::string &cacheDir = "", unsigned jobs = 0,
                  BinaryAnalysisReport *report = nullptr) {
  BinaryAnalysisOptions opts;
  opts.cacheDir = cacheDir;
  opts.jobs = jobs;
  auto fp = analyzeBinary(path, opts, report);
  if (!fp) {
    ADD_FAILURE() << "analyzeBinary(" << path << ") failed: " << llvm::toString(fp.takeError());
    return {};
  }
  return std::move(*fp);
}

// Every footprint invariant the rest of the pipeline relies on.
inline void expectWellFormed(const Footprint &fp) {
  for (size_t i = 0; i < fp.syscalls.size(); ++i) {
    const SyscallUse &u = fp.syscalls[i];
    if (i) {
      EXPECT_LT(fp.syscalls[i - 1].name, u.name) << "syscalls not sorted by name or duplicated";
    }
    auto nr = syscallNumber(u.name);
    ASSERT_TRUE(nr.has_value()) << u.name << " is not an x86-64 syscall";
    EXPECT_EQ(*nr, u.nr) << u.name;
    EXPECT_FALSE(u.evidence.empty()) << u.name << " has no evidence";
    for (const Evidence &ev : u.evidence) {
      // Only a kernel-issued syscall (restart_syscall, the vDSO's fallbacks) has an empty chain.
      EXPECT_EQ(ev.chain.empty(), isKernelRoot(ev.root)) << u.name << ": " << ev.root;
      EXPECT_FALSE(ev.root.empty()) << u.name;
    }
  }
  for (const Unresolved &u : fp.unresolved) {
    EXPECT_FALSE(u.kind.empty());
    EXPECT_FALSE(u.why.empty());
    EXPECT_FALSE(u.evidence.chain.empty()) << u.kind << ": " << u.why;
  }
  ASSERT_FALSE(fp.modules.empty());
  EXPECT_EQ(fp.modules[0].name, fp.app.name);
  EXPECT_EQ(fp.modules[0].sha256, fp.app.sha256);
}

// ---------------------------------------------------------------------------------------------------
// Ground truth: the syscalls a program makes under strace must all be in its static footprint.

inline std::optional<std::set<std::string>> straceSyscalls(const std::string &program, const TempDir &tmp) {
  if (system("command -v strace >/dev/null 2>&1") != 0) return std::nullopt;
  std::string log = tmp / "strace.log";
  std::string cmd = "strace -f -qq -o '" + log + "' '" + program + "' >/dev/null 2>&1";
  int rc = system(cmd.c_str());
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) return std::nullopt; // ptrace not permitted here
  std::ifstream in(log);
  std::set<std::string> out;
  std::regex line(R"(^(?:\d+\s+)?([a-z_][a-z0-9_]*)\()");
  std::smatch m;
  bool first = true;
  for (std::string l; std::getline(in, l);) {
    if (!std::regex_search(l, m, line)) continue;
    // The first line is strace starting the program: that execve belongs to strace, not to the program.
    if (first && m[1] == "execve") { first = false; continue; }
    first = false;
    out.insert(m[1]);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

inline void expectCoversStrace(const std::string &program, const Footprint &fp) {
  TempDir tmp;
  auto seen = straceSyscalls(program, tmp);
  if (!seen) {
    std::cout << "[   NOTE   ] strace unavailable or not permitted: ground-truth check of " << program << " skipped\n";
    return;
  }
  std::set<std::string> have = syscallNames(fp);
  for (const std::string &s : *seen)
    EXPECT_TRUE(have.count(s)) << program << " made syscall " << s << " at run time, missing from its footprint";
}


} // namespace bespoke::analyzertest
