// DockerProfile: moby's setupSeccomp (block filtering) and libseccomp's per-syscall decision, on llvm::json.
#include "bench/DockerProfile.h"

#include "analyzer/SyscallTable.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <array>

namespace bespoke {

namespace {

constexpr uint16_t Eperm = 1; // runc's errno for SCMP_ACT_ERRNO / SCMP_ACT_TRACE without errnoRet

bool contains(const std::vector<std::string> &v, llvm::StringRef s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// The block's or profile's errors, one line each.
struct Reader {
  const std::string &path;
  llvm::Error error(const std::string &where, const std::string &msg) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s%s%s", path.c_str(), where.c_str(),
                                   where.empty() ? "" : ": ", msg.c_str());
  }
};

llvm::Expected<Action> parseDockerAction(llvm::StringRef name, std::optional<int64_t> errnoRet, const Reader &r,
                                         const std::string &where) {
  uint16_t data = Eperm;
  if (errnoRet) {
    if (*errnoRet < 0 || *errnoRet > 0xffff)
      return r.error(where, "errnoRet " + std::to_string(*errnoRet) + " is out of range");
    data = static_cast<uint16_t>(*errnoRet);
  }
  if (name == "SCMP_ACT_ALLOW") return Action{Action::Allow, 0};
  if (name == "SCMP_ACT_ERRNO") return Action{Action::Errno, data};
  if (name == "SCMP_ACT_TRACE") return Action{Action::Trace, data};
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return Action{Action::KillThread, 0};
  if (name == "SCMP_ACT_KILL_PROCESS") return Action{Action::KillProcess, 0};
  if (name == "SCMP_ACT_TRAP") return Action{Action::Trap, 0};
  if (name == "SCMP_ACT_LOG") return Action{Action::Log, 0};
  return r.error(where, "unknown action \"" + name.str() + "\"");
}

// "4.8" -> (4, 8), as moby's KernelVersion reads minKernel.
std::optional<std::pair<unsigned, unsigned>> parseKernel(llvm::StringRef s) {
  unsigned a = 0, b = 0;
  auto [major, minor] = s.split('.');
  if (major.getAsInteger(10, a) || minor.getAsInteger(10, b))
    return std::nullopt;
  return std::make_pair(a, b);
}

llvm::Expected<std::vector<std::string>> strings(const llvm::json::Object &o, llvm::StringRef key, const Reader &r,
                                                 const std::string &where) {
  std::vector<std::string> out;
  const llvm::json::Value *v = o.get(key);
  if (!v || v->getAsNull())
    return out;
  const llvm::json::Array *a = v->getAsArray();
  if (!a)
    return r.error(where, key.str() + " is not a list");
  for (const llvm::json::Value &e : *a) {
    std::optional<llvm::StringRef> s = e.getAsString();
    if (!s)
      return r.error(where, key.str() + " holds a non-string");
    out.push_back(s->str());
  }
  return out;
}

// Whether dockerd keeps a block for this container (moby 20.10 profiles/seccomp/seccomp_linux.go).
llvm::Expected<bool> keeps(const llvm::json::Object &block, const DockerContainer &c, const Reader &r,
                           const std::string &where) {
  auto filter = [&](llvm::StringRef key) -> llvm::Expected<std::array<int, 3>> {
    // {arch named, any cap held / all caps held, kernel reaches minKernel}; -1: the field is absent.
    std::array<int, 3> out{-1, -1, -1};
    const llvm::json::Value *v = block.get(key);
    if (!v || v->getAsNull())
      return out;
    const llvm::json::Object *o = v->getAsObject();
    if (!o)
      return r.error(where, key.str() + " is not an object");
    auto arches = strings(*o, "arches", r, where + "." + key.str());
    if (!arches)
      return arches.takeError();
    auto caps = strings(*o, "caps", r, where + "." + key.str());
    if (!caps)
      return caps.takeError();
    if (!arches->empty())
      out[0] = contains(*arches, c.arch);
    if (!caps->empty()) {
      bool anyHeld = false, allHeld = true;
      for (const std::string &cap : *caps) {
        bool held = contains(c.caps, cap);
        anyHeld |= held;
        allHeld &= held;
      }
      out[1] = key == "excludes" ? anyHeld : allHeld;
    }
    if (const llvm::json::Value *k = o->get("minKernel"); k && !k->getAsNull()) {
      std::optional<llvm::StringRef> s = k->getAsString();
      std::optional<std::pair<unsigned, unsigned>> min = s ? parseKernel(*s) : std::nullopt;
      if (!min)
        return r.error(where + "." + key.str(), "minKernel is not \"MAJOR.MINOR\"");
      out[2] = std::make_pair(c.kernel, c.major) >= *min;
    }
    return out;
  };
  auto ex = filter("excludes");
  if (!ex)
    return ex.takeError();
  auto in = filter("includes");
  if (!in)
    return in.takeError();
  // excludes: any true drops the block; includes: any false drops it.
  for (int f : *ex)
    if (f == 1)
      return false;
  for (int f : *in)
    if (f == 0)
      return false;
  return true;
}

bool compareHolds(const OciComparison &c, uint64_t v) {
  if (c.op == "SCMP_CMP_NE") return v != c.value;
  if (c.op == "SCMP_CMP_LT") return v < c.value;
  if (c.op == "SCMP_CMP_LE") return v <= c.value;
  if (c.op == "SCMP_CMP_EQ") return v == c.value;
  if (c.op == "SCMP_CMP_GE") return v >= c.value;
  if (c.op == "SCMP_CMP_GT") return v > c.value;
  return (v & c.value) == c.valueTwo; // SCMP_CMP_MASKED_EQ (the reader admits no other)
}

bool ruleHolds(const DockerRule &rule, const uint64_t args[6]) {
  std::array<int, 6> perArg{};
  for (const OciComparison &c : rule.args)
    ++perArg[c.index];
  bool shared = std::any_of(perArg.begin(), perArg.end(), [](int n) { return n > 1; });
  if (rule.args.empty())
    return true;
  auto holds = [&](const OciComparison &c) { return compareHolds(c, args[c.index]); };
  // runc adds comparisons sharing an argument as one rule each: any of them lets the call through.
  return shared ? std::any_of(rule.args.begin(), rule.args.end(), holds)
                : std::all_of(rule.args.begin(), rule.args.end(), holds);
}

} // namespace

