// Shared command plumbing: one-line errors, atomic output, the exit statuses of a filter without a proof,
// and the option rows several commands take.
#include "cli/Cli.h"
#include "extension-gen/ManifestPolicy.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
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

namespace {

const char *const DefaultActionChoices = "kill-process, kill-thread, errno:N (0..4095), trap or log";

// An allow-everything filter is not a filter: `allow` is no default action.
std::optional<Action> parseDefaultAction(const std::string &text) {
  std::optional<Action> a = parseAction(text);
  if (!a || a->kind == Action::Allow) return std::nullopt;
  return a;
}

std::string checkDefaultAction(const std::string &, const std::string &value) {
  if (parseDefaultAction(value)) return "";
  return "unknown default action '" + value + "' (expected " + DefaultActionChoices + ")";
}

} // namespace

Option quietOption(const char *help) { return flag("quiet", {"-q", "--quiet"}, help); }

Option noArgsOption(bool forTools) {
  Option o = flag("no-args", {"--no-args"},
                  "ignore the manifest's argument facts: every syscall allowed for any\n"
                  "arguments (by default, facts with values become argument checks)");
  if (forTools)
    o.tool({"no_args", "Ignore the manifest's argument facts: allow every listed syscall for any arguments."});
  return o;
}

Option clone3EnosysOption(bool forTools) {
  Option o = flag("clone3-enosys", {"--clone3-enosys"},
                  "when clone's flags are checked, answer clone3 (whose flags seccomp cannot\n"
                  "read) with ENOSYS, so that glibc falls back to the checked clone; only for\n"
                  "programs that create processes and threads through glibc");
  if (forTools)
    o.tool({"clone3_enosys", "Answer clone3 with ENOSYS when clone's flags are checked (glibc falls back to clone)."});
  return o;
}

PolicyOptions policyOptions(const ParsedArgs &args) {
  PolicyOptions o;
  o.argumentConditions = !args.has("no-args");
  o.clone3Enosys = args.has("clone3-enosys");
  return o;
}

Option defaultActionOption(const char *help, bool forTools) {
  static const std::string needs = std::string("an action (") + DefaultActionChoices + ")";
  Option o = value("default-action", {"--default-action", "-d"}, "A", needs.c_str(), help).check(checkDefaultAction);
  if (forTools)
    o.tool({"default_action",
            "Action for syscalls outside the manifest: kill-process (default), kill-thread, errno:N (N 0..4095), "
            "trap or log.",
            false, McpPath::No, "^(kill-process|kill-thread|trap|log|errno:[0-9]{1,4})$"});
  return o;
}

Action defaultAction(const ParsedArgs &args) {
  std::optional<std::string> v = args.get("default-action");
  return v ? *parseDefaultAction(*v) : Action{Action::KillProcess, 0};
}

// The policy of a manifest; errors name the manifest. Notes (argument checks left out for size) go to
// standard error unless `quiet`.
llvm::Expected<Policy> loadPolicy(const char *cmd, const std::string &manifestPath, Action defaultAction,
                                  const PolicyOptions &opts, bool quiet, Manifest *out) {
  auto m = loadManifest(manifestPath);
  if (!m) return m.takeError();
  std::vector<std::string> notes;
  auto p = policyFromManifest(*m, defaultAction, opts, &notes);
  if (!p)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", manifestPath.c_str(),
                                   llvm::toString(p.takeError()).c_str());
  if (!quiet)
    for (const std::string &n : notes) fprintf(stderr, "bespoke %s: note: %s: %s\n", cmd, manifestPath.c_str(), n.c_str());
  if (out) *out = std::move(*m);
  return p;
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

} // namespace bespoke::cli
