// The x86-64 system call table: kernel names and numbers (generated from the UAPI header).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bespoke {

struct SyscallEntry {
  std::string_view name;
  int nr;
};

// Every x86-64 system call, sorted by number.
const std::vector<SyscallEntry> &x86_64Syscalls();
std::optional<int> syscallNumber(std::string_view name);
std::optional<std::string_view> syscallName(long nr);

} // namespace bespoke
