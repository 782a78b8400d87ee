// ArgumentSymbols: the constant names a reviewer may write in a manifest's argument facts instead of
// numbers (`domain: [AF_INET, AF_INET6]`, `flags: ["O_RDONLY|O_CLOEXEC"]`), per recorded argument, with
// their x86-64 Linux values (include/uapi, glibc's bits/). The analyzers write numbers; readers of facts
// (extension-gen/, the kernel requirements) accept both.
#pragma once

#include "analyzer/ArgumentSpecs.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace bespoke {

// The value of `name` for the argument `spec` describes, or nullopt when the name is not one of its
// constants (a socket family is no ioctl request). PF_* names are accepted for AF_*.
std::optional<uint32_t> argumentSymbol(const ArgumentSpec &spec, std::string_view name);

// The first constant of the argument whose value is exactly `value` ("AF_UNIX" for socket's domain 1; for
// an enumeration, one name; for flags, only a single-flag or zero value has one), or nullopt.
std::optional<std::string> argumentSymbolName(const ArgumentSpec &spec, uint32_t value);
// A value written as terms joined by '|' ("O_WRONLY|O_CREAT|0x8000"): the OR of each term's value, the
// argument's constant of that name or else `number(term)`. nullopt when a term is neither (*bad: that term).
std::optional<uint32_t> argumentTerms(const ArgumentSpec &spec, std::string_view text,
                                      const std::function<std::optional<uint32_t>(std::string_view)> &number,
                                      std::string *bad = nullptr);

} // namespace bespoke
