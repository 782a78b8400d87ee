// ObserveReport: recorded calls -> violations -> text, JSON, manifest (ObserveReport.h).
#include "extension-gen/ObserveReport.h"

#include "analyzer/ArgumentSpecs.h"
#include "analyzer/ArgumentSymbols.h"
#include "analyzer/SyscallTable.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <map>

namespace bespoke {

namespace {

std::string hex(uint64_t v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format_hex(v, 0);
  return s;
}

// A call made in another calling convention than x86-64's (the policy's bad-arch action): "i386_N" for
// `int 0x80`, "arch_0xAUDITARCH_N" otherwise.
std::string archPrefix(uint32_t arch) {
  if (arch == 0x40000003) return "i386_"; // AUDIT_ARCH_I386
  return "arch_" + hex(arch) + "_";
}

std::string nameOf(int64_t nr) {
  if (auto n = syscallName(static_cast<long>(nr))) return std::string(*n);
  return "syscall_" + std::to_string(nr);
}

} // namespace

ObserveReport buildObserveReport(const Policy &policy, const ObserveRunResult &run, const StackSymbols &symbols) {
  ObserveReport r;
  r.status = run.status;
  r.lost = run.lost;
  r.mechanism = run.mechanism;
  std::map<std::pair<uint32_t, int64_t>, Violation> byNr; // by (arch, nr)
  for (const ObservedCall &c : run.calls) {
    r.recordedCalls += c.count;
    auto nr32 = static_cast<uint32_t>(c.key.nr);
    Action a = policy.decide(nr32, c.arch, c.key.args);
    if (a.kind == Action::Allow) continue;
    auto nr = static_cast<int64_t>(static_cast<int32_t>(nr32));
    const bool native = c.arch == Policy::AuditArchX86_64;
    const SyscallRule *rule = native ? policy.ruleFor(nr32) : nullptr;
    Violation &v = byNr[{native ? 0 : c.arch, nr}];
    if (v.count == 0) {
      v.nr = nr;
      v.native = native;
      v.syscall = native ? nameOf(nr) : archPrefix(c.arch) + std::to_string(nr);
      v.action = a.name();
      v.inManifest = rule != nullptr; // refused for its arguments
      // The first recorded stack: of the smallest key (calls are sorted), a deterministic choice.
      for (size_t i = 0; i < c.stack.size(); ++i) {
        bpf_stack_build_id f = c.stack[i];
        // A return address in no file: the frame-pointer walk has left the real stack (code built without
        // frame pointers, as Debian's is); what it finds beyond is noise.
        if (i > 0 && f.status != BPF_STACK_BUILD_ID_VALID) break;
        // Outer frames are return addresses: the call is the instruction before (a call that does not
        // return may be a function's last instruction, and its return address the next function's).
        if (i > 0 && f.status == BPF_STACK_BUILD_ID_VALID && f.offset > 0) --f.offset;
        v.stack.push_back(symbols.describe(f));
        if (auto fr = symbols.symbolize(f)) v.frames.push_back(*fr);
      }
    }
    v.count += c.count;
    // The arguments the policy checks for this syscall, as recorded (the others are 0 in the key).
    if (uint8_t mask = rule ? rule->checkedArguments() : 0) {
      ObservedArgs oa;
      for (uint8_t i = 0; i < 6; ++i)
        if (mask & (1u << i)) {
          oa.indexes.push_back(i);
          oa.values.push_back(c.key.args[i]);
        }
      oa.count = c.count;
      v.args.push_back(oa);
    }
  }
  for (auto &[nr, v] : byNr) r.violations.push_back(std::move(v));
  std::sort(r.violations.begin(), r.violations.end(),
            [](const Violation &a, const Violation &b) { return a.syscall < b.syscall; });
  return r;
}

std::string renderObserveText(const ObserveReport &r) {
  std::string out;
  llvm::raw_string_ostream os(out);
  if (r.violations.empty())
    os << "no violations: every recorded call (" << r.recordedCalls << ") is one the manifest's policy allows\n";
  else
    os << r.violations.size() << " syscall" << (r.violations.size() == 1 ? "" : "s")
       << " the manifest's policy would refuse:\n";
  for (const Violation &v : r.violations) {
    os << "  " << v.syscall << " (" << v.nr << "): " << v.count << " call" << (v.count == 1 ? "" : "s")
       << ", the filter would answer " << v.action
       << (v.inManifest ? " (the manifest lists it, not for these arguments)" : "") << "\n";
    for (const ObservedArgs &a : v.args) {
      os << "    args";
      for (size_t i = 0; i < a.indexes.size(); ++i)
        os << " [" << unsigned(a.indexes[i]) << "]=" << hex(a.values[i]);
      os << ": " << a.count << "\n";
    }
    if (v.stack.empty()) os << "    stack: (not recorded)\n";
    for (size_t i = 0; i < v.stack.size(); ++i) os << "    " << (i == 0 ? "at " : "   ") << v.stack[i] << "\n";
  }
  if (r.lost)
    os << "warning: " << r.lost << " calls were not recorded (the events map was full); the report is incomplete\n";
  return out;
}

std::string renderObserveJson(const ObserveReport &r) {
  llvm::json::Array violations;
  for (const Violation &v : r.violations) {
    llvm::json::Array args, stack;
    for (const ObservedArgs &a : v.args) {
      llvm::json::Object values;
      for (size_t i = 0; i < a.indexes.size(); ++i) values[std::to_string(a.indexes[i])] = hex(a.values[i]);
      args.push_back(llvm::json::Object{{"values", std::move(values)}, {"count", static_cast<int64_t>(a.count)}});
    }
    for (const std::string &s : v.stack) stack.push_back(s);
    violations.push_back(llvm::json::Object{{"syscall", v.syscall},
                                            {"nr", v.nr},
                                            {"count", static_cast<int64_t>(v.count)},
                                            {"action", v.action},
                                            {"in_manifest", v.inManifest},
                                            {"args", std::move(args)},
                                            {"stack", std::move(stack)}});
  }
  llvm::json::Object top{{"violations", std::move(violations)},
                         {"recorded_calls", static_cast<int64_t>(r.recordedCalls)},
                         {"lost", static_cast<int64_t>(r.lost)},
                         {"exit_status", r.status},
                         {"mechanism", r.mechanism}};
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(top))) << "\n";
  return out;
}

