// ArgumentConditions: argument facts -> alternatives of ArgConditions (see ArgumentConditions.h).
#include "extension-gen/ArgumentConditions.h"

#include "analyzer/ArgumentSpecs.h"
#include "analyzer/ArgumentSymbols.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace bespoke {

namespace {

constexpr uint64_t Low32 = 0xffffffffULL;
constexpr uint32_t CSignal = 0xff; // clone: the low byte is the exit signal, not a flag

struct CheckRow {
  const char *syscall, *name;
  ArgumentCheck check;
};

// Every row of analyzer/ArgumentSpecs.cpp's table (a test checks that none is missing). Enumerations are
// values that name one thing (a domain, a command, a request); flags are bit sets where a site's value
// grants what its bits say, so the filter refuses only the bits no site sets.
// personality: an enumeration (its low byte is an execution domain, and 0xffffffff queries: as flags that
// one value would allow every bit).
constexpr CheckRow kChecks[] = {
    {"clone", "flags", {ArgumentCheckKind::Flags, CSignal}},
    {"fcntl", "cmd", {ArgumentCheckKind::Enumeration, 0}},
    {"ioctl", "request", {ArgumentCheckKind::Enumeration, 0}},
    {"madvise", "advice", {ArgumentCheckKind::Enumeration, 0}},
    {"mmap", "prot", {ArgumentCheckKind::Flags, 0}},
    {"mmap", "flags", {ArgumentCheckKind::Flags, 0}},
    {"mprotect", "prot", {ArgumentCheckKind::Flags, 0}},
    {"open", "flags", {ArgumentCheckKind::Flags, 0}},
    {"openat", "flags", {ArgumentCheckKind::Flags, 0}},
    {"personality", "persona", {ArgumentCheckKind::Enumeration, 0}},
    {"prctl", "option", {ArgumentCheckKind::Enumeration, 0}},
    {"setsockopt", "level", {ArgumentCheckKind::Enumeration, 0}},
    {"setsockopt", "optname", {ArgumentCheckKind::Enumeration, 0}},
    {"socket", "domain", {ArgumentCheckKind::Enumeration, 0}},
    {"socket", "type", {ArgumentCheckKind::Enumeration, 0}},
    {"socket", "protocol", {ArgumentCheckKind::Enumeration, 0}},
    {"socketpair", "domain", {ArgumentCheckKind::Enumeration, 0}},
    {"socketpair", "type", {ArgumentCheckKind::Enumeration, 0}},
    {"socketpair", "protocol", {ArgumentCheckKind::Enumeration, 0}},
};

llvm::Error factError(const std::string &syscall, const std::string &arg, const std::string &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "syscall '%s', argument '%s': %s",
                                 syscall.c_str(), arg.c_str(), msg.c_str());
}

// One argument's options (OR); each alternative takes one of them.
struct ArgumentOptions {
  std::string name;
  std::vector<ArgCondition> options;
};

} // namespace

const ArgumentCheck *argumentCheckOf(const std::string &syscall, const std::string &name) {
  for (const CheckRow &r : kChecks)
    if (syscall == r.syscall && name == r.name)
      return &r.check;
  return nullptr;
}

llvm::Expected<uint32_t> parseArgumentValue(const std::string &text) {
  auto bad = [&](const char *why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "value '%s' %s", text.c_str(), why);
  };
  const char *notNumber = "is not a number (signed decimal or 0x-hex)";
  const char *tooBig = "is out of range for a 32-bit argument";
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    const char *first = text.data() + 2, *last = text.data() + text.size();
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(first, last, v, 16);
    if (ptr != last || (ec != std::errc() && ec != std::errc::result_out_of_range))
      return bad(notNumber);
    if (ec == std::errc::result_out_of_range || v > Low32)
      return bad(tooBig);
    return static_cast<uint32_t>(v);
  }
  bool negative = !text.empty() && text[0] == '-';
  const char *first = text.data() + (negative ? 1 : 0), *last = text.data() + text.size();
  if (first == last || !std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; }))
    return bad(notNumber);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(first, last, v, 10);
  if (ec == std::errc::result_out_of_range || (negative ? v > 0x80000000ULL : v > Low32))
    return bad(tooBig);
  if (ec != std::errc() || ptr != last)
    return bad(notNumber);
  return negative ? static_cast<uint32_t>(-static_cast<int64_t>(v)) : static_cast<uint32_t>(v);
}

llvm::Expected<uint32_t> parseArgumentValue(const std::string &text, const ArgumentSpec &spec) {
  const bool symbolic = std::any_of(text.begin(), text.end(), [](char c) { return c == '|' || c == '_'; }) ||
                        (!text.empty() && ((text[0] >= 'A' && text[0] <= 'Z') || (text[0] >= 'a' && text[0] <= 'z')));
  if (!symbolic) return parseArgumentValue(text);
  auto number = [](std::string_view term) -> std::optional<uint32_t> {
    auto n = parseArgumentValue(std::string(term));
    if (n) return *n;
    llvm::consumeError(n.takeError());
    return std::nullopt;
  };
  std::string bad;
  if (std::optional<uint32_t> v = argumentTerms(spec, text, number, &bad)) return *v;
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "value '%s': '%s' is not a number nor a constant of %s's %s", text.c_str(),
                                 bad.c_str(), spec.syscall, spec.name);
}

