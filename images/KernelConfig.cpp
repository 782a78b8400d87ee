// Config composition and resolution with the kernel's own Kconfig tool.
#include "images/KernelConfig.h"

#include "support/Process.h"
#include "verify/ConfigProof.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

bool isOptionName(llvm::StringRef s) {
  return !s.empty() && llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

void addRequirement(KernelConfig &c, const std::string &option, const std::string &value, const std::string &reason) {
  KernelConfig::Requirement &r = c.required[option];
  r.value = value;
  if (!llvm::is_contained(r.reasons, reason)) r.reasons.push_back(reason);
}

} // namespace

void addFragment(KernelConfig &c, const ConfigFragment &f, llvm::StringRef label) {
  for (const auto &[option, e] : f.options)
    addRequirement(c, option, e.value, (label + ": " + (e.reason.empty() ? "bespoke image" : e.reason)).str());
}

namespace {

// An exclusive lock on PATH for this object's lifetime (concurrent rewrites share the cache).
class FileLock {
public:
  explicit FileLock(const std::string &path) : Fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (Fd >= 0) flock(Fd, LOCK_EX);
  }
  ~FileLock() {
    if (Fd >= 0) close(Fd);
  }
  FileLock(const FileLock &) = delete;
  FileLock &operator=(const FileLock &) = delete;

private:
  int Fd;
};

} // namespace

std::string sha256Hex(llvm::StringRef text) {
  std::array<uint8_t, 32> h = llvm::SHA256::hash(llvm::arrayRefFromStringRef(text));
  return llvm::toHex(h, /*LowerCase=*/true);
}

llvm::Expected<ConfigFragment> parseFragment(llvm::StringRef text, llvm::StringRef name) {
  ConfigFragment f;
  std::string reason;
  bool inParagraph = false; // the comment lines belong to the options that follow them
  unsigned lineNo = 0;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  for (llvm::StringRef raw : lines) {
    ++lineNo;
    llvm::StringRef line = raw.trim();
    if (line.empty()) { reason.clear(); inParagraph = false; continue; }
    if (line.starts_with("# CONFIG_") && line.ends_with(" is not set")) {
      llvm::StringRef opt = line.drop_front(9).drop_back(11);
      if (!isOptionName(opt)) return err(name + ":" + llvm::Twine(lineNo) + ": bad option name '" + opt + "'");
      f.options[opt.str()] = {"n", reason};
      continue;
    }
    if (line.starts_with("#")) {
      llvm::StringRef c = line.drop_front(1).trim();
      if (!inParagraph) reason.clear();
      if (!c.empty()) reason += (reason.empty() ? "" : " ") + c.str();
      inParagraph = true;
      continue;
    }
    inParagraph = false; // the next comment starts a new reason, even without a blank line
    if (!line.consume_front("CONFIG_"))
      return err(name + ":" + llvm::Twine(lineNo) + ": expected CONFIG_X=VALUE, got '" + raw + "'");
    auto [opt, value] = line.split('=');
    if (!isOptionName(opt) || value.empty())
      return err(name + ":" + llvm::Twine(lineNo) + ": expected CONFIG_X=VALUE, got '" + raw + "'");
    f.options[opt.str()] = {value.str(), reason};
  }
  return f;
}

std::string KernelConfig::fragment() const {
  std::string out;
  for (const auto &[option, r] : required)
    out += r.value == "n" ? "# CONFIG_" + option + " is not set\n" : "CONFIG_" + option + "=" + r.value + "\n";
  return out;
}

KernelConfig composeConfig(const ConfigFragment &base, const ConfigFragment &net, const KernelRequirements &app) {
  KernelConfig c;
  addFragment(c, base, "base");
  c.network = app.options.count("NET") || app.options.count("INET");
  if (c.network) addFragment(c, net, "net");
  for (const auto &[option, reasons] : app.options)
    for (const std::string &r : reasons) addRequirement(c, option, "y", "app: " + r);
  c.procfs = app.options.count("PROC_FS");
  c.sysfs = app.options.count("SYSFS");
  return c;
}

std::vector<std::string> unmetRequirements(const KernelConfig &config, llvm::StringRef resolved) {
  std::map<std::string, std::string> final = parseDotConfig(resolved);
  std::vector<std::string> out;
  for (const auto &[option, r] : config.required) {
    auto it = final.find(option);
    std::string have = it == final.end() ? "n" : it->second;
    if (have == r.value) continue;
    std::string why = llvm::join(r.reasons, "; ");
    out.push_back("option " + option + (r.value == "y" ? "" : "=" + r.value) + " required by " + why + " is " +
                  (have == "n" ? std::string("not set") : "=" + have) +
                  " after Kconfig (unmet dependency?)");
  }
  return out;
}

