// EhFrame: the address ranges of the FDEs in a module's .eh_frame. They give function boundaries in
// stripped objects, where no symbol says where a function starts or ends.
#pragma once

#include "analyzer/ElfModule.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace bespoke {

// [begin, end) of every FDE with a positive range, sorted. Malformed entries end the parse of their
// section quietly: the ranges are hints, and a truncated list only loses boundaries.
std::vector<std::pair<uint64_t, uint64_t>> parseEhFrame(const ElfModule &elf);

} // namespace bespoke