llvm::Expected<SyscallConditions> conditionsFromFacts(const std::string &syscall,
                                                      const std::map<std::string, ArgFact> &facts) {
  SyscallConditions out;
  std::vector<const ArgumentSpec *> specs = argumentSpecsOf(syscall);
  std::vector<ArgumentOptions> args;
  for (const auto &[name, fact] : facts) { // std::map: by argument name, so the result is deterministic
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const ArgumentSpec *s) { return name == s->name; });
    if (spec == specs.end()) {
      std::string known;
      for (const ArgumentSpec *s : specs)
        known += (known.empty() ? "" : ", ") + std::string(s->name);
      return factError(syscall, name, "not a recorded argument of this syscall (" +
                                          (known.empty() ? std::string("it has none") : "recorded: " + known) + ")");
    }
    std::set<uint32_t> values;
    for (const std::string &text : fact.values) {
      auto v = parseArgumentValue(text, **spec);
      if (!v)
        return factError(syscall, name, llvm::toString(v.takeError()));
      values.insert(*v);
    }
    const ArgumentCheck *check = argumentCheckOf(syscall, name);
    // `any`, an empty list (no value to go by) or an argument without a check: not checked.
    if (fact.any || values.empty() || !check)
      continue;
    const uint8_t index = static_cast<uint8_t>((*spec)->index);
    const uint64_t ignored = (*spec)->ignored & Low32;
    ArgumentOptions opts{name, {}};
    if (check->kind == ArgumentCheckKind::Enumeration) {
      // The mask keeps the ignored bits (socket type's SOCK_NONBLOCK | SOCK_CLOEXEC) free.
      const uint64_t mask = Low32 & ~ignored;
      std::set<uint64_t> data;
      for (uint32_t v : values)
        data.insert(v & mask);
      for (uint64_t a : data)
        opts.options.push_back(ArgCondition{index, ArgCondition::MaskedEqual, a, 0, mask});
    } else {
      uint64_t allowed = ignored | check->freeBits;
      for (uint32_t v : values)
        allowed |= v;
      const uint64_t mask = Low32 & ~allowed;
      if (mask == 0)
        continue; // every bit allowed: no check
      opts.options.push_back(ArgCondition{index, ArgCondition::MaskedEqual, 0, 0, mask});
    }
    args.push_back(std::move(opts));
  }
  // Keep the product bounded: leave the argument with the most values unchecked until it fits.
  auto product = [&] {
    size_t n = 1;
    for (const ArgumentOptions &a : args)
      n = std::min(n * a.options.size(), MaxAlternativesPerSyscall + 1);
    return n;
  };
  while (!args.empty() && product() > MaxAlternativesPerSyscall) {
    auto widest = std::max_element(args.begin(), args.end(), [](const ArgumentOptions &x, const ArgumentOptions &y) {
      return x.options.size() < y.options.size();
    });
    out.notes.push_back(syscall + ": argument '" + widest->name + "' (" + std::to_string(widest->options.size()) +
                        " values) not checked: the value combinations exceed " +
                        std::to_string(MaxAlternativesPerSyscall) + " alternatives");
    args.erase(widest);
  }
  if (args.empty())
    return out;
  out.alternatives = {{}};
  for (const ArgumentOptions &a : args) {
    std::vector<std::vector<ArgCondition>> next;
    for (const auto &alt : out.alternatives)
      for (const ArgCondition &c : a.options) {
        next.push_back(alt);
        next.back().push_back(c);
      }
    out.alternatives = std::move(next);
  }
  // Conditions in argument order within an alternative (the compiler's loads then go forward).
  for (auto &alt : out.alternatives)
    std::stable_sort(alt.begin(), alt.end(), [](const ArgCondition &x, const ArgCondition &y) { return x.arg < y.arg; });
  return out;
}

size_t checkInstructions(const std::vector<std::vector<ArgCondition>> &alternatives) {
  size_t n = 1; // the final `ret default`
  for (const auto &alt : alternatives) {
    n += 1; // `ret action`
    for (const ArgCondition &c : alt) {
      switch (c.op) {
      case ArgCondition::Equal:
        n += 4;
        break;
      case ArgCondition::MaskedEqual:
        if ((c.a & ~c.mask) != 0) {
          n += 1;
          break;
        }
        for (uint32_t half : {static_cast<uint32_t>(c.mask), static_cast<uint32_t>(c.mask >> 32)})
          if (half != 0)
            n += half == 0xffffffffU ? 2 : 3;
        break;
      case ArgCondition::InRange:
        n += 10; // at most: two bounds of ld, jgt, jeq, ld, jge
        break;
      }
    }
  }
  return n;
}

} // namespace bespoke
