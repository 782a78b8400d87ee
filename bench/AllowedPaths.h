// AllowedPaths: the BPF instructions a filter executes for each syscall its policy allows, conditional ones
// included: seccomp/Interpreter.h's pathLengths walks every syscall with all-zero arguments, which a
// condition may refuse, so the path measured would not be an allowed one.
#pragma once

#include "seccomp/Bpf.h"
#include "seccomp/Policy.h"

#include "llvm/Support/Error.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bespoke {

struct Paths {
  size_t count = 0, worst = 0, total = 0;
  int worstNr = -1; // the first syscall measured on the worst path
  double mean() const { return count ? double(total) / double(count) : 0; }
  void add(size_t steps, int nr = -1) {
    ++count;
    total += steps;
    if (count == 1 || steps > worst) {
      worst = steps;
      worstNr = nr;
    }
  }
  void add(const Paths &o) {
    if (o.count && (count == 0 || o.worst > worst)) {
      worst = o.worst;
      worstNr = o.worstNr;
    }
    count += o.count;
    total += o.total;
  }
};

struct PathReport {
  Paths uncond; // unconditionally allowed syscalls, all arguments 0
  Paths cond;   // conditional syscalls: one run per alternative, arguments chosen to satisfy it
  Paths all() const {
    Paths p = uncond;
    p.add(cond);
    return p;
  }
};

// Arguments satisfying one alternative (the others 0), or nothing when it can never hold.
std::optional<std::array<uint64_t, 6>> satisfying(const std::vector<ArgCondition> &alt);

// Walks `prog` with the step-counting interpreter (the kernel's semantics) for every syscall `p` allows
// (rules whose action is not allow are not walked). Errors, naming `what`: the program is malformed, or
// does not allow a syscall the policy allows.
llvm::Expected<PathReport> measureAllowedPaths(const BpfProgram &prog, const Policy &p, const std::string &what);

} // namespace bespoke
