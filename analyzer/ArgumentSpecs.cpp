// ArgumentSpecs: the table of recorded arguments and their text (see ArgumentSpecs.h).
#include "analyzer/ArgumentSpecs.h"

#include <cstdio>

namespace bespoke {

namespace {

constexpr uint64_t SockFlags = 0x800 | 0x80000; // SOCK_NONBLOCK | SOCK_CLOEXEC

} // namespace

const std::vector<ArgumentSpec> &argumentSpecs() {
  static const std::vector<ArgumentSpec> table = {
      {"clone", "flags", 0, true, 0},
      {"fcntl", "cmd", 1, false, 0},
      {"ioctl", "request", 1, true, 0},
      {"madvise", "advice", 2, false, 0},
      {"mmap", "prot", 2, true, 0},
      {"mmap", "flags", 3, true, 0},
      {"mprotect", "prot", 2, true, 0},
      {"open", "flags", 1, true, 0},
      {"openat", "flags", 2, true, 0},
      {"personality", "persona", 0, true, 0},
      {"prctl", "option", 0, false, 0},
      {"setsockopt", "level", 1, false, 0},
      {"setsockopt", "optname", 2, false, 0},
      {"socket", "domain", 0, false, 0},
      {"socket", "type", 1, true, SockFlags},
      {"socket", "protocol", 2, false, 0},
      {"socketpair", "domain", 0, false, 0},
      {"socketpair", "type", 1, true, SockFlags},
      {"socketpair", "protocol", 2, false, 0},
  };
  return table;
}

std::vector<const ArgumentSpec *> argumentSpecsOf(const std::string &syscall) {
  std::vector<const ArgumentSpec *> out;
  for (const ArgumentSpec &s : argumentSpecs())
    if (syscall == s.syscall) out.push_back(&s);
  return out;
}

const ArgumentSpec *argumentSpecOf(const std::string &syscall, const std::string &name) {
  for (const ArgumentSpec &s : argumentSpecs())
    if (syscall == s.syscall && name == s.name) return &s;
  return nullptr;
}

std::string argumentValueText(const ArgumentSpec &spec, uint64_t value) {
  uint64_t v = value & 0xffffffffu & ~spec.ignored;
  if (!spec.hex) return std::to_string(int64_t(int32_t(uint32_t(v)))); // an int, as the kernel reads it
  char b[32];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

} // namespace bespoke
