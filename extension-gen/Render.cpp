// Render: the compiled program and its Policy as raw BPF, a C header, an OCI seccomp profile, a systemd
// drop-in and a security-profiles-operator SeccompProfile.

#include "extension-gen/Render.h"

#include "seccomp/Bpf.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string.h>

namespace bespoke {

namespace {

std::string errnoName(uint16_t e) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char *n = strerrorname_np(e))
    return n;
#endif
  return std::to_string(e);
}

std::string ruleName(const SyscallRule &r) {
  return r.name.empty() ? "__nr_" + std::to_string(r.nr) : r.name;
}

// Aligned blocks [base, base + 2^k) covering [a, b] exactly, as (prefix mask, base); a <= b.
std::vector<std::pair<uint64_t, uint64_t>> rangeBlocks(uint64_t a, uint64_t b) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (;;) {
    unsigned k = 0; // the largest block starting at a, aligned, not past b
    while (k < 63) {
      uint64_t size = uint64_t(2) << k; // 2^(k+1)
      if ((a & (size - 1)) != 0 || b - a < size - 1)
        break;
      ++k;
    }
    uint64_t size = uint64_t(1) << k;
    out.push_back({~(size - 1), a});
    if (b - a == size - 1)
      return out;
    a += size;
  }
}

constexpr size_t kMaxEntriesPerAlternative = 256;

// The comparisons for one alternative: a list of entries (OR), each a list of comparisons (AND).
// Empty list: the alternative never holds.
std::vector<std::vector<OciComparison>> ociAlternative(const std::vector<ArgCondition> &alt) {
  std::vector<std::vector<OciComparison>> entries = {{}};
  for (const ArgCondition &c : alt) {
    std::vector<OciComparison> options; // OR of these single comparisons
    switch (c.op) {
    case ArgCondition::Equal:
      options.push_back({c.arg, c.a, 0, "SCMP_CMP_EQ"});
      break;
    case ArgCondition::MaskedEqual:
      if ((c.a & ~c.mask) != 0)
        return {};
      if (c.mask != 0) // mask 0 always holds
        options.push_back({c.arg, c.mask, c.a, "SCMP_CMP_MASKED_EQ"});
      break;
    case ArgCondition::InRange:
      if (c.a > c.b)
        return {};
      if (c.a != 0 && c.b != ~0ULL) {
        for (auto [mask, base] : rangeBlocks(c.a, c.b))
          options.push_back(mask == ~0ULL ? OciComparison{c.arg, base, 0, "SCMP_CMP_EQ"}
                                          : OciComparison{c.arg, mask, base, "SCMP_CMP_MASKED_EQ"});
        if (options.size() * entries.size() > kMaxEntriesPerAlternative) {
          // Too many blocks: GE + LE in one entry (exact, but libseccomp <= 2.5 rejects it).
          for (auto &e : entries) {
            e.push_back({c.arg, c.a, 0, "SCMP_CMP_GE"});
            e.push_back({c.arg, c.b, 0, "SCMP_CMP_LE"});
          }
          continue;
        }
      } else if (c.a != 0) {
        options.push_back({c.arg, c.a, 0, "SCMP_CMP_GE"});
      } else if (c.b != ~0ULL) {
        options.push_back({c.arg, c.b, 0, "SCMP_CMP_LE"});
      }
      break;
    }
    if (options.empty())
      continue; // always holds
    std::vector<std::vector<OciComparison>> next;
    for (const auto &e : entries)
      for (const OciComparison &o : options) {
        next.push_back(e);
        next.back().push_back(o);
      }
    entries = std::move(next);
  }
  return entries;
}

} // namespace

std::vector<OciRule> ociRules(const Policy &p) {
  std::vector<OciRule> out;
  OciRule plain;
  std::vector<std::pair<std::string, std::vector<OciComparison>>> conditional;
  std::vector<OciRule> otherAction; // unconditional rules whose action is not allow
  std::vector<const SyscallRule *> conditionalRules;
  for (const SyscallRule &r : p.allowed) {
    bool allow = r.action.kind == Action::Allow;
    if (r.unconditional()) {
      if (allow)
        plain.names.push_back(ruleName(r));
      else
        otherAction.push_back(OciRule{{ruleName(r)}, {}, r.action});
      continue;
    }
    conditionalRules.push_back(&r);
    for (const auto &alt : r.alternatives)
      for (auto &entry : ociAlternative(alt)) {
        if (entry.empty()) { // holds for any arguments
          plain.names.push_back(ruleName(r));
          break;
        }
        conditional.push_back({ruleName(r), std::move(entry)});
      }
  }
  std::sort(plain.names.begin(), plain.names.end());
  plain.names.erase(std::unique(plain.names.begin(), plain.names.end()), plain.names.end());
  const std::vector<std::string> unconditionalNames = plain.names;
  if (!plain.names.empty())
    out.push_back(std::move(plain));
  std::sort(otherAction.begin(), otherAction.end(),
            [](const OciRule &x, const OciRule &y) { return x.names < y.names; });
  for (OciRule &r : otherAction)
    out.push_back(std::move(r));
  std::stable_sort(conditional.begin(), conditional.end(),
                   [](const auto &x, const auto &y) { return x.first < y.first; });
  auto actionOf = [&](const std::string &name) {
    for (const SyscallRule *r : conditionalRules)
      if (ruleName(*r) == name)
        return r->action;
    return Action{Action::Allow, 0};
  };
  for (auto &[name, args] : conditional) // a syscall some alternative allows outright needs no more
    if (!std::binary_search(unconditionalNames.begin(), unconditionalNames.end(), name))
      out.push_back(OciRule{{name}, std::move(args), actionOf(name)});
  return out;
}

