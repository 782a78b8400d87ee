// Program: the whole program as one call graph over the module models. Functions get global ids
// (module by module, in load order); imports are bound through the global scope as ld.so binds them;
// on this graph the analysis infers syscall wrappers and walks reachability from the roots, keeping one
// shortest chain of calls to every function for evidence. A module is anything with a ModuleModel, so
// code that joins the program later (dlopen'd libraries, executed programs) is one more entry in the list.
#pragma once

#include "analyzer/Footprint.h"
#include "analyzer/ModuleModel.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace bespoke {

struct ProgramModule {
  const ModuleModel *model = nullptr;
  std::string name;         // as evidence frames name it
  bool interpreter = false; // the dynamic loader: its entry runs first
};

class Program {
public:
  // The modules in global-scope order (the first module exporting a name provides it), linked.
  explicit Program(std::vector<ProgramModule> modules);

  size_t moduleCount() const { return Modules.size(); }
  const ProgramModule &module(size_t m) const { return Modules[m]; }
  const ModuleModel &model(size_t m) const { return *Modules[m].model; }
  uint32_t functionCount() const { return Total; }

  uint32_t gid(size_t m, int32_t f) const { return Base[m] + uint32_t(f); }
  std::pair<size_t, int32_t> split(uint32_t g) const;
  const Function &fn(uint32_t g) const;
  // Global functions an import of module m is bound to (none when no module exports it).
  const std::vector<uint32_t> &importTargets(size_t m, int32_t import) const { return ImportTargets[m][size_t(import)]; }
  // Targets of an edge, as global ids.
  void targets(size_t m, const Edge &e, std::vector<uint32_t> &out) const;
  Frame frame(uint32_t g, uint64_t site) const;

  // The calls and tail jumps into function g (address-taking edges excluded), each with its caller.
  struct Call {
    uint32_t caller;
    const Edge *edge;
  };
  llvm::ArrayRef<Call> callersOf(uint32_t g) const {
    return llvm::ArrayRef<Call>(Calls).slice(CallStart[g], CallStart[g + 1] - CallStart[g]);
  }

private:
  void indexCallers();

  std::vector<ProgramModule> Modules;
  std::vector<uint32_t> Base; // global id of each module's first function
  uint32_t Total = 0;
  std::vector<std::vector<std::vector<uint32_t>>> ImportTargets; // per module: import index -> targets
  std::vector<uint32_t> CallStart; // callersOf(g) is Calls[CallStart[g], CallStart[g + 1])
  std::vector<Call> Calls;
};

// Per function: the registers whose value at entry becomes a syscall number inside the function or
// its callees (bit r = register r).
std::vector<uint16_t> inferWrappers(const Program &p);

// A root of the walk: a function the process runs without a call the analysis sees, and why.
struct Root {
  uint32_t function;
  std::string reason;
};

// Reachability from the roots, breadth first, so the parent chain of each function is a shortest one.
struct Reach {
  static constexpr uint32_t None = UINT32_MAX;
  std::vector<uint32_t> parent;     // caller global id, None for roots
  std::vector<uint64_t> parentSite; // site in the parent
  std::vector<uint32_t> order;      // visit order (BFS)
  std::vector<int32_t> rootOf;      // index into rootReasons for roots
  std::vector<uint8_t> unknownEntry; // entered with unknown registers (root, pointer)
  std::vector<std::string> rootReasons;
  std::vector<uint32_t> depth;
};
// An edge the module models do not hold: code loaded at run time (a dlopen'd library's constructors and
// exports, an NSS module's functions) entered from the function that loads it, at `site`.
struct Attachment {
  uint32_t from;
  uint64_t site;
  uint32_t to;
};
Reach walk(const Program &p, const std::vector<Root> &roots, AnalysisStats &stats,
           const std::vector<Attachment> &attachments = {});

// Every place among the reached functions that makes a system call whose number `matches`: a syscall
// instruction with a constant number (`wrapper` is Reach::None), or a call passing a matching constant in
// a register a syscall wrapper makes its syscall of (`wrappers`: inferWrappers(p); `wrapper` the callee,
// once per such register). In walk order; `visit` returns false to stop.
void forEachSyscallSite(const Program &p, const Reach &r, const std::vector<uint16_t> &wrappers,
                        const std::function<bool(const AbsValue &)> &matches,
                        const std::function<bool(uint32_t g, uint64_t site, uint32_t wrapper)> &visit);

// The evidence for something found at `site` in function g: the root and the chain of calls to it.
Evidence chainTo(const Program &p, const Reach &r, uint32_t g, uint64_t site);

} // namespace bespoke
