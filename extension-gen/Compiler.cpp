// Compiler: Policy -> classic-BPF seccomp program. See extension-gen/README.md for the program shape.
//
// Code is generated into a small IR with symbolic labels, laid out in one forward order, and then
// jumps are resolved; conditional jumps (8-bit jt/jf) whose target is more than 255 instructions away
// get a `ja` (32-bit k) trampoline right after them, repeated until nothing is out of range.

#include "extension-gen/Compiler.h"

#include "seccomp/Interpreter.h"

#include <algorithm>
#include <optional>
#include <tuple>

namespace bespoke {

// ---------------------------------------------------------------------------------------------------
// IR

namespace {

constexpr uint32_t kOffNr = 0, kOffArch = 4, kOffArgs = 16;

struct Node {
  bool isLabel = false;
  int label = -1;      // for labels
  uint16_t code = 0;   // for instructions
  uint32_t k = 0;
  int jt = -1, jf = -1; // label ids: conditional jumps use both, BPF_JA uses jt
};

bool isCondJump(uint16_t code) {
  return BPF_CLASS(code) == BPF_JMP && BPF_OP(code) != BPF_JA;
}

class Builder {
public:
  std::vector<Node> nodes;
  int labels = 0;

  int newLabel() { return labels++; }
  void place(int l) {
    Node n;
    n.isLabel = true;
    n.label = l;
    nodes.push_back(n);
  }
  void stmt(uint16_t code, uint32_t k) {
    Node n;
    n.code = code;
    n.k = k;
    nodes.push_back(n);
  }
  void ret(uint32_t v) { stmt(BPF_RET | BPF_K, v); }
  void load(uint32_t off) { stmt(BPF_LD | BPF_W | BPF_ABS, off); }
  void jump(uint16_t op, uint32_t k, int jt, int jf) {
    Node n;
    n.code = BPF_JMP | op | BPF_K;
    n.k = k;
    n.jt = jt;
    n.jf = jf;
    nodes.push_back(n);
  }
  // Conditional jump: to `target` when `op` holds, else falls through (or the reverse).
  void jumpIf(uint16_t op, uint32_t k, int target) {
    int next = newLabel();
    jump(op, k, target, next);
    place(next);
  }
  void jumpUnless(uint16_t op, uint32_t k, int target) {
    int next = newLabel();
    jump(op, k, next, target);
    place(next);
  }
  void ja(int target) {
    Node n;
    n.code = BPF_JMP | BPF_JA;
    n.jt = target;
    nodes.push_back(n);
  }
  size_t instructionCount() const {
    return std::count_if(nodes.begin(), nodes.end(), [](const Node &n) { return !n.isLabel; });
  }
};

uint32_t lo32(uint64_t v) { return static_cast<uint32_t>(v); }
uint32_t hi32(uint64_t v) { return static_cast<uint32_t>(v >> 32); }

// Emits code that falls through when `c` holds and jumps to `fail` otherwise.
void emitCondition(Builder &b, const ArgCondition &c, int fail) {
  const uint32_t offLo = kOffArgs + 8 * c.arg, offHi = offLo + 4;
  switch (c.op) {
  case ArgCondition::Equal:
    b.load(offLo);
    b.jumpUnless(BPF_JEQ, lo32(c.a), fail);
    b.load(offHi);
    b.jumpUnless(BPF_JEQ, hi32(c.a), fail);
    return;
  case ArgCondition::MaskedEqual: {
    if ((c.a & ~c.mask) != 0) { // (v & mask) can never have those bits
      b.ja(fail);
      return;
    }
    const std::pair<uint32_t, uint32_t> halves[2] = {{offLo, 0}, {offHi, 32}};
    for (auto [off, shift] : halves) {
      uint32_t m = static_cast<uint32_t>(c.mask >> shift), a = static_cast<uint32_t>(c.a >> shift);
      if (m == 0)
        continue; // a's half is 0 too (checked above): always holds
      b.load(off);
      if (m != 0xffffffffU)
        b.stmt(BPF_ALU | BPF_AND | BPF_K, m);
      b.jumpUnless(BPF_JEQ, a, fail);
    }
    return;
  }
  case ArgCondition::InRange: {
    if (c.a > c.b) {
      b.ja(fail);
      return;
    }
    if (c.a != 0) { // v >= a: high word above, or equal and low word >= low(a)
      int ok = b.newLabel();
      b.load(offHi);
      b.jumpIf(BPF_JGT, hi32(c.a), ok);
      if (hi32(c.a) != 0) // not above 0 means equal to 0
        b.jumpUnless(BPF_JEQ, hi32(c.a), fail);
      b.load(offLo);
      b.jump(BPF_JGE, lo32(c.a), ok, fail);
      b.place(ok);
    }
    if (c.b != ~0ULL) { // v <= b: high word below, or equal and low word <= low(b)
      int ok = b.newLabel();
      b.load(offHi);
      if (hi32(c.b) != 0xffffffffU) // nothing is above 0xffffffff
        b.jumpIf(BPF_JGT, hi32(c.b), fail);
      b.jumpUnless(BPF_JEQ, hi32(c.b), ok);
      b.load(offLo);
      b.jump(BPF_JGT, lo32(c.b), fail, ok);
      b.place(ok);
    }
    return;
  }
  }
}

// A run of syscall numbers [start, next range's start) with one outcome.
struct Range {
  uint32_t start = 0;
  bool ret = true;      // a leaf that returns `action`
  uint32_t action = 0;
  const SyscallRule *rule = nullptr; // when !ret: the argument checks of this rule
};

std::vector<Range> buildRanges(const Policy &p) {
  std::vector<Range> out;
  auto add = [&](uint32_t start, Range r) {
    r.start = start;
    if (r.ret && !out.empty() && out.back().ret && out.back().action == r.action)
      return; // merge with the previous range
    out.push_back(r);
  };
  uint32_t next = 0;
  for (const SyscallRule &r : p.allowed) {
    uint32_t nr = static_cast<uint32_t>(r.nr);
    if (nr > next)
      add(next, Range{0, true, p.defaultAction.value(), nullptr});
    if (r.unconditional())
      add(nr, Range{0, true, r.action.value(), nullptr});
    else
      add(nr, Range{0, false, 0, &r});
    next = nr + 1;
  }
  if (next < Policy::X32SyscallBit)
    add(next, Range{0, true, p.defaultAction.value(), nullptr});
  // x32 numbers (and everything above) fold into the search as one more range, except nr == -1:
  // a tracer's "skip this syscall" is not an x32 call and gets the default action (as libseccomp does).
  add(Policy::X32SyscallBit, Range{0, true, p.badArchAction.value(), nullptr});
  add(Policy::SkippedSyscall, Range{0, true, p.defaultAction.value(), nullptr});
  return out;
}

void emitLeaf(Builder &b, const Range &r, const Policy &p) {
  if (r.ret) {
    b.ret(r.action);
    return;
  }
  for (const auto &alt : r.rule->alternatives) {
    int nextAlt = b.newLabel();
    for (const ArgCondition &c : alt)
      emitCondition(b, c, nextAlt);
    b.ret(r.rule->action.value());
    b.place(nextAlt);
  }
  b.ret(p.defaultAction.value());
}

// The search tree is kept compact so that its jumps stay short: subtrees of at most this many ranges
// share their `ret` instructions (their jumps go straight to one `ret` per action placed after the
// subtree: no extra instruction on any path, about half the instructions), and the argument checks of
// conditional syscalls are placed after the whole tree (one `ja` trampoline on those paths, which load
// arguments anyway, instead of longer jumps, and so trampolines, on everyone's path).
constexpr size_t kPooledSubtreeRanges = 64;

// Where conditional syscalls' argument checks go.
enum class Layout { Inline, AfterSubtree, AtEnd };

struct TreeState {
  Layout layout = Layout::AtEnd;
  std::vector<std::pair<int, const Range *>> deferred; // conditional leaves: label, range
};

// Emits the subtree over ranges[lo, hi) and returns the label control should jump to; leaves resolve
// to labels in `pool` (action value -> label, in first-use order) or to deferred argument checks.
int emitPooledNode(Builder &b, const std::vector<Range> &ranges, size_t lo, size_t hi,
                   std::vector<std::pair<uint32_t, int>> &pool, TreeState &st) {
  if (hi - lo == 1) {
    const Range &r = ranges[lo];
    if (!r.ret) {
      st.deferred.push_back({b.newLabel(), &r});
      return st.deferred.back().first;
    }
    for (const auto &[action, label] : pool)
      if (action == r.action)
        return label;
    pool.push_back({r.action, b.newLabel()});
    return pool.back().second;
  }
  size_t mid = lo + (hi - lo) / 2;
  int self = b.newLabel();
  b.place(self);
  size_t jumpIndex = b.nodes.size();
  b.jump(BPF_JGE, ranges[mid].start, -1, -1);
  int left = emitPooledNode(b, ranges, lo, mid, pool, st);
  int right = emitPooledNode(b, ranges, mid, hi, pool, st);
  b.nodes[jumpIndex].jt = right;
  b.nodes[jumpIndex].jf = left;
  return self;
}

// Balanced binary search over ranges[lo, hi): depth ceil(log2(hi - lo)).
void emitTree(Builder &b, const std::vector<Range> &ranges, size_t lo, size_t hi, const Policy &p,
              TreeState &st) {
  if (hi - lo == 1) {
    emitLeaf(b, ranges[lo], p);
    return;
  }
  if (hi - lo <= kPooledSubtreeRanges &&
      (st.layout != Layout::Inline ||
       std::all_of(ranges.begin() + lo, ranges.begin() + hi, [](const Range &r) { return r.ret; }))) {
    std::vector<std::pair<uint32_t, int>> pool;
    emitPooledNode(b, ranges, lo, hi, pool, st);
    for (const auto &[action, label] : pool) {
      b.place(label);
      b.ret(action);
    }
    if (st.layout == Layout::AfterSubtree) {
      for (const auto &[label, range] : st.deferred) {
        b.place(label);
        emitLeaf(b, *range, p);
      }
      st.deferred.clear();
    }
    return;
  }
  size_t mid = lo + (hi - lo) / 2;
  int right = b.newLabel(), left = b.newLabel();
  b.jump(BPF_JGE, ranges[mid].start, right, left); // nr >= start of the right half
  b.place(left);
  emitTree(b, ranges, lo, mid, p, st);
  b.place(right);
  emitTree(b, ranges, mid, hi, p, st);
}

llvm::Error tooLong(size_t n) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "policy needs %zu instructions, more than the kernel's %zu", n,
                                 BpfMaxInstructions);
}