namespace {

std::string sortedNamesNote(const Policy &p, bool conditionalOnly) {
  std::vector<std::string> names;
  for (const SyscallRule &r : p.allowed)
    if (!conditionalOnly || !r.unconditional())
      names.push_back(ruleName(r));
  std::sort(names.begin(), names.end());
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "" : " ") + n;
  return s;
}

// "clone3 (errno:38)": the rules answered with an action other than allow, sorted.
std::string otherActionNote(const Policy &p) {
  std::vector<std::string> names;
  for (const SyscallRule &r : p.allowed)
    if (r.action.kind != Action::Allow)
      names.push_back(ruleName(r) + " (" + r.action.name() + ")");
  std::sort(names.begin(), names.end());
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "" : " ") + n;
  return s;
}

} // namespace

std::string renderCHeader(const BpfProgram &prog, const Policy &p, const std::string &name) {
  std::string id;
  for (char c : name)
    id += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0])))
    id = "filter_" + id;
  std::string guard = id;
  std::transform(guard.begin(), guard.end(), guard.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  guard = "BESPOKE_SECCOMP_" + guard + "_H";

  std::string o;
  o += "/* Generated by bespoke extension-gen. Do not edit.\n";
  o += " * seccomp-BPF filter for x86-64, " + std::to_string(prog.size()) + " instructions.\n";
  o += " * Other architectures and x32 numbers: " + p.badArchAction.name() + ".\n";
  o += " * Syscalls not allowed: " + p.defaultAction.name() + ".\n";
  o += " * Allowed (" + std::to_string(p.allowed.size()) + "): " + sortedNamesNote(p, false) + "\n";
  std::string cond = sortedNamesNote(p, true);
  if (!cond.empty())
    o += " * With argument conditions: " + cond + "\n";
  std::string answered = otherActionNote(p);
  if (!answered.empty())
    o += " * Answered without running: " + answered + "\n";
  o += " * Install: prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);\n";
  o += " *          syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &" + id + "_prog);\n";
  o += " */\n";
  o += "#ifndef " + guard + "\n#define " + guard + "\n\n#include <linux/filter.h>\n\n";
  o += "static const struct sock_filter " + id + "[] = {\n";
  for (size_t i = 0; i < prog.size(); ++i) {
    const sock_filter &f = prog[i];
    char buf[80];
    std::snprintf(buf, sizeof buf, "  { 0x%02x, %3u, %3u, 0x%08x }, /* %4zu: ", f.code, f.jt, f.jf, f.k, i);
    o += buf + disassemble(f, i) + " */\n";
  }
  o += "};\n\n";
  o += "static const struct sock_fprog " + id + "_prog = {\n";
  o += "  .len = (unsigned short)(sizeof(" + id + ") / sizeof(" + id + "[0])),\n";
  o += "  .filter = (struct sock_filter *)" + id + ",\n";
  o += "};\n\n#endif /* " + guard + " */\n";
  return o;
}

std::string renderOciJson(const Policy &p) {
  std::string o = "{\n";
  o += "  \"defaultAction\": \"" + std::string(p.defaultAction.libseccompName()) + "\",\n";
  if (p.defaultAction.kind == Action::Errno)
    o += "  \"defaultErrnoRet\": " + std::to_string(p.defaultAction.data) + ",\n";
  o += "  \"architectures\": [\"SCMP_ARCH_X86_64\"],\n";
  o += "  \"syscalls\": [";
  std::vector<OciRule> entries = ociRules(p);
  for (size_t i = 0; i < entries.size(); ++i) {
    const OciRule &e = entries[i];
    o += i ? ",\n    {\n" : "\n    {\n";
    o += "      \"names\": [";
    for (size_t j = 0; j < e.names.size(); ++j)
      o += (j ? ", \"" : "\"") + e.names[j] + "\"";
    o += "],\n      \"action\": \"" + std::string(e.action.libseccompName()) + "\"";
    if (e.action.kind == Action::Errno)
      o += ",\n      \"errnoRet\": " + std::to_string(e.action.data);
    if (!e.args.empty()) {
      o += ",\n      \"args\": [";
      for (size_t j = 0; j < e.args.size(); ++j) {
        const OciComparison &a = e.args[j];
        o += j ? ",\n        " : "\n        ";
        o += "{\"index\": " + std::to_string(a.index) + ", \"value\": " + std::to_string(a.value) +
             ", \"valueTwo\": " + std::to_string(a.valueTwo) + ", \"op\": \"" + a.op + "\"}";
      }
      o += "\n      ]";
    }
    o += "\n    }";
  }
  o += entries.empty() ? "]\n" : "\n  ]\n";
  o += "}\n";
  return o;
}

