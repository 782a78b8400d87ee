// Program: global ids, linking through the global scope, wrapper inference, the reachability walk and
// evidence chains (see Program.h).
#include "analyzer/Program.h"

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>

namespace bespoke {

Program::Program(std::vector<ProgramModule> modules) : Modules(std::move(modules)) {
  for (const ProgramModule &pm : Modules) {
    Base.push_back(Total);
    Total += uint32_t(pm.model->functions.size());
  }
  // Global scope: modules in load order; the first module exporting a name provides it.
  std::unordered_map<std::string, std::vector<uint32_t>> scope;
  for (size_t m = 0; m < Modules.size(); ++m) {
    std::unordered_map<std::string, std::vector<uint32_t>> mine;
    for (auto &[name, f] : model(m).exports) mine[name].push_back(gid(m, f));
    for (auto &[name, ids] : mine) scope.try_emplace(name, std::move(ids));
  }
  ImportTargets.resize(Modules.size());
  for (size_t m = 0; m < Modules.size(); ++m) {
    const ModuleModel &mm = model(m);
    ImportTargets[m].resize(mm.imports.size());
    for (size_t i = 0; i < mm.imports.size(); ++i) {
      auto it = scope.find(mm.imports[i]);
      if (it != scope.end()) ImportTargets[m][i] = it->second;
    }
  }
  indexCallers();
}

// Callers of every function in one array (counted, then filled): a vector per function would cost a
// hundred thousand allocations on a large closure.
void Program::indexCallers() {
  CallStart.assign(Total + 1, 0);
  std::vector<uint32_t> tg;
  auto forEachCall = [&](auto visit) {
    for (size_t m = 0; m < Modules.size(); ++m)
      for (size_t f = 0; f < model(m).functions.size(); ++f)
        for (const Edge &e : model(m).functions[f].edges) {
          if (e.kind == Edge::AddressTaken || e.indirect) continue;
          targets(m, e, tg);
          for (uint32_t t : tg) visit(gid(m, int32_t(f)), &e, t);
        }
  };
  forEachCall([&](uint32_t, const Edge *, uint32_t t) { ++CallStart[t + 1]; });
  for (uint32_t g = 0; g < Total; ++g) CallStart[g + 1] += CallStart[g];
  Calls.resize(CallStart[Total]);
  std::vector<uint32_t> fill(CallStart.begin(), CallStart.end() - 1);
  forEachCall([&](uint32_t caller, const Edge *e, uint32_t t) { Calls[fill[t]++] = {caller, e}; });
}

std::pair<size_t, int32_t> Program::split(uint32_t g) const {
  size_t m = size_t(std::upper_bound(Base.begin(), Base.end(), g) - Base.begin()) - 1;
  return {m, int32_t(g - Base[m])};
}

const Function &Program::fn(uint32_t g) const {
  auto [m, f] = split(g);
  return model(m).functions[size_t(f)];
}

void Program::targets(size_t m, const Edge &e, std::vector<uint32_t> &out) const {
  out.clear();
  if (e.local >= 0) out.push_back(gid(m, e.local));
  if (e.import >= 0) for (uint32_t t : ImportTargets[m][size_t(e.import)]) out.push_back(t);
}

Frame Program::frame(uint32_t g, uint64_t site) const {
  auto [m, f] = split(g);
  Frame fr;
  fr.module = Modules[m].name;
  fr.symbol = model(m).functionName(f);
  fr.address = site;
  return fr;
}

std::vector<uint16_t> inferWrappers(const Program &p) {
  std::vector<uint16_t> wrap(p.functionCount(), 0);
  std::deque<uint32_t> work;
  for (size_t m = 0; m < p.moduleCount(); ++m)
    for (size_t f = 0; f < p.model(m).functions.size(); ++f)
      for (const SyscallSite &s : p.model(m).functions[f].syscalls)
        if (s.nr.kind == AbsValue::Entry) wrap[p.gid(m, int32_t(f))] |= uint16_t(1u << s.nr.reg);
  for (uint32_t g = 0; g < p.functionCount(); ++g)
    if (wrap[g]) work.push_back(g);
  // A caller passing its own argument on to a wrapper's number register is a wrapper of that argument.
  while (!work.empty()) {
    uint32_t t = work.front();
    work.pop_front();
    for (const Program::Call &c : p.callersOf(t)) {
      uint16_t add = 0;
      for (const RegValue &rv : c.edge->args)
        if ((wrap[t] >> rv.reg & 1) && rv.value.kind == AbsValue::Entry) add |= uint16_t(1u << rv.value.reg);
      if ((wrap[c.caller] | add) != wrap[c.caller]) {
        wrap[c.caller] |= add;
        work.push_back(c.caller);
      }
    }
  }
  return wrap;
}

Reach walk(const Program &p, const std::vector<Root> &roots, AnalysisStats &stats,
           const std::vector<Attachment> &attachments) {
  std::unordered_map<uint32_t, std::vector<const Attachment *>> attachedTo;
  for (const Attachment &a : attachments) attachedTo[a.from].push_back(&a);
  uint32_t total = p.functionCount();
  Reach r;
  r.parent.assign(total, Reach::None);
  r.parentSite.assign(total, 0);
  r.rootOf.assign(total, -1);
  r.unknownEntry.assign(total, 0);
  r.depth.assign(total, 0);
  std::vector<uint8_t> seen(total, 0);
  std::deque<uint32_t> q;
  for (const Root &root : roots) {
    uint32_t g = root.function;
    r.unknownEntry[g] = 1;
    if (seen[g]) continue;
    seen[g] = 1;
    r.rootOf[g] = int32_t(r.rootReasons.size());
    r.rootReasons.push_back(root.reason);
    q.push_back(g);
  }
  std::vector<uint32_t> tg;
  std::set<uint32_t> addrTaken;
  while (!q.empty()) {
    uint32_t g = q.front();
    q.pop_front();
    r.order.push_back(g);
    auto [m, f] = p.split(g);
    for (const Edge &e : p.model(m).functions[size_t(f)].edges) {
      if (e.indirect) { ++stats.indirectCallSites; continue; }
      p.targets(m, e, tg);
      for (uint32_t t : tg) {
        if (e.kind == Edge::AddressTaken) { r.unknownEntry[t] = 1; addrTaken.insert(t); }
        if (seen[t]) continue;
        seen[t] = 1;
        r.parent[t] = g;
        r.parentSite[t] = e.site;
        r.depth[t] = r.depth[g] + 1;
        q.push_back(t);
      }
    }
    // Code loaded at run time: entered from where the program loads it, through pointers (dlsym).
    if (auto it = attachedTo.find(g); it != attachedTo.end())
      for (const Attachment *a : it->second) {
        r.unknownEntry[a->to] = 1;
        if (seen[a->to]) continue;
        seen[a->to] = 1;
        r.parent[a->to] = g;
        r.parentSite[a->to] = a->site;
        r.depth[a->to] = r.depth[g] + 1;
        q.push_back(a->to);
      }
  }
  stats.reachableFunctions = r.order.size();
  stats.addressTakenFunctions = addrTaken.size();
  return r;
}

Evidence chainTo(const Program &p, const Reach &r, uint32_t g, uint64_t site) {
  Evidence ev;
  std::vector<Frame> rev;
  rev.push_back(p.frame(g, site));
  uint32_t cur = g;
  while (r.parent[cur] != Reach::None) {
    rev.push_back(p.frame(r.parent[cur], r.parentSite[cur]));
    cur = r.parent[cur];
  }
  ev.root = r.rootOf[cur] >= 0 ? r.rootReasons[size_t(r.rootOf[cur])] : "unknown";
  ev.chain.assign(rev.rbegin(), rev.rend());
  return ev;
}

void forEachSyscallSite(const Program &p, const Reach &r, const std::vector<uint16_t> &wrappers,
                        const std::function<bool(const AbsValue &)> &matches,
                        const std::function<bool(uint32_t g, uint64_t site, uint32_t wrapper)> &visit) {
  std::vector<uint32_t> targets;
  for (uint32_t g : r.order) {
    auto [m, f] = p.split(g);
    const Function &fn = p.model(m).functions[size_t(f)];
    for (const SyscallSite &s : fn.syscalls)
      if (s.kind == SyscallSite::Syscall && matches(s.nr) && !visit(g, s.site, Reach::None)) return;
    for (const Edge &e : fn.edges) {
      if (e.kind == Edge::AddressTaken || e.indirect) continue;
      if (std::none_of(e.args.begin(), e.args.end(), [&](const RegValue &rv) { return matches(rv.value); })) continue;
      p.targets(m, e, targets);
      for (uint32_t t : targets)
        for (const RegValue &rv : e.args)
          if ((wrappers[t] >> rv.reg & 1) && matches(rv.value) && !visit(g, e.site, t)) return;
    }
  }
}

} // namespace bespoke
