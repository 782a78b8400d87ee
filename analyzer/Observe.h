// Observe: runs a program once under ptrace and reports the code its process tree brought in at run time:
// every file mapped executable and every program executed, and the files it opened or looked up. The run
// only discovers code; each object it reports is meant to be analysed statically, in full (the run takes
// one path through the program). The files are what an image must hold for the run to go the same way.
// How it works and what it cannot see: analyzer/OBSERVE.md.
#pragma once

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace bespoke {

// A file mapped with PROT_EXEC (by mmap, by mprotect adding PROT_EXEC, or by the kernel at execve).
struct ObservedObject {
  std::string path;    // absolute, as the kernel names the mapped file (its fd link or /proc/PID/maps)
  std::string program; // the executable (/proc/PID/exe) of the process that mapped it
  auto operator<=>(const ObservedObject &) const = default;
};

// A successful execve/execveat.
struct ObservedExec {
  std::string path;      // the program now running (/proc/PID/exe after the exec): /bin/sh gives /usr/bin/dash
  std::string requested; // the path given to execve (relative ones as given); empty when not seen (32-bit)
  std::string by;        // the executable of the process that executed it
  auto operator<=>(const ObservedExec &) const = default;
};

// A file or directory the tree opened or looked up by path (open, openat, openat2, stat, lstat,
// newfstatat, statx, access, faccessat, faccessat2, creat), there before the tree first named it and still
// there when the run ended. A file opened write-only gives its directory instead (the app needs the place,
// not the bytes). Files mapped
// executable and executed programs are not repeated here.
struct ObservedFile {
  std::string path;    // absolute, as the program named it (links kept); "." removed, ".." too where no link
                       // before it makes the shorter name another file
  std::string program; // the executable of the first process that named it
  std::string call;    // the system call that first named it ("openat", "newfstatat", ...)
  bool directory = false;
  auto operator<=>(const ObservedFile &) const = default;
};

struct Observation {
  std::vector<ObservedObject> objects; // every file mapped executable in any process of the tree, sorted, unique
  std::vector<ObservedExec> programs;  // every successful exec in the tree but the first (BINARY's), sorted, unique
  std::vector<ObservedFile> files;     // sorted by path, each path once
  // Executable mappings whose file has no path to reopen (memfd, a file deleted since): seen, not analysable.
  std::vector<ObservedObject> transient;
  // Executables of descendants still running descendantGraceSeconds after BINARY's process exited
  // (daemons); they were killed then, so what they would have loaded later is not seen.
  std::vector<std::string> killedDescendants;
  int exitStatus = 0; // of BINARY's process: its exit code, or 128+N when signal N ended it
  int signal = 0;     // N when a signal ended it, else 0
  double seconds = 0;
};

struct ObserveOptions {
  double timeoutSeconds = 120;        // the whole run (<= 0: none); past it the tree is killed: an error
  double descendantGraceSeconds = 2;  // how long descendants may outlive BINARY's process before being killed
  std::string stdinPath = "/dev/null";
  std::string workingDirectory;       // empty: the caller's
  bool quiet = true;                  // discard the command's stdout and stderr (else they pass through)
};

// Runs BINARY (a path, or a name looked up in PATH) with ARGS (argv[1]...) and the caller's environment,
// under ptrace with a seccomp filter that stops it only at executable mappings, execs and calls that name
// a file. Errors: the
// command cannot start ("BINARY: cannot start: REASON"), cannot be traced, or outlives the timeout (its
// whole tree is killed first). A non-zero exit or a fatal signal is not an error: see exitStatus. Every
// process of the tree has ended and been reaped by the tracer when this returns, on every path.
llvm::Expected<Observation> observeRun(const std::string &binary, const std::vector<std::string> &args,
                                       const ObserveOptions &opts = {});

} // namespace bespoke
