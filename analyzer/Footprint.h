// Footprint: what an application can ask of the kernel. The analyzer's output and the manifest's content.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bespoke {

// One step of a call chain: a function in a module (machine code) or in a source file. For machine
// code, `address` is the module's virtual address of the call (or syscall) site inside `symbol`, or of
// the function itself for the first frame. For source, `file` and `line` locate the call site inside
// `symbol` (or the function's definition for the first frame), and `module` is empty.
struct Frame {
  std::string module; // file name, e.g. "libc.so.6"; empty for a source frame
  std::string symbol; // symbol name, or "sub_<hex>" for functions without one
  uint64_t address = 0;
  std::string file;   // source file (absolute path); empty for a machine-code frame
  unsigned line = 0;
  bool isSource() const { return !file.empty(); }
};

// A call chain from an entry point (first frame) to the site (last frame).
struct Evidence {
  std::string root; // why the first frame runs: "entry", "init_array", "address-taken", ...
  std::vector<Frame> chain;
};

// Argument facts for one syscall argument: a sorted set of values, or "any".
struct ArgFact {
  bool any = false;
  std::vector<std::string> values;
  std::string why; // for any, when known: the first place that made it so; for values, the library
                   // models that gave some (both written as a YAML comment, not read back)
  std::map<std::string, Frame> sites; // per value: the first site passing it, a syscall instruction or a
                                      // call of a wrapper (a comment beside the value, not read back)

  static ArgFact anyOf(std::string why = {}) {
    ArgFact f;
    f.any = true;
    f.why = std::move(why);
    return f;
  }
  static ArgFact of(std::vector<std::string> values) {
    ArgFact f;
    f.values = std::move(values);
    return f;
  }
};

struct SyscallUse {
  std::string name; // kernel name, e.g. "openat"
  int nr = -1;      // x86-64 number
  std::map<std::string, ArgFact> args; // argument name -> facts (empty until argument analysis)
  std::vector<Evidence> evidence;      // at least one
};

// A site the analysis could not resolve. Never dropped: a filter built from an incomplete footprint
// must be reviewed.
struct Unresolved {
  std::string kind; // "syscall-number", "wrapper-argument", "dlopen", "exec", "int80", ...
  std::string why;  // one line for the reviewer
  Evidence evidence;
};

struct KernelFacts {
  std::vector<std::string> paths;    // /proc, /sys, /dev paths the app opens
  std::vector<std::string> features; // Kconfig options the footprint needs ("CONFIG_EPOLL")
  std::map<std::string, std::string> featureReasons; // why, for the reviewer (a comment, not read back)
};

// The network policy's ports and destinations (manifest v2 `network:`, optional): written by a reviewer,
// since the analysis does not infer them from machine code. `bespoke run --net` allows these besides its
// flags. Socket families are not here: they are the socket/socketpair `domain` facts.
struct NetworkFacts {
  bool present = false;                // the manifest has the section (rendered even when empty)
  std::vector<uint16_t> bind;          // ports 1..65535 the app may bind
  std::vector<std::string> connect;    // destinations as --allow-connect takes them: "10.0.0.53:53", "any", ...
  // Socket families ("AF_INET", ...) the reviewer allows where the analysis could not bound socket's or
  // socketpair's `domain` (a fact of `any`): the filter checks those instead. Empty: no bound.
  std::vector<std::string> families;
};

// An ELF object whose code is in the footprint, and how it got there (manifest v2; a v1 manifest names
// only name, path and sha256). See manifests/README.md, "Modules".
struct ModuleInfo {
  std::string name;   // file name, unique in the footprint (a second file of the same name gets "#2", ...)
  std::string path;
  std::string sha256;
  std::string kind;   // "program" (a process image: the app, or a program it executes) or "library"
  std::string loaded; // executable | needed | interpreter | dlopen | nss | gconv | pam | openssl | exec |
                      // flag | observed
  std::string by;     // the module or program whose DT_NEEDED, PT_INTERP, code or configuration loads it
  std::optional<Frame> site; // dlopen, exec: the call of dlopen or of the exec function
  std::string target; // dlopen, exec: the path or name the program passes ("libfoo.so.1", "/bin/sh", "xz")
  std::string config; // nss, gconv, pam, openssl: "FILE:LINE: TEXT", the line that names the module
  std::string flag;   // flag: "--dlopen PATH" or "--exec PROGRAM"
};

// A file the application opens (or stats, executes, ...) by a constant path: where a path constant
// reaches a path-taking function. Paths under /proc, /sys and /dev go to KernelFacts::paths instead.
struct FileUse {
  std::string path;
  Evidence evidence; // the shortest chain to the call
};

struct AppInfo {
  std::string name;
  std::string path;
  std::string sha256;
  std::string arch = "x86_64";
  std::string linkage;     // "static", "static-pie", "dynamic", or "unknown" (from source, no binary)
  std::string libc;        // "glibc", "musl" or "none"
  std::string libcVersion; // e.g. "2.36", or "unknown"
};

// Counters that show where precision work should go.
struct AnalysisStats {
  uint64_t functions = 0;           // functions found in all modules
  uint64_t reachableFunctions = 0;
  uint64_t indirectCallSites = 0;   // reachable indirect calls, over-approximated
  uint64_t addressTakenFunctions = 0; // targets assumed for them
};

// Source analysis with --binary: the syscalls only one of the two analyses found (the footprint keeps
// the union). Rendered only when `done`.
struct CrossCheck {
  bool done = false;
  std::vector<std::string> sourceOnly, binaryOnly; // sorted names
};

struct Footprint {
  AppInfo app;
  std::vector<ModuleInfo> modules; // app first, then in the order the analysis found them (load order)
  std::vector<SyscallUse> syscalls; // sorted by name
  KernelFacts kernel;
  std::vector<FileUse> files;         // sorted by path, each path once
  NetworkFacts network;
  std::vector<Unresolved> unresolved; // sorted by module, address
  AnalysisStats stats;
  CrossCheck crossCheck;
};

} // namespace bespoke