Manifest withObserved(const Manifest &m, const ObserveReport &r) {
  Manifest out = m;
  std::vector<SyscallUse> &sys = out.footprint.syscalls;
  for (const Violation &v : r.violations) {
    if (!v.native || v.nr < 0 || !syscallName(static_cast<long>(v.nr))) continue; // no x86-64 syscall to add
    Evidence ev;
    ev.root = "observed";
    ev.chain.assign(v.frames.rbegin(), v.frames.rend()); // outermost first, as evidence chains run
    if (ev.chain.empty()) { // no frame symbolised: as for observed files, PROGRAM!CALL@0x0
      Frame f;
      f.module = m.footprint.modules.empty() ? m.footprint.app.name : m.footprint.modules.front().name;
      f.symbol = v.syscall;
      ev.chain.push_back(f);
    }
    auto it = std::find_if(sys.begin(), sys.end(), [&](const SyscallUse &s) { return s.name == v.syscall; });
    if (it == sys.end()) {
      SyscallUse s;
      s.name = v.syscall;
      s.nr = static_cast<int>(v.nr);
      s.evidence.push_back(ev);
      sys.push_back(std::move(s));
      continue;
    }
    it->evidence.push_back(ev);
    for (const ObservedArgs &a : v.args)
      for (size_t i = 0; i < a.indexes.size(); ++i)
        for (const ArgumentSpec *spec : argumentSpecsOf(v.syscall)) {
          if (spec->index != a.indexes[i]) continue;
          std::string text = argumentValueText(*spec, a.values[i]);
          auto fact = it->args.find(spec->name);
          const bool unbounded = fact == it->args.end() || fact->second.any;
          // A family refused because of the reviewer's network.families bound: the bound grows.
          std::vector<std::string> &families = out.footprint.network.families;
          if (unbounded && std::string(spec->name) == "domain" && !families.empty() &&
              (v.syscall == "socket" || v.syscall == "socketpair")) {
            std::string name = argumentSymbolName(*spec, static_cast<uint32_t>(a.values[i])).value_or(text);
            if (std::find(families.begin(), families.end(), name) == families.end()) families.push_back(name);
            continue;
          }
          if (unbounded) continue;
          ArgFact &f = fact->second;
          if (std::find(f.values.begin(), f.values.end(), text) == f.values.end()) f.values.push_back(text);
        }
  }
  std::sort(sys.begin(), sys.end(), [](const SyscallUse &a, const SyscallUse &b) { return a.name < b.name; });
  return out;
}

} // namespace bespoke
