// LibseccompFilter: seccomp_init, seccomp_rule_add_array per rule and name, seccomp_export_bpf to a memfd.
#include "bench/LibseccompFilter.h"

#include <seccomp.h>

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>

namespace bespoke {

namespace {

llvm::Error fail(const std::string &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "libseccomp: %s", msg.c_str());
}

std::optional<scmp_compare> compareOp(const std::string &op) {
  static constexpr std::pair<const char *, scmp_compare> Ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto &[name, value] : Ops)
    if (op == name)
      return value;
  return std::nullopt;
}

llvm::Expected<std::string> exportBpf(scmp_filter_ctx ctx) {
  int fd = memfd_create("libseccomp-filter", 0);
  if (fd < 0)
    return fail(std::string("memfd_create: ") + strerror(errno));
  int rc = seccomp_export_bpf(ctx, fd);
  std::string out;
  if (rc == 0) {
    lseek(fd, 0, SEEK_SET);
    char buf[4096];
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0)
      out.append(buf, static_cast<size_t>(got));
  }
  close(fd);
  if (rc != 0)
    return fail(std::string("seccomp_export_bpf: ") + strerror(-rc));
  return out;
}

// seccomp_release on every path out.
struct Context {
  scmp_filter_ctx ctx;
  ~Context() {
    if (ctx)
      seccomp_release(ctx);
  }
};

} // namespace

llvm::Expected<LibseccompFilter>
libseccompFilter(const std::vector<OciRule> &rules, Action defaultAction, Action badArchAction, int optimize,
                 llvm::function_ref<std::optional<int>(const std::string &)> numberOf) {
  if (seccomp_arch_native() != SCMP_ARCH_X86_64)
    return fail("the native arch is not x86-64");
  Context c{seccomp_init(defaultAction.value())};
  if (!c.ctx)
    return fail("seccomp_init failed");
  if (seccomp_arch_exist(c.ctx, SCMP_ARCH_X86_64) != 0 || seccomp_arch_exist(c.ctx, SCMP_ARCH_X32) == 0 ||
      seccomp_arch_exist(c.ctx, SCMP_ARCH_X86) == 0)
    return fail("the context is not x86-64 only");
  if (int rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_ACT_BADARCH, badArchAction.value()))
    return fail(std::string("ACT_BADARCH: ") + strerror(-rc));
  if (int rc = seccomp_attr_set(c.ctx, SCMP_FLTATR_CTL_OPTIMIZE, optimize))
    return fail(std::string("CTL_OPTIMIZE: ") + strerror(-rc));
  LibseccompFilter out;
  for (const OciRule &rule : rules) {
    if (rule.action == defaultAction)
      continue;
    std::vector<scmp_arg_cmp> cmps;
    std::array<int, 6> perArg{};
    for (const OciComparison &cmp : rule.args) {
      std::optional<scmp_compare> op = compareOp(cmp.op);
      if (!op)
        return fail("unknown comparison " + cmp.op);
      if (cmp.index > 5)
        return fail("argument index " + std::to_string(cmp.index) + " > 5");
      ++perArg[cmp.index];
      cmps.push_back({cmp.index, *op, cmp.value, cmp.valueTwo});
    }
    // runc's rule: libseccomp cannot AND two comparisons of one argument, so they become separate rules.
    bool split = false;
    for (int n : perArg)
      split |= n > 1;
    std::vector<std::vector<scmp_arg_cmp>> adds;
    if (split)
      for (const scmp_arg_cmp &one : cmps)
        adds.push_back({one});
    else
      adds.push_back(cmps);
    for (const std::string &name : rule.names) {
      std::optional<int> nr = numberOf(name);
      if (!nr)
        return fail("no x86-64 number for " + name);
      for (const auto &add : adds) {
        if (int rc = seccomp_rule_add_array(c.ctx, rule.action.value(), *nr, static_cast<unsigned>(add.size()),
                                            add.data()))
          return fail("rule for " + name + ": " + strerror(-rc));
        ++out.rules;
      }
    }
  }
  auto bytes = exportBpf(c.ctx);
  if (!bytes)
    return bytes.takeError();
  auto prog = readBpf(*bytes, "libseccomp's program");
  if (!prog)
    return prog.takeError();
  out.program = std::move(*prog);
  return out;
}

llvm::Expected<LibseccompFilter> libseccompFilter(const Policy &p, int optimize) {
  std::map<std::string, int> numbers; // a rule without a name is "__nr_N" in ociRules, as in Render.cpp
  for (const SyscallRule &r : p.allowed)
    numbers[r.name.empty() ? "__nr_" + std::to_string(r.nr) : r.name] = r.nr;
  return libseccompFilter(ociRules(p), p.defaultAction, p.badArchAction, optimize,
                          [&](const std::string &name) -> std::optional<int> {
                            auto it = numbers.find(name);
                            return it == numbers.end() ? std::nullopt : std::optional<int>(it->second);
                          });
}

std::optional<int> libseccompNumber(const std::string &name) {
  int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str());
  return nr >= 0 ? std::optional<int>(nr) : std::nullopt;
}

std::string libseccompVersion() {
  const scmp_version *v = seccomp_version();
  return v ? std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro) : "?";
}

} // namespace bespoke