// Lays out the nodes, inserting trampolines until every conditional jump is in range.
llvm::Expected<BpfProgram> resolve(std::vector<Node> nodes, int labelCount) {
  for (;;) {
    size_t count = 0;
    std::vector<long> labelPos(labelCount, -1);
    std::vector<long> insnPos(nodes.size(), -1);
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].isLabel)
        labelPos[nodes[i].label] = static_cast<long>(count);
      else
        insnPos[i] = static_cast<long>(count++);
    }
    if (count > BpfMaxInstructions)
      return tooLong(count);
    auto dist = [&](size_t i, int label) { return labelPos[label] - insnPos[i] - 1; };
    std::vector<Node> fixed;
    bool changed = false;
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node n = nodes[i];
      if (n.isLabel || !isCondJump(n.code)) {
        fixed.push_back(n);
        continue;
      }
      bool farT = dist(i, n.jt) > 255, farF = dist(i, n.jf) > 255;
      if (!farT && !farF) {
        fixed.push_back(n);
        continue;
      }
      changed = true;
      int origT = n.jt, origF = n.jf;
      int tT = farT ? labelCount++ : -1, tF = farF ? labelCount++ : -1;
      if (farT)
        n.jt = tT;
      if (farF)
        n.jf = tF;
      fixed.push_back(n);
      if (farT) {
        fixed.push_back(Node{true, tT, 0, 0, -1, -1});
        fixed.push_back(Node{false, -1, BPF_JMP | BPF_JA, 0, origT, -1});
      }
      if (farF) {
        fixed.push_back(Node{true, tF, 0, 0, -1, -1});
        fixed.push_back(Node{false, -1, BPF_JMP | BPF_JA, 0, origF, -1});
      }
    }
    if (changed) {
      nodes = std::move(fixed);
      continue;
    }
    BpfProgram prog;
    prog.reserve(count);
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node &n = nodes[i];
      if (n.isLabel)
        continue;
      sock_filter f{n.code, 0, 0, n.k};
      if (n.code == (BPF_JMP | BPF_JA)) {
        long d = dist(i, n.jt);
        if (d < 0)
          return llvm::createStringError(llvm::inconvertibleErrorCode(), "internal: backward jump");
        f.k = static_cast<uint32_t>(d);
      } else if (isCondJump(n.code)) {
        long dt = dist(i, n.jt), df = dist(i, n.jf);
        if (dt < 0 || df < 0)
          return llvm::createStringError(llvm::inconvertibleErrorCode(), "internal: backward jump");
        f.jt = static_cast<uint8_t>(dt);
        f.jf = static_cast<uint8_t>(df);
      }
      prog.push_back(f);
    }
    return prog;
  }
}

} // namespace