std::string renderSystemd(const Policy &p, const std::string &appName) {
  std::string o;
  o += "# Generated by bespoke extension-gen for " + appName + ". Do not edit.\n";
  o += "# Install as /etc/systemd/system/<unit>.service.d/50-bespoke-seccomp.conf\n";
  o += "# systemd itself always permits the few syscalls it needs to start the service (systemd.exec(5)).\n";
  std::string cond = sortedNamesNote(p, true);
  if (!cond.empty()) {
    o += "#\n# WARNING: argument conditions are not expressible in systemd. These syscalls are\n";
    o += "# WARNING: therefore allowed UNCONDITIONALLY here (weaker than the BPF filter):\n";
    o += "# WARNING: " + cond + "\n";
  }
  std::string answered = otherActionNote(p);
  if (!answered.empty()) {
    o += "#\n# NOTE: an allow-list entry cannot carry an errno in systemd; allowed here instead\n";
    o += "# NOTE: (their partner syscalls are unconditional here too): " + answered + "\n";
  }
  switch (p.defaultAction.kind) {
  case Action::KillProcess:
  case Action::Errno:
    break;
  default:
    o += "#\n# NOTE: the policy's default action " + p.defaultAction.name() +
         " is not expressible in systemd;\n# NOTE: systemd kills the process with SIGSYS instead.\n";
  }
  o += "\n[Service]\n";
  o += "SystemCallArchitectures=native\n";
  std::vector<std::string> names;
  for (const SyscallRule &r : p.allowed)
    names.push_back(ruleName(r));
  std::sort(names.begin(), names.end());
  // Repeated SystemCallFilter= allow-list lines add up; wrap at about 100 columns.
  std::string line;
  for (const std::string &n : names) {
    if (!line.empty() && line.size() + 1 + n.size() > 100) {
      o += line + "\n";
      line.clear();
    }
    line += line.empty() ? "SystemCallFilter=" + n : " " + n;
  }
  if (!line.empty())
    o += line + "\n";
  if (p.defaultAction.kind == Action::Errno)
    o += "SystemCallErrorNumber=" + errnoName(p.defaultAction.data) + "\n";
  return o;
}

std::string renderSpo(const Policy &p, const std::string &appName) {
  // metadata.name: a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.').
  std::string name;
  for (char c : appName) {
    unsigned char u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : (c == '.' ? '.' : '-');
  }
  while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.front())))
    name.erase(name.begin());
  while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.back())))
    name.pop_back();
  if (name.size() > 253)
    name.resize(253);
  if (name.empty())
    name = "bespoke";

  std::string o;
  o += "# Generated by bespoke extension-gen for " + appName + ". Do not edit.\n";
  if (p.defaultAction.kind == Action::Errno && p.defaultAction.data != 1)
    o += "# NOTE: the default errno " + std::to_string(p.defaultAction.data) +
         " is not expressible here; runtimes return EPERM.\n";
  o += "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\n";
  o += "kind: SeccompProfile\n";
  o += "metadata:\n  name: " + name + "\n";
  o += "spec:\n";
  o += "  defaultAction: " + std::string(p.defaultAction.libseccompName()) + "\n";
  o += "  architectures:\n  - SCMP_ARCH_X86_64\n";
  std::vector<OciRule> entries = ociRules(p);
  if (entries.empty()) {
    o += "  syscalls: []\n";
    return o;
  }
  o += "  syscalls:\n";
  for (const OciRule &e : entries) {
    o += "  - action: " + std::string(e.action.libseccompName()) + "\n";
    if (e.action.kind == Action::Errno)
      o += "    errnoRet: " + std::to_string(e.action.data) + "\n";
    o += "    names:\n";
    for (const std::string &n : e.names)
      o += "    - " + n + "\n";
    if (!e.args.empty()) {
      o += "    args:\n";
      for (const OciComparison &a : e.args)
        o += "    - index: " + std::to_string(a.index) + "\n      value: " + std::to_string(a.value) +
             "\n      valueTwo: " + std::to_string(a.valueTwo) + "\n      op: " + a.op + "\n";
    }
  }
  return o;
}

} // namespace bespoke
