#include "analyzer/SyscallTable.h"

#include <algorithm>

namespace bespoke {

const std::vector<SyscallEntry> &x86_64Syscalls() {
  static const std::vector<SyscallEntry> table = {
#define X(name, nr) {#name, nr},
#include "analyzer/syscalls_x86_64.inc"
#undef X
  };
  return table;
}

std::optional<int> syscallNumber(std::string_view name) {
  for (const SyscallEntry &e : x86_64Syscalls())
    if (e.name == name)
      return e.nr;
  return std::nullopt;
}

std::optional<std::string_view> syscallName(long nr) {
  const auto &t = x86_64Syscalls();
  auto it = std::lower_bound(t.begin(), t.end(), nr,
                             [](const SyscallEntry &e, long n) { return e.nr < n; });
  if (it != t.end() && it->nr == nr)
    return it->name;
  return std::nullopt;
}

} // namespace bespoke
