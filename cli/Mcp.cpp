// bespoke mcp: a Model Context Protocol server over stdio. JSON-RPC 2.0, one message per line; each tool
// call runs the matching bespoke command in a child process (/proc/self/exe, through support/Process.h),
// so a failing, crashing or hanging call becomes a tool error and the server keeps serving. Each tool's
// arguments come from its command's option table (cli/Options.h).
#include "cli/Cli.h"
#include "support/Process.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace bespoke {

using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

namespace {

using cli::ExitOk;
using cli::ExitUsage;
constexpr const char *ServerVersion = "0.1.0"; // the project has no release number yet
constexpr const char *SupportedProtocols[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

// JSON-RPC 2.0 error codes.
constexpr int ParseError = -32700, InvalidRequest = -32600, MethodNotFound = -32601, InvalidParams = -32602;

constexpr size_t MaxMessageBytes = 64u << 20;  // one JSON-RPC line
constexpr size_t MaxCaptureBytes = 32u << 20;  // per output stream of a child
constexpr int64_t DefaultTimeoutSeconds = 600;
constexpr int ProgressIntervalMs = 5000; // notifications/progress while a command runs, when asked for

// A JSON string value from arbitrary bytes (a child's output need not be UTF-8).
Value text(llvm::StringRef s) { return llvm::json::isUTF8(s) ? Value(s.str()) : Value(llvm::json::fixUTF8(s)); }

// ---------------------------------------------------------------------------------------------------
// Tools. A tool's arguments are the rows of its command's option table that carry an McpParam (the same
// table that parses `bespoke CMD` and writes its --help); this file adds only what is the tool's own: its
// title and description, the constraints between arguments, and what exit status 1 means.

enum class ParamType { String, Integer, Boolean, StringArray };

struct Param {
  const char *name;
  ParamType type;
  const char *description;
  bool required = false;
  std::vector<const char *> choices; // enum, when not empty
  const char *pattern = nullptr;     // for strings (ECMAScript and POSIX ERE alike)
  int64_t minimum = 0, maximum = 0;  // for integers
  const cli::Option *row = nullptr;  // the option it fills (none: the server's own, timeout_seconds)
  cli::McpPath path = cli::McpPath::No;
};

// Why validated tool arguments do not go together, or nothing.
using ArgumentCheck = std::optional<std::string> (*)(const Object &);

struct Tool {
  const char *name, *title, *description; // name: the bespoke command it runs
  bool writesFiles;
  ArgumentCheck check = nullptr;
  std::vector<const char *> fixedArgs;              // appended to every command line ("--json")
  const char *proven = nullptr, *refuted = nullptr; // structuredContent.verdict for exit 0 / exit 1
  const char *refutedText = nullptr;                // what exit status 1 means, said in the result text
  std::vector<Param> params;                        // from the command's option table, + timeout_seconds
};

// A path argument as a command-line operand: one starting with '-' would be read as an option.
std::string operand(llvm::StringRef path) { return path.starts_with("-") ? "./" + path.str() : path.str(); }

// The source-or-binary choice of analyze and check.
std::optional<std::string> checkProgram(const Object &a) {
  bool binary = a.get("binary"), cc = a.get("compile_commands"), built = a.get("built_binary");
  if (binary && cc) return "give either binary or compile_commands, not both";
  if (!binary && !cc) return "missing binary (or compile_commands)";
  if (built && !cc) return "built_binary goes with compile_commands";
  return std::nullopt;
}

std::optional<std::string> checkExtend(const Object &a) {
  if (a.getString("format") == llvm::StringRef("bpf") && a.getString("output") == llvm::StringRef("-"))
    return "format bpf is binary: give output a file name, not '-'";
  return std::nullopt;
}

// The tool arguments a command's option table offers, in table order.
std::vector<Param> paramsOf(const char *command) {
  std::vector<Param> out;
  for (const cli::Option &o : cli::findCommand(command)->options)
    for (const cli::McpParam &m : o.mcp) {
      bool list = o.kind == cli::Option::Rest || (o.kind == cli::Option::Value && o.repeatable);
      ParamType type = o.kind == cli::Option::Flag ? ParamType::Boolean : list ? ParamType::StringArray : ParamType::String;
      out.push_back(Param{m.name, type, m.description, m.required, o.choices, m.pattern, 0, 0, &o, m.path});
    }
  out.push_back(Param{"timeout_seconds", ParamType::Integer,
                      "Kill the command and report an error after this many seconds (default 600).", false, {}, nullptr,
                      1, 86400});
  return out;
}

// The bespoke arguments (after "bespoke") for validated tool arguments: each argument where its row
// says (an operand in place, an option with the row's first spelling, the words after "--" last).
std::vector<std::string> commandLine(const Tool &t, const Object &a) {
  std::vector<std::string> argv{t.name}, rest;
  for (const Param &p : t.params) {
    const Value *v = a.get(p.name);
    if (!p.row || !v) continue;
    const cli::Option &o = *p.row;
    auto word = [&](llvm::StringRef s) {
      bool asIs = p.path == cli::McpPath::No || (p.path == cli::McpPath::OperandOrDash && s == "-");
      return asIs ? s.str() : operand(s);
    };
    if (o.kind == cli::Option::Flag) {
      if (*v->getAsBoolean()) argv.push_back(o.spellings[0]);
    } else if (o.kind == cli::Option::Rest) {
      rest.push_back("--"); // everything after it is the app's, never bespoke's options
      for (const Value &x : *v->getAsArray()) rest.push_back(x.getAsString()->str());
    } else if (p.type == ParamType::StringArray) {
      for (const Value &x : *v->getAsArray()) argv.insert(argv.end(), {o.spellings[0], x.getAsString()->str()});
    } else if (o.kind == cli::Option::Operand) {
      argv.push_back(word(*v->getAsString()));
    } else {
      argv.insert(argv.end(), {o.spellings[0], word(*v->getAsString())});
    }
  }
  argv.insert(argv.end(), t.fixedArgs.begin(), t.fixedArgs.end());
  argv.insert(argv.end(), rest.begin(), rest.end());
  return argv;
}

Tool makeTool(const char *name, const char *title, const char *description, bool writesFiles,
              ArgumentCheck check = nullptr, std::vector<const char *> fixedArgs = {}, const char *proven = nullptr,
              const char *refuted = nullptr, const char *refutedText = nullptr) {
  return Tool{name, title, description, writesFiles, check, std::move(fixedArgs), proven, refuted, refutedText,
              paramsOf(name)};
}

std::vector<Tool> makeTools() {
  std::vector<Tool> tools = {
      makeTool("analyze", "Analyze an application's syscall footprint",
       "Statically computes every Linux system call an x86-64 application can reach and returns its bespoke "
       "manifest (YAML: syscalls with evidence call chains, argument facts, unresolved sites). Give exactly "
       "one of binary (an ELF executable; its shared-library closure is analysed too) or compile_commands "
       "(a compile_commands.json: C/C++ source analysis with Clang, optionally cross-checked against "
       "built_binary). Without output the manifest is the result text; with output it is written to that "
       "file. Runs 'bespoke analyze'.",
       true, checkProgram),
      makeTool("decide", "Decide: extend (seccomp filter) or rewrite (unikernel)",
       "Recommends, for the application a manifest describes, whether to extend (a proven seccomp filter) or "
       "rewrite (a trimmed unikernel image), with blockers, caveats, the filter's size and the kernel options "
       "a rewrite needs. With image (a 'bespoke rewrite' output directory), also its measured sizes, last boot "
       "(boot time, exit status, the memory it ran in), the searched memory floor and the kernel features and "
       "syscalls it lacks against Debian's generic kernel; a failed boot blocks rewrite. The result text is "
       "the decision JSON; structuredContent holds the same fields plus exitCode. Runs 'bespoke decide --json'.",
       false, nullptr, {"--json"}),
      makeTool("extend", "Compile a manifest into a proven seccomp filter",
       "Compiles a manifest's policy (x86-64 only; every manifest syscall allowed; everything else the default "
       "action) into a seccomp filter, proves with Z3 that the filter means exactly that policy, and only then "
       "writes output. Formats: bpf (raw struct sock_filter array), c (C header), oci (OCI/Docker seccomp "
       "profile JSON), systemd (drop-in), spo (Kubernetes security-profiles-operator SeccompProfile). "
       "exitCode 1 means the filter was not proven and nothing was written. Runs 'bespoke extend'.",
       true, checkExtend, {}, "proven", "not-proven",
       "NOT PROVEN: the compiled filter could not be proven to implement the manifest's policy; nothing was "
       "written (exit status 1)."),
      makeTool("verify", "Prove a seccomp filter implements a manifest",
       "Checks that the kernel would accept a classic-BPF seccomp filter (raw struct sock_filter array, e.g. "
       "from extend or libseccomp's seccomp_export_bpf) and proves with Z3 that it returns exactly what the "
       "manifest's policy prescribes for every input; on a difference, gives a concrete seccomp_data and both "
       "actions. exitCode 0 and 'PROVEN' in the text: equivalent; exitCode 1: not equivalent, unsafe, or no "
       "verdict. Runs 'bespoke verify'.",
       false, nullptr, {}, "proven", "not-proven",
       "NOT PROVEN: the filter does not implement the manifest's policy, the kernel would refuse it, or the "
       "prover reached no verdict (exit status 1)."),
      makeTool("observe", "Observe a command: what would the manifest's filter refuse?",
       "Complain mode before enforcing: runs command (a program and its arguments) unrestricted in a fresh "
       "cgroup v2 and records every system call of its processes that the manifest's seccomp policy (as "
       "'bespoke run' would install it) would refuse: by default the Z3-proven filter hands each such call to "
       "bespoke, which records it and lets it run (via 'ebpf': a proven program on raw_syscalls:sys_enter). The "
       "result text is the JSON report: {\"violations\": [{\"syscall\", \"nr\", \"count\", \"action\" (what "
       "the filter would do), \"in_manifest\", \"args\", \"stack\" (module!symbol@address, innermost "
       "first)}], \"recorded_calls\", \"lost\", \"exit_status\", \"mechanism\"}; no violations means the filter would not "
       "have refused anything in this run. manifest_out writes the manifest with the observed syscalls added "
       "(evidence root 'observed') for review. exitCode is the command's own exit status (1 can also mean the "
       "observe filter or program was not proven; 2 bad input, not root or no cgroup v2). Needs root. Runs "
       "'bespoke observe --json'; without output the report is the first text item and structuredContent, and "
       "the command's own standard output a separate item. A command's own exit status other than 0 or 1 "
       "makes the result an error whose content still holds the report. To enforce afterwards (outside MCP): "
       "'bespoke run --manifest M [--net "
       "--allow-bind PORT --allow-connect HOST:PORT] -- CMD' runs the command under the proven seccomp filter "
       "and, with --net, proven eBPF cgroup programs that refuse (EPERM) sockets of other families, binds to "
       "other ports and connections to other destinations.",
       true, nullptr, {"--json"}),
      makeTool("diff", "Compare two manifests",
       "Compares two manifests of an application (e.g. before and after a change): syscalls added and removed, "
       "argument facts, kernel paths. exitCode 0: same policy; 1: they differ. Runs 'bespoke diff'.",
       false, nullptr, {}, "same", "different", "DIFFERENT: the manifests differ (exit status 1)."),
      makeTool("check", "Check an application against a baseline manifest",
       "CI gate: analyses an application (binary, or compile_commands with optional built_binary, as analyze "
       "does) and compares its footprint with a baseline manifest. exitCode 0: within the baseline; 1: the "
       "footprint grew (new syscalls). Runs 'bespoke check'.",
       false, checkProgram, {}, "within-baseline", "grew",
       "GREW: the application's footprint grew beyond the baseline (exit status 1)."),
      makeTool("rewrite", "Build a trimmed unikernel image for an application",
       "Builds a Linux 6.1 kernel with only the options the manifest needs (from the syscall -> Kconfig table) "
       "and an initramfs running binary (an x86-64 program; a dynamic one with its shared-library closure and "
       "loader) as the only application, and writes output: "
       "bzImage, initramfs.cpio.gz, kernel.config, image.json. A cold kernel build takes minutes (progress "
       "notifications are sent when requested; raise timeout_seconds); builds are cached by config hash. Boot "
       "the result with 'bespoke boot'. Runs 'bespoke rewrite'.",
       true),
  };
  return tools;
}

Value paramSchema(const Param &p) {
  if (p.type == ParamType::StringArray)
    return Object{{"type", "array"}, {"items", Object{{"type", "string"}}}, {"description", p.description}};
  if (p.type == ParamType::Boolean) return Object{{"type", "boolean"}, {"description", p.description}};
  Object s{{"type", p.type == ParamType::String ? "string" : "integer"}, {"description", p.description}};
  if (p.type == ParamType::String) s["minLength"] = 1;
  if (!p.choices.empty()) {
    Array e;
    for (const char *c : p.choices) e.push_back(c);
    s["enum"] = std::move(e);
  }
  if (p.pattern) s["pattern"] = p.pattern;
  if (p.type == ParamType::Integer) {
    s["minimum"] = p.minimum;
    s["maximum"] = p.maximum;
  }
  return s;
}

Value toolJson(const Tool &t) {
  Object props;
  Array required;
  for (const Param &p : t.params) {
    props[p.name] = paramSchema(p);
    if (p.required) required.push_back(p.name);
  }
  Object schema{{"type", "object"}, {"properties", std::move(props)}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = std::move(required);
  return Object{{"name", t.name},
                {"title", t.title},
                {"description", t.description},
                {"inputSchema", std::move(schema)},
                {"annotations", Object{{"title", t.title},
                                       {"readOnlyHint", !t.writesFiles},
                                       {"destructiveHint", false},
                                       {"idempotentHint", true},
                                       {"openWorldHint", false}}}};
}

// Every way ARGS breaks T's input schema, or nothing.
std::vector<std::string> schemaProblems(const Tool &t, const Object &args) {
  std::vector<std::string> problems;
  for (const Param &p : t.params)
    if (p.required && !args.get(p.name)) problems.push_back("missing required property '" + std::string(p.name) + "'");
  std::vector<std::string> keys;
  for (const auto &kv : args) keys.push_back(kv.first.str());
  std::sort(keys.begin(), keys.end()); // Object iterates in hash order; keep messages deterministic
  for (const std::string &k : keys) {
    const Value &v = *args.get(k);
    auto p = std::find_if(t.params.begin(), t.params.end(), [&](const Param &q) { return k == q.name; });
    if (p == t.params.end()) {
      problems.push_back("unknown property '" + k + "'");
      continue;
    }
    std::string name = "'" + k + "'";
    if (p->type == ParamType::StringArray) {
      const Array *items = v.getAsArray();
      if (!items || std::any_of(items->begin(), items->end(), [](const Value &x) { return !x.getAsString(); }))
        problems.push_back(name + " must be an array of strings");
      continue;
    }
    if (p->type == ParamType::Boolean) {
      if (!v.getAsBoolean()) problems.push_back(name + " must be a boolean");
      continue;
    }
    if (p->type == ParamType::Integer) {
      std::optional<int64_t> n = v.getAsInteger();
      if (!n) problems.push_back(name + " must be an integer");
      else if (*n < p->minimum || *n > p->maximum)
        problems.push_back(name + " must be from " + std::to_string(p->minimum) + " to " + std::to_string(p->maximum));
      continue;
    }
    std::optional<llvm::StringRef> s = v.getAsString();
    if (!s) { problems.push_back(name + " must be a string"); continue; }
    if (s->empty()) { problems.push_back(name + " must not be empty"); continue; }
    if (!p->choices.empty() &&
        std::find_if(p->choices.begin(), p->choices.end(), [&](const char *c) { return *s == c; }) == p->choices.end()) {
      std::string list;
      for (const char *c : p->choices) list += std::string(list.empty() ? "" : ", ") + c;
      problems.push_back(name + " must be one of " + list + " (got '" + s->str() + "')");
    }
    if (p->pattern && !llvm::Regex(p->pattern).match(*s))
      problems.push_back(name + " must match " + p->pattern + " (got '" + s->str() + "')");
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Child processes: 'bespoke ARGS' (this executable) with both output streams captured and a deadline, in
// its own process group so that a timeout kills everything it started (support/Process.h).

llvm::Expected<ProcessResult> runBespoke(const std::vector<std::string> &args, int64_t timeoutSeconds,
                                         const std::function<void(int64_t)> &tick) {
  std::vector<std::string> argv{"bespoke"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions opt;
  opt.executable = "/proc/self/exe";
  opt.capture = true;
  opt.maxCaptureBytes = MaxCaptureBytes;
  opt.timeout = std::chrono::seconds(timeoutSeconds);
  opt.ownProcessGroup = true;
  opt.tickInterval = std::chrono::milliseconds(ProgressIntervalMs);
  opt.tick = [&](double seconds) { tick(static_cast<int64_t>(seconds)); };
  return runProcess(argv, opt);
}

// ---------------------------------------------------------------------------------------------------
// tools/call results.

Object textItem(llvm::StringRef s) { return Object{{"type", "text"}, {"text", text(s)}}; }

Array commandJson(const std::vector<std::string> &args) {
  Array a{"bespoke"};
  for (const std::string &s : args) a.push_back(text(s));
  return a;
}

Object toolError(const std::string &msg, Object structured) {
  structured["error"] = text(msg);
  return Object{{"content", Array{textItem(msg)}}, {"structuredContent", std::move(structured)}, {"isError", true}};
}

// The result of a finished command: exit 0 and 1 are results (1 a negative verdict, said plainly),
// anything else an error carrying the command's standard error.
Object commandResult(const Tool &t, const std::vector<std::string> &args, const ProcessResult &r, int64_t timeout) {
  Object sc{{"command", commandJson(args)}};
  std::string cmd = "bespoke " + std::string(t.name);
  std::string err = llvm::StringRef(r.err).rtrim().str();
  if (r.timedOut || r.signal || (r.exitCode != 0 && r.exitCode != 1)) {
    std::string msg;
    if (r.timedOut) {
      msg = cmd + " timed out after " + std::to_string(timeout) + " s and was killed";
      sc["timedOut"] = true;
      sc["exitCode"] = 128 + SIGKILL;
    } else if (r.signal) {
      msg = cmd + " was killed by signal " + std::to_string(r.signal) + " (" + strsignal(r.signal) + ")";
      sc["signal"] = r.signal;
      sc["exitCode"] = 128 + r.signal;
    } else {
      msg = cmd + " failed (exit status " + std::to_string(r.exitCode) + (r.exitCode == 2 ? ": bad input" : "") + ")";
      sc["exitCode"] = r.exitCode;
    }
    if (!err.empty()) msg += ":\n" + err;
    Array content{textItem(msg)};
    if (!r.out.empty()) content.push_back(textItem(r.out));
    sc["stderr"] = text(r.err);
    return Object{{"content", std::move(content)}, {"structuredContent", std::move(sc)}, {"isError", true}};
  }

  Array content;
  if (!r.out.empty()) content.push_back(textItem(r.out));
  if (!err.empty()) content.push_back(textItem("bespoke " + std::string(t.name) + " (standard error):\n" + err));
  if (r.truncated) content.push_back(textItem("(output cut at " + std::to_string(MaxCaptureBytes >> 20) + " MiB)"));
  if (r.exitCode == 1)
    content.push_back(textItem(t.refutedText ? std::string(t.refutedText) : cmd + ": negative verdict (exit status 1)"));
  if (content.empty()) content.push_back(textItem(cmd + ": done (exit status 0)"));

  // decide, observe: the decision JSON, the report, is the structured result.
  if (std::string(t.name) == "decide" || std::string(t.name) == "observe") {
    if (llvm::Expected<Value> v = llvm::json::parse(r.out)) {
      if (Object *o = v->getAsObject())
        for (auto &kv : *o) sc.try_emplace(kv.first, std::move(kv.second));
    } else {
      llvm::consumeError(v.takeError());
    }
  }
  sc["exitCode"] = r.exitCode;
  if (r.exitCode == 0 && t.proven) sc["verdict"] = t.proven;
  if (r.exitCode == 1 && t.refuted) sc["verdict"] = t.refuted;
  return Object{{"content", std::move(content)}, {"structuredContent", std::move(sc)}, {"isError", false}};
}

Object callTool(const Tool &t, const Object &args, const std::function<void(int64_t)> &tick) {
  std::vector<std::string> problems = schemaProblems(t, args);
  if (!problems.empty()) {
    std::string msg = "invalid arguments for " + std::string(t.name) + ": ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    return toolError(msg, Object{{"exitCode", ExitUsage}});
  }
  if (t.check)
    if (std::optional<std::string> problem = t.check(args))
      return toolError("invalid arguments for " + std::string(t.name) + ": " + *problem, Object{{"exitCode", ExitUsage}});
  std::vector<std::string> argv = commandLine(t, args);
  int64_t timeout = args.getInteger("timeout_seconds").value_or(DefaultTimeoutSeconds);
  // observe: the observed command writes to standard output too, so without `output` the report goes
  // through a temporary file and the command's own output becomes a content item of its own.
  llvm::SmallString<128> report;
  bool reportFile = std::string(t.name) == "observe" && !args.get("output");
  if (reportFile) {
    int fd = -1;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("bespoke-observe", "json", fd, report))
      return toolError("cannot create a temporary file for the observe report: " + ec.message(),
                       Object{{"exitCode", ExitUsage}});
    close(fd);
    argv.insert(argv.begin() + 1, {"-o", report.str().str()});
  }
  auto run = runBespoke(argv, timeout, tick);
  if (!run) {
    if (reportFile) llvm::sys::fs::remove(report);
    return toolError("bespoke " + std::string(t.name) + " could not be run: " + llvm::toString(run.takeError()),
                     Object{{"exitCode", 127}, {"command", commandJson(argv)}});
  }
  if (!reportFile) return commandResult(t, argv, *run, timeout);
  ProcessResult r = *run;
  std::string commandOutput = std::move(r.out);
  auto buf = llvm::MemoryBuffer::getFile(report);
  r.out = buf ? (*buf)->getBuffer().str() : std::string();
  llvm::sys::fs::remove(report);
  Object result = commandResult(t, argv, r, timeout);
  if (!commandOutput.empty())
    if (Array *content = result.getArray("content"))
      content->push_back(textItem("the observed command's standard output:\n" + commandOutput));
  return result;
}

// ---------------------------------------------------------------------------------------------------
// JSON-RPC over stdio.

// One JSON-RPC message, one line on standard output.
bool writeMessage(const Value &v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << v;
  os.flush();
  s += '\n';
  size_t done = 0;
  while (done < s.size()) {
    ssize_t k = write(1, s.data() + done, s.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    done += size_t(k);
  }
  return true;
}

class Server {
public:
  Server() : tools_(makeTools()) {}

  // The reply to one line of input, if it gets one.
  std::optional<Value> handleLine(llvm::StringRef line);

private:
  llvm::Expected<Value> dispatch(llvm::StringRef method, const Value *params);
  Value initialize(const Object &params);
  Value listTools() const;

  std::vector<Tool> tools_;
};

Value errorReply(Value id, int code, const std::string &message) {
  return Object{{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"error", Object{{"code", code}, {"message", text(message)}}}};
}

// Dispatch failures carry a JSON-RPC error code.
class RpcFailure : public llvm::ErrorInfo<RpcFailure> {
public:
  static char ID;
  RpcFailure(int code, std::string message) : code(code), message(std::move(message)) {}
  void log(llvm::raw_ostream &os) const override { os << message; }
  std::error_code convertToErrorCode() const override { return llvm::inconvertibleErrorCode(); }
  int code;
  std::string message;
};
char RpcFailure::ID = 0;

llvm::Error rpcError(int code, const std::string &message) { return llvm::make_error<RpcFailure>(code, message); }

std::optional<Value> Server::handleLine(llvm::StringRef line) {
  llvm::Expected<Value> parsed = llvm::json::parse(line);
  if (!parsed) return errorReply(nullptr, ParseError, "Parse error: " + llvm::toString(parsed.takeError()));
  if (parsed->getAsArray()) return errorReply(nullptr, InvalidRequest, "Invalid Request: batches are not supported");
  Object *msg = parsed->getAsObject();
  if (!msg) return errorReply(nullptr, InvalidRequest, "Invalid Request: a message must be a JSON object");

  const Value *id = msg->get("id");
  bool idOk = id && (id->getAsString() || id->getAsNumber());
  Value replyId = idOk ? *id : Value(nullptr);
  if (id && !idOk)
    return errorReply(nullptr, InvalidRequest, "Invalid Request: id must be a string or an integer");
  if (msg->getString("jsonrpc") != llvm::StringRef("2.0"))
    return errorReply(replyId, InvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"");
  const Value *methodValue = msg->get("method");
  if (!methodValue) {
    if (id && (msg->get("result") || msg->get("error"))) {
      fprintf(stderr, "bespoke mcp: ignoring a response to a request this server never sent\n");
      return std::nullopt;
    }
    return errorReply(replyId, InvalidRequest, "Invalid Request: missing method");
  }
  std::optional<llvm::StringRef> method = methodValue->getAsString();
  if (!method) return errorReply(replyId, InvalidRequest, "Invalid Request: method must be a string");

  if (!id) { // a notification: never answered (notifications/initialized, notifications/cancelled, ...)
    if (!method->starts_with("notifications/"))
      fprintf(stderr, "bespoke mcp: ignoring notification '%s'\n", method->str().c_str());
    return std::nullopt;
  }
  llvm::Expected<Value> result = dispatch(*method, msg->get("params"));
  if (!result) {
    int code = InvalidParams;
    std::string message;
    llvm::handleAllErrors(result.takeError(), [&](const RpcFailure &f) { code = f.code; message = f.message; },
                          [&](const llvm::ErrorInfoBase &e) { message = e.message(); });
    return errorReply(replyId, code, message);
  }
  return Object{{"jsonrpc", "2.0"}, {"id", replyId}, {"result", std::move(*result)}};
}

llvm::Expected<Value> Server::dispatch(llvm::StringRef method, const Value *params) {
  static const Object empty;
  const Object *p = params ? params->getAsObject() : &empty;
  bool known = method == "initialize" || method == "ping" || method == "tools/list" || method == "tools/call";
  if (!known) return rpcError(MethodNotFound, "Method not found: " + method.str());
  if (!p) return rpcError(InvalidParams, "Invalid params: params of " + method.str() + " must be an object");

  if (method == "ping") return Object{};
  if (method == "initialize") {
    if (!p->getString("protocolVersion"))
      return rpcError(InvalidParams, "Invalid params: initialize needs protocolVersion (a string)");
    return initialize(*p);
  }
  if (method == "tools/list") {
    if (const Value *c = p->get("cursor"); c && !c->getAsString())
      return rpcError(InvalidParams, "Invalid params: cursor must be a string");
    return listTools();
  }
  // tools/call
  std::optional<llvm::StringRef> name = p->getString("name");
  if (!name) return rpcError(InvalidParams, "Invalid params: tools/call needs name (a string)");
  auto tool = std::find_if(tools_.begin(), tools_.end(), [&](const Tool &t) { return *name == t.name; });
  if (tool == tools_.end()) return rpcError(InvalidParams, "Unknown tool: " + name->str());
  const Value *arguments = p->get("arguments");
  if (arguments && !arguments->getAsObject())
    return rpcError(InvalidParams, "Invalid params: arguments must be an object");
  static const Object noArguments;
  // A client that sent a progress token hears from a long call every few seconds (and may keep waiting).
  std::function<void(int64_t)> tick = [](int64_t) {};
  if (const Object *meta = p->getObject("_meta"))
    if (const Value *token = meta->get("progressToken"); token && (token->getAsString() || token->getAsInteger()))
      tick = [token = *token, tool = std::string(tool->name)](int64_t seconds) {
        writeMessage(Object{{"jsonrpc", "2.0"},
                            {"method", "notifications/progress"},
                            {"params", Object{{"progressToken", token},
                                              {"progress", seconds},
                                              {"message", "bespoke " + tool + " running for " +
                                                              std::to_string(seconds) + " s"}}}});
      };
  return callTool(*tool, arguments ? *arguments->getAsObject() : noArguments, tick);
}

Value Server::initialize(const Object &params) {
  llvm::StringRef requested = *params.getString("protocolVersion");
  const char *version = SupportedProtocols[0];
  for (const char *v : SupportedProtocols)
    if (requested == v) version = v;
  return Object{
      {"protocolVersion", version},
      {"capabilities", Object{{"tools", Object{}}}},
      {"serverInfo", Object{{"name", "bespoke"}, {"title", "bespoke"}, {"version", ServerVersion}}},
      {"instructions",
       "bespoke specializes Linux applications for the kernel they run on. Typical flow: analyze a binary (or "
       "its compile_commands.json) into a manifest file, decide whether to extend or rewrite, extend the "
       "manifest into a proven seccomp filter, verify any filter against a manifest; diff and check compare "
       "manifests in review and CI. Paths are files on the server's machine; relative ones resolve against the "
       "server's working directory."}};
}

Value Server::listTools() const {
  Array list;
  for (const Tool &t : tools_) list.push_back(toolJson(t));
  return Object{{"tools", std::move(list)}};
}

// Newline-delimited messages from a file descriptor; a line longer than MaxMessageBytes is skipped whole.
class LineReader {
public:
  explicit LineReader(int fd) : fd_(fd) {}
  struct Line {
    std::string text;
    bool tooLong = false;
  };
  std::optional<Line> next() {
    for (;;) {
      size_t nl = buf_.find('\n', scanned_);
      if (nl != std::string::npos) {
        Line l{buf_.substr(0, nl), skipping_};
        buf_.erase(0, nl + 1);
        scanned_ = 0;
        skipping_ = false;
        if (l.tooLong) l.text.clear();
        return l;
      }
      scanned_ = buf_.size();
      if (buf_.size() > MaxMessageBytes) { // keep nothing of it but the fact
        skipping_ = true;
        buf_.clear();
        scanned_ = 0;
      }
      if (eof_) {
        if (buf_.empty() && !skipping_) return std::nullopt;
        Line l{std::move(buf_), skipping_}; // a last message without its newline
        buf_.clear();
        skipping_ = false;
        return l;
      }
      char chunk[65536];
      ssize_t k = read(fd_, chunk, sizeof chunk);
      if (k > 0) buf_.append(chunk, size_t(k));
      else if (k == 0) eof_ = true;
      else if (errno != EINTR) {
        fprintf(stderr, "bespoke mcp: cannot read standard input: %s\n", strerror(errno));
        eof_ = true;
      }
    }
  }

private:
  int fd_;
  std::string buf_;
  size_t scanned_ = 0;
  bool eof_ = false, skipping_ = false;
};

int runMcp(const cli::ParsedArgs &) {
  // A client that goes away must not kill the server mid-write; the write fails and we stop.
  signal(SIGPIPE, SIG_IGN);
  Server server;
  LineReader in(0);
  while (std::optional<LineReader::Line> line = in.next()) {
    std::optional<Value> reply;
    if (line->tooLong)
      reply = errorReply(nullptr, InvalidRequest,
                         "Invalid Request: message longer than " + std::to_string(MaxMessageBytes >> 20) + " MiB");
    else if (llvm::StringRef(line->text).trim().empty())
      continue;
    else
      reply = server.handleLine(llvm::StringRef(line->text).rtrim("\r"));
    if (reply && !writeMessage(*reply)) {
      fprintf(stderr, "bespoke mcp: cannot write to standard output: %s\n", strerror(errno));
      return ExitUsage;
    }
  }
  return ExitOk;
}

} // namespace

cli::Command cli::mcpCommand() {
  return {"mcp", "serve bespoke to agents over the Model Context Protocol (stdio)",
          {"usage: bespoke mcp\n",
    "Serves bespoke to AI agents and editors over the Model Context Protocol (MCP): JSON-RPC 2.0 messages,\n"
    "one per line, on standard input and standard output (the MCP stdio transport; protocol versions\n"
    "2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05). Diagnostics go to standard error only. The server\n"
    "runs until standard input closes (exit status 0); a malformed or invalid message is answered with a\n"
    "JSON-RPC error (-32700 parse, -32600 invalid request, -32601 unknown method, -32602 bad params) and\n"
    "never stops it. Requests are served one at a time; JSON-RPC batches (arrays) are answered with -32600.\n"
    "\n"
    "Register it with an MCP client as a stdio server, e.g. in Claude Desktop's claude_desktop_config.json\n"
    "(other clients take the same command and arguments):\n"
    "\n"
    "  {\"mcpServers\": {\"bespoke\": {\"command\": \"/path/to/bespoke\", \"args\": [\"mcp\"]}}}\n"
    "\n"
    "tools (each runs 'bespoke COMMAND' in a child process; see 'bespoke COMMAND --help'):\n"
    "  analyze  syscall footprint of a binary or of C/C++ source -> manifest (YAML in the result, or a file)\n"
    "  decide   extend-or-rewrite recommendation for a manifest (decision JSON, also as structuredContent)\n"
    "  extend   proven seccomp filter from a manifest (bpf, c, oci, systemd, spo), written to a file\n"
    "  verify   prove that a seccomp filter implements a manifest's policy\n"
    "  observe  run a command unrestricted and report what the manifest's filter would refuse (root)\n"
    "  diff     compare two manifests\n"
    "  check    CI gate: did an application's footprint grow beyond a baseline manifest?\n"
    "  rewrite  trimmed unikernel image (kernel + initramfs) for a program, written to a directory\n"
    "\n"
    "A result's first text item is the command's standard output, the next its standard error (summary\n"
    "lines). structuredContent always holds exitCode and the command run: 0 success; 1 a negative verdict\n"
    "(not proven, manifests differ, footprint grew), reported as a result with the verdict spelled out, not\n"
    "as an error; 2 bad input, a crash, or a timeout (argument timeout_seconds, default 600) make the result\n"
    "an error (isError) carrying the command's standard error. Invalid tool arguments are tool errors too.\n"
    "Relative paths in tool arguments resolve against the server's working directory (where the client\n"
    "starts it; most clients take a \"cwd\" setting).\n",
           "exit status: 0 when standard input closes, 2 bad arguments or standard output unwritable\n",
           " (bespoke mcp takes no arguments)"},
          {},
          runMcp};
}

} // namespace bespoke