namespace {
llvm::Expected<BpfProgram> compileWithLayout(const Policy &p, Layout layout) {
  Builder b;
  // Architecture first: a foreign arch's numbers mean other syscalls.
  b.load(kOffArch);
  int archOk = b.newLabel(), bad = b.newLabel();
  b.jump(BPF_JEQ, Policy::AuditArchX86_64, archOk, bad);
  b.place(bad);
  b.ret(p.badArchAction.value());
  b.place(archOk);
  b.load(kOffNr);
  std::vector<Range> ranges = buildRanges(p);
  TreeState st;
  st.layout = layout;
  emitTree(b, ranges, 0, ranges.size(), p, st);
  for (const auto &[label, range] : st.deferred) {
    b.place(label);
    emitLeaf(b, *range, p);
  }

  size_t base = b.instructionCount();
  if (base > BpfMaxInstructions)
    return tooLong(base);
  return resolve(std::move(b.nodes), b.labels);
}
} // namespace

llvm::Expected<BpfProgram> compilePolicy(const Policy &p) {
  long prev = -1;
  for (const SyscallRule &r : p.allowed) {
    if (r.nr < 0 || static_cast<uint32_t>(r.nr) >= Policy::X32SyscallBit)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "rule '%s': syscall number %d out of range", r.name.c_str(),
                                     r.nr);
    if (r.nr <= prev)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "rule '%s': rules must be sorted by number and unique",
                                     r.name.c_str());
    prev = r.nr;
    for (const auto &alt : r.alternatives)
      for (const ArgCondition &c : alt)
        if (c.arg > 5)
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         "rule '%s': argument index %u > 5", r.name.c_str(),
                                         static_cast<unsigned>(c.arg));
  }

  // Three layouts (conditional checks after the whole tree / after their subtree / inline in the tree,
  // the last without shared rets around them): keep the one that fits
  // and gives unconditional syscalls the shorter worst (then mean) path, then the shorter program.
  Policy uncond;
  for (const SyscallRule &r : p.allowed)
    if (r.unconditional())
      uncond.allowed.push_back(r);
  std::optional<BpfProgram> best;
  PathStats bestStats;
  llvm::Error firstError = llvm::Error::success();
  for (Layout layout : {Layout::AtEnd, Layout::AfterSubtree, Layout::Inline}) {
    auto prog = compileWithLayout(p, layout);
    if (!prog) {
      if (firstError)
        llvm::consumeError(prog.takeError());
      else
        firstError = prog.takeError();
      continue;
    }
    PathStats s = pathLengths(*prog, uncond);
    if (!best || std::tie(s.worst, s.mean) < std::tie(bestStats.worst, bestStats.mean) ||
        (s.worst == bestStats.worst && s.mean == bestStats.mean && prog->size() < best->size())) {
      best = std::move(*prog);
      bestStats = s;
    }
  }
  if (best) {
    llvm::consumeError(std::move(firstError));
    return std::move(*best);
  }
  return firstError;
}

size_t rangeCount(const Policy &p) { return buildRanges(p).size(); }

} // namespace bespoke