std::vector<std::string> dockerDefaultCaps() {
  return {"CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
          "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
          "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
}

llvm::Expected<DockerProfile> readDockerProfile(const std::string &path, const DockerContainer &c) {
  Reader r{path};
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return r.error("", "cannot read: " + buf.getError().message());
  auto json = llvm::json::parse((*buf)->getBuffer());
  if (!json)
    return r.error("", "not JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *top = json->getAsObject();
  if (!top)
    return r.error("", "not a JSON object");
  DockerProfile p;
  std::optional<llvm::StringRef> def = top->getString("defaultAction");
  if (!def)
    return r.error("", "no defaultAction");
  auto defAction = parseDockerAction(*def, top->getInteger("defaultErrnoRet"), r, "defaultAction");
  if (!defAction)
    return defAction.takeError();
  p.defaultAction = *defAction;
  const llvm::json::Array *blocks = top->getArray("syscalls");
  if (!blocks)
    return r.error("", "no syscalls list");
  for (size_t i = 0; i < blocks->size(); ++i) {
    std::string where = "syscalls[" + std::to_string(i) + "]";
    const llvm::json::Object *b = (*blocks)[i].getAsObject();
    if (!b)
      return r.error(where, "not an object");
    ++p.blocks;
    auto kept = keeps(*b, c, r, where);
    if (!kept)
      return kept.takeError();
    auto names = strings(*b, "names", r, where);
    if (!names)
      return names.takeError();
    if (std::optional<llvm::StringRef> name = b->getString("name")) {
      if (!names->empty())
        return r.error(where, "both name and names");
      names->push_back(name->str());
    }
    std::optional<llvm::StringRef> act = b->getString("action");
    if (!act)
      return r.error(where, "no action");
    auto action = parseDockerAction(*act, b->getInteger("errnoRet"), r, where);
    if (!action)
      return action.takeError();
    std::vector<OciComparison> args;
    if (const llvm::json::Value *a = b->get("args"); a && !a->getAsNull()) {
      const llvm::json::Array *list = a->getAsArray();
      if (!list)
        return r.error(where, "args is not a list");
      for (const llvm::json::Value &e : *list) {
        const llvm::json::Object *o = e.getAsObject();
        std::optional<int64_t> index = o ? o->getInteger("index") : std::nullopt;
        std::optional<uint64_t> value = o && o->get("value") ? o->get("value")->getAsUINT64() : std::nullopt;
        std::optional<uint64_t> two = o && o->get("valueTwo") ? o->get("valueTwo")->getAsUINT64() : uint64_t(0);
        std::optional<llvm::StringRef> op = o ? o->getString("op") : std::nullopt;
        if (!index || *index < 0 || *index > 5 || !value || !two || !op)
          return r.error(where, "an argument without index 0-5, a 64-bit value and an op");
        OciComparison cmp{static_cast<unsigned>(*index), *value, *two, op->str()};
        if (!llvm::is_contained({"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
                                 "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"},
                                cmp.op))
          return r.error(where, "unknown comparison \"" + cmp.op + "\"");
        args.push_back(std::move(cmp));
      }
    }
    if (!*kept)
      continue;
    ++p.keptBlocks;
    for (const std::string &name : *names) {
      std::optional<int> nr = syscallNumber(name);
      if (!nr) {
        p.unnumbered.push_back(name);
        continue;
      }
      p.rules.push_back(DockerRule{*nr, name, args, *action});
    }
  }
  std::sort(p.unnumbered.begin(), p.unnumbered.end());
  p.unnumbered.erase(std::unique(p.unnumbered.begin(), p.unnumbered.end()), p.unnumbered.end());
  return p;
}

std::vector<OciRule> dockerOciRules(const DockerProfile &p) {
  std::vector<OciRule> out;
  for (const DockerRule &rule : p.rules)
    out.push_back(OciRule{{rule.name}, rule.args, rule.action});
  return out;
}

llvm::Expected<Action> dockerDecide(const DockerProfile &p, int nr, const uint64_t args[6]) {
  std::optional<Action> got;
  for (const DockerRule &rule : p.rules) {
    // runc leaves out a rule with the default action (libseccomp refuses it).
    if (rule.nr != nr || rule.action == p.defaultAction || !ruleHolds(rule, args))
      continue;
    if (got && *got != rule.action)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "%s: rules with different actions (%s, %s) hold at once", rule.name.c_str(),
                                     got->name().c_str(), rule.action.name().c_str());
    got = rule.action;
  }
  return got ? *got : p.defaultAction;
}

DockerTreatment dockerTreatment(const DockerProfile &p, int nr) {
  bool plainAllow = false, someAllow = false, other = false;
  for (const DockerRule &rule : p.rules) {
    if (rule.nr != nr || rule.action == p.defaultAction)
      continue;
    bool allow = rule.action.kind == Action::Allow;
    someAllow |= allow;
    plainAllow |= allow && rule.args.empty();
    other |= !allow;
  }
  if (plainAllow && !other)
    return DockerTreatment::Allowed;
  return someAllow ? DockerTreatment::Conditional : DockerTreatment::Refused;
}

} // namespace bespoke