llvm::Error resolveConfig(const KernelSource &src, KernelConfig &config, const std::string &cacheDir) {
  std::string dir = cacheDir + "/kconfig";
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) return err(dir + ": " + ec.message());
  std::string fragment = config.fragment();
  std::string key = sha256Hex("bespoke kconfig v2\nARCH=x86_64 allnoconfig tiny\nsource " + src.version + "\n" + fragment);
  std::string cached = dir + "/" + key + ".config";
  if (auto buf = llvm::MemoryBuffer::getFile(cached)) {
    config.resolved = (*buf)->getBuffer().str();
    return llvm::Error::success();
  }

  FileLock lock(dir + "/work.lock");
  std::string work = dir + "/work", log = work + "/kconfig.log";
  if (std::error_code ec = llvm::sys::fs::create_directories(work)) return err(work + ": " + ec.message());
  llvm::sys::fs::remove(log);
  // tinyconfig's own fragments, then ours (a later assignment wins), as allnoconfig's forced values:
  // every symbol they do not set is n, including those our options make visible (olddefconfig would
  // give those their defaults: INET alone would bring IPV6 and more).
  std::string allconfig;
  for (const char *f : {"kernel/configs/tiny-base.config", "kernel/configs/tiny.config", "arch/x86/configs/tiny.config"}) {
    auto buf = llvm::MemoryBuffer::getFile(src.dir + "/" + f);
    if (!buf) return err(src.dir + "/" + f + ": " + buf.getError().message());
    allconfig += "# " + std::string(f) + "\n" + (*buf)->getBuffer().str() + "\n";
  }
  allconfig += "# bespoke: image fragment\n" + fragment;
  std::string allconfigPath = work + "/bespoke.allconfig";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(allconfigPath, ec);
    if (ec) return err(allconfigPath + ": " + ec.message());
    os << allconfig;
  }
  auto r = runProcess({"make", "-C", src.dir, "O=" + work, "ARCH=x86_64", "KCONFIG_ALLCONFIG=" + allconfigPath,
                       "allnoconfig"},
                      log);
  if (!r) return r.takeError();
  if (r->exitCode != 0)
    return err("make allnoconfig failed in " + work + " (exit " + llvm::Twine(r->exitCode) + "; see " + log + ")");
  auto buf = llvm::MemoryBuffer::getFile(work + "/.config");
  if (!buf) return err(work + "/.config: " + buf.getError().message());
  config.resolved = (*buf)->getBuffer().str();
  std::string tmp = cached + ".tmp." + std::to_string(getpid());
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec) return err(tmp + ": " + ec.message());
    os << config.resolved;
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, cached)) return err(cached + ": " + ec.message());
  return llvm::Error::success();
}

namespace {

// The option `name` needs, as Kconfig computes its value: for a prompted option, its dependencies and the
// prompt's condition; for one without a prompt (def_bool), its first default that can be y. Conjunctions
// are followed, and of a disjunction the first alternative already on (else the first); negations and
// comparisons are left to Kconfig. Options found are added to `out` with their parents' reasons, and
// followed in turn.
class DependencyWalk {
public:
  DependencyWalk(const KconfigModel &model, const std::map<std::string, std::string> &resolved)
      : Model(model), Resolved(resolved) {}

  void option(const std::string &name, std::map<std::string, std::string> &out) {
    const KSymbol *s = Model.symbol(name);
    if (!s || !s->isBoolean() || !Seen.insert(name).second) return;
    KExprPtr need = s->dependsOn;
    if (!s->prompts.empty()) need = kAnd(need, s->prompts.front().cond);
    else
      for (const KProperty &d : s->defaults)
        if (!(d.value && d.value->kind == KExpr::Word && d.value->text == "n")) {
          need = kAnd(need, kAnd(d.value, d.cond));
          break;
        }
    std::string where = s->definitions.empty() ? "" : " (" + s->definitions.front().str() + ")";
    collect(need, name + where, out);
  }

private:
  bool on(const KExprPtr &e) const {
    if (!e) return true;
    switch (e->kind) {
    case KExpr::Word: {
      if (e->text == "y" || e->text == "m") return true;
      auto it = Resolved.find(e->text);
      return it != Resolved.end() && (it->second == "y" || it->second == "m");
    }
    case KExpr::Not: return !on(e->lhs);
    case KExpr::And: return on(e->lhs) && on(e->rhs);
    case KExpr::Or: return on(e->lhs) || on(e->rhs);
    default: return false;
    }
  }

