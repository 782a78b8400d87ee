// ArgumentFacts: which syscall arguments become argument facts (`syscalls[].args` in the manifest), how
// their values are written, and, for the binary analysis, the values an argument register can hold at a
// syscall instruction: constants at the site, or, for a value the function received in a register, the
// constants every caller passes there, followed up the call graph through wrappers (socket(), ioctl(),
// syscall() with its arguments shifted by one register, musl's __syscall_cp, helpers of the program).
// Soundness first: a function entered from where the analysis cannot see (a root, an address taken, a
// name dlsym can look up) or a caller passing anything but a constant makes the argument `any`.
#pragma once

#include "analyzer/ArgumentSpecs.h"
#include "analyzer/Footprint.h"
#include "analyzer/Program.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace bespoke {

// The values one argument register may hold at a syscall, or any.
struct ValueSet {
  bool any = false;
  std::set<uint64_t> values;
  std::string why; // for any: the first function or caller that made it so
  std::set<std::string> models; // the library models (LibcFacts) that gave values the code computes
  std::map<uint64_t, std::pair<uint32_t, uint64_t>> sites; // per value: the first (function, site) passing it
  void add(uint64_t v, uint32_t g, uint64_t site) {
    values.insert(v);
    sites.emplace(v, std::pair(g, site));
  }
};

class ArgumentResolver {
public:
  // Reads the C string at a module's address (module index of the Program), for the names passed to dlsym.
  using StringReader = std::function<std::optional<std::string>(size_t module, uint64_t addr)>;
  ArgumentResolver(const Program &p, const Reach &r, StringReader strings = {});

  // The values of `arg` (the register's abstract value at the syscall instruction in function g) when the
  // instruction makes syscall `nr`, as its argument `index`; `number` is %rax's abstract value there (an
  // entry value: the number comes from the callers too, and only callers that can pass `nr` count).
  // `site` is the instruction's address, for the values' evidence.
  ValueSet resolve(uint32_t g, uint64_t site, const AbsValue &arg, const AbsValue &number, long nr, int index);

  // Functions treated as entered from unknown places: roots, pointers, and what a reachable dlsym can return.
  bool unknownEntry(uint32_t g) const { return R.unknownEntry[g] || LookedUp[g]; }

private:
  std::string where(uint32_t g) const; // "module!symbol" of function g
  std::string entryReason(uint32_t g) const;
  void markSymbolLookups(const StringReader &strings);
  bool numberReaches(uint32_t g, int rn, long nr);
  // A library model's values for what function g passes (to `callee`, or at its own syscall instruction
  // when callee is None) and the analysis sees as no constant.
  bool modelled(uint32_t g, uint64_t site, uint32_t callee, long nr, int index, ValueSet &out) const;

  const Program &P;
  const Reach &R;
  std::vector<uint8_t> Reached;
  std::vector<uint8_t> LookedUp; // exported functions a reachable dlsym can return
  std::string LookupWhy; // why a reachable dlsym can return any exported function; empty when it cannot
  std::map<std::tuple<uint32_t, int, int, long, int, std::vector<uint64_t>>, ValueSet> Memo;
  std::map<std::tuple<uint32_t, int, long>, bool> NumberMemo;
};

} // namespace bespoke