  void collect(const KExprPtr &e, const std::string &parent, std::map<std::string, std::string> &out) {
    if (!e || on(e)) return;
    switch (e->kind) {
    case KExpr::Word:
      if (Model.symbol(e->text) && !out.count(e->text)) {
        out[e->text] = "Kconfig dependency: " + parent + " needs " + e->text;
        option(e->text, out);
      }
      break;
    case KExpr::And:
      collect(e->lhs, parent, out);
      collect(e->rhs, parent, out);
      break;
    case KExpr::Or:
      collect(e->lhs, parent, out);
      break;
    default:
      break;
    }
  }

  const KconfigModel &Model;
  const std::map<std::string, std::string> &Resolved;
  std::set<std::string> Seen;
};

} // namespace

llvm::Error resolveWithDependencies(const KernelSource &src, KernelConfig &config, const std::string &cacheDir) {
  if (llvm::Error e = resolveConfig(src, config, cacheDir)) return e;
  std::optional<KconfigModel> model;
  for (int round = 0; round < 8 && !unmetRequirements(config, config.resolved).empty(); ++round) {
    if (!model) {
      auto parsed = parseKconfig(src.dir);
      if (!parsed) {
        // Nothing to follow: the caller reports what is unmet, and the config proof the parse error.
        llvm::consumeError(parsed.takeError());
        return llvm::Error::success();
      }
      model = std::move(*parsed);
    }
    std::map<std::string, std::string> resolved = parseDotConfig(config.resolved), found;
    DependencyWalk walk(*model, resolved);
    for (const auto &[option, r] : config.required)
      if (r.value == "y" && resolved[option] != "y" && resolved[option] != "m") walk.option(option, found);
    size_t before = config.required.size();
    for (const auto &[option, why] : found)
      if (!config.required.count(option)) addRequirement(config, option, "y", why);
    if (config.required.size() == before) break; // nothing new to try: the caller reports what is unmet
    if (llvm::Error e = resolveConfig(src, config, cacheDir)) return e;
  }
  return llvm::Error::success();
}

llvm::Expected<ConfigProofSummary> proveResolvedConfig(const KernelSource &src, const KernelConfig &config,
                                                       const std::string &cacheDir) {
  auto start = std::chrono::steady_clock::now();
  std::string dir = cacheDir + "/kconfig";
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) return err(dir + ": " + ec.message());
  std::string key = sha256Hex("bespoke config proof v1\nARCH=x86_64\nsource " + src.version + "\n" + config.fragment() +
                              "--\n" + config.resolved);
  std::string cached = dir + "/" + key + ".proof";
  ConfigProofSummary summary;
  if (auto buf = llvm::MemoryBuffer::getFile(cached)) {
    // "files N", "symbols N", "constraints N", "seconds S", then "removable TEXT" lines.
    llvm::SmallVector<llvm::StringRef> lines;
    (*buf)->getBuffer().split(lines, '\n', -1, false);
    for (llvm::StringRef line : lines) {
      auto [k, v] = line.split(' ');
      if (k == "files") v.getAsInteger(10, summary.files);
      else if (k == "symbols") v.getAsInteger(10, summary.symbols);
      else if (k == "constraints") v.getAsInteger(10, summary.constraints);
      else if (k == "seconds") v.getAsDouble(summary.seconds);
      else if (k == "removable") summary.removable.push_back(v.str());
    }
    summary.cacheHit = true;
    return summary;
  }

  auto model = parseKconfig(src.dir);
  if (!model) return model.takeError();
  std::map<std::string, std::string> dot = parseDotConfig(config.resolved), required;
  std::set<std::string> keep;
  for (const auto &[option, r] : config.required) {
    required[option] = r.value;
    keep.insert(option);
  }
  auto proof = proveConfig(*model, dot, required);
  if (!proof) return proof.takeError();
  if (!proof->holds) {
    std::vector<std::string> problems;
    for (const ConfigViolation &v : proof->violations) problems.push_back(v.str());
    for (const std::string &m : proof->missing) problems.push_back("required option " + m);
    return err("the resolved kernel config breaks Kconfig: " + problems.front() +
               (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : std::string()));
  }
  auto removable = findRemovable(*model, dot, required, keep);
  if (!removable) return removable.takeError();
  summary.files = model->files.size();
  summary.symbols = proof->symbols;
  summary.constraints = proof->constraints;
  for (const RemovableOption &r : *removable)
    summary.removable.push_back(r.symbol + (r.alsoChanged.empty() ? "" : " (with " + llvm::join(r.alsoChanged, ", ") + ")"));
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string text = "files " + std::to_string(summary.files) + "\nsymbols " + std::to_string(summary.symbols) +
                     "\nconstraints " + std::to_string(summary.constraints) + "\nseconds " +
                     std::to_string(summary.seconds) + "\n";
  for (const std::string &r : summary.removable) text += "removable " + r + "\n";
  std::string tmp = cached + ".tmp." + std::to_string(getpid());
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec) return err(tmp + ": " + ec.message());
    os << text;
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, cached)) return err(cached + ": " + ec.message());
  return summary;
}

size_t enabledOptions(llvm::StringRef dotConfig) {
  size_t n = 0;
  for (const auto &[option, value] : parseDotConfig(dotConfig)) n += value == "y" || value == "m";
  return n;
}

llvm::Expected<MinimalConfig> minimizeConfig(const KernelSource &src, KernelConfig &config, const std::string &cacheDir,
                                             llvm::raw_ostream &progress) {
  constexpr int MaxMinimalityRounds = 16;
  MinimalConfig out;
  std::set<std::string> rejected; // groups (by their companion changes) that did not make it smaller
  for (int round = 0;; ++round) {
    auto proof = proveResolvedConfig(src, config, cacheDir);
    if (!proof) return proof.takeError();
    out.proof = std::move(*proof);
    if (round == MaxMinimalityRounds) break; // the last change is proven, not searched further
    // "X" or "X (with A=v, B=w)" -> companions "A=v, B=w" -> the candidates sharing them.
    std::map<std::string, std::vector<std::string>> groups;
    for (llvm::StringRef r : out.proof.removable) {
      auto [symbol, rest] = r.split(" (with ");
      groups[rest.str()].push_back(symbol.str());
    }
    std::map<std::string, std::string> dot = parseDotConfig(config.resolved);
    auto on = [&](const std::string &option) {
      auto it = dot.find(option);
      return it != dot.end() && (it->second == "y" || it->second == "m");
    };
    size_t before = enabledOptions(config.resolved);
    bool changed = false;
    for (const auto &[with, symbols] : groups) {
      std::string key = with + " | " + llvm::join(symbols, " ");
      if (rejected.count(key)) continue;
      std::vector<std::pair<std::string, std::string>> companions;
      llvm::StringRef changes = llvm::StringRef(with).rtrim(')'), list = changes;
      long delta = -(long)symbols.size();
      while (!list.empty()) {
        auto [item, tail] = list.split(", ");
        list = tail;
        auto [option, value] = item.split('=');
        companions.push_back({option.str(), value.str()});
        bool turnsOn = value != "n";
        if (turnsOn != on(option.str())) delta += turnsOn ? 1 : -1;
      }
      if (delta >= 0) { rejected.insert(key); continue; } // more options on than off: not smaller
      KernelConfig trial = config;
      std::string what = llvm::join(symbols, ", ");
      std::string also = with.empty() ? "" : " (with " + changes.str() + ")";
      for (const std::string &s : symbols)
        trial.required[s] = {"n", {"minimality: Z3 finds every Kconfig constraint and requirement holds with " +
                                       s + " off" + also}};
      for (const auto &[option, value] : companions) {
        trial.required[option].value = value;
        trial.required[option].reasons.push_back("minimality: lets " + what + " be turned off");
      }
      if (llvm::Error e = resolveConfig(src, trial, cacheDir)) return e;
      size_t after = enabledOptions(trial.resolved);
      if (!unmetRequirements(trial, trial.resolved).empty() || after >= before) {
        rejected.insert(key);
        continue;
      }
      progress << "bespoke: minimality: off " << what << also << ": " << before << " -> " << after
               << " enabled options\n";
      out.applied.push_back("off " + what + also + ": " + std::to_string(before) + " -> " + std::to_string(after) +
                        " enabled options");
      config = std::move(trial);
      changed = true;
      break; // re-prove and recompute candidates from the new config
    }
    if (!changed) break;
  }
  return out;
}

} // namespace bespoke
