// AbstractState: the abstract value operations and the join of states (see AbstractState.h).
#include "analyzer/AbstractState.h"

#include <algorithm>

namespace bespoke {

namespace {

// Constants stay a sorted set without duplicates after an operation maps them.
void normalizeConstants(AbsValue &v) {
  std::sort(v.c, v.c + v.n);
  v.n = uint8_t(std::unique(v.c, v.c + v.n) - v.c);
}

} // namespace

bool AbsValue::operator==(const AbsValue &o) const {
  if (kind != o.kind)
    return false;
  switch (kind) {
  case Const:
    return n == o.n && std::equal(c, c + n, o.c);
  case Entry:
    return reg == o.reg;
  case Derived:
    return reg == o.reg && n == o.n && std::equal(c, c + n, o.c);
  case Stack:
    return c[0] == o.c[0];
  default:
    return true;
  }
}

AbsValue AbsValue::join(const AbsValue &o) const {
  if (kind == Bot)
    return o;
  if (o.kind == Bot)
    return *this;
  if (*this == o)
    return *this;
  if (kind == Const && o.kind == Const) {
    uint64_t merged[2 * MaxConsts];
    uint64_t *end = std::set_union(c, c + n, o.c, o.c + o.n, merged);
    if (end - merged > MaxConsts)
      return top();
    AbsValue v;
    v.kind = Const;
    v.n = uint8_t(end - merged);
    std::copy(merged, end, v.c);
    return v;
  }
  return top();
}

AbsValue AbsValue::plus(int64_t k) const {
  if (kind == Const) {
    AbsValue r = *this;
    for (int i = 0; i < r.n; ++i) r.c[i] += uint64_t(k);
    std::sort(r.c, r.c + r.n);
    return r;
  }
  if (kind == Stack) return stack(int64_t(c[0]) + k);
  return top();
}

AbsValue AbsValue::zeroExtended32() const {
  if (kind == Stack) return top();
  AbsValue v = *this;
  if (kind == Const) {
    for (int i = 0; i < v.n; ++i) v.c[i] &= 0xffffffffULL;
    normalizeConstants(v);
  }
  return v;
}

AbsValue AbsValue::signExtended32() const {
  if (kind == Stack) return top(); // a derived value stays: its upper half is not modelled
  AbsValue v = *this;
  if (kind == Const) {
    for (int i = 0; i < v.n; ++i) v.c[i] = uint64_t(int64_t(int32_t(uint32_t(v.c[i]))));
    normalizeConstants(v);
  }
  return v;
}

uint64_t AbsValue::apply32(DerivedOp op, uint64_t k, uint64_t x) {
  uint32_t a = uint32_t(x), b = uint32_t(k);
  switch (op) {
  case Add32: return uint32_t(a + b);
  case And32: return a & b;
  case Or32: return a | b;
  case Shl32: return uint32_t(a << (b & 31)); // the CPU masks a 32-bit shift count to 5 bits
  case Shr32: return a >> (b & 31);
  }
  return a;
}

AbsValue AbsValue::op32(DerivedOp op, uint64_t k) const {
  if (kind == Const) {
    AbsValue v = *this;
    for (int i = 0; i < v.n; ++i) v.c[i] = apply32(op, k, v.c[i]);
    normalizeConstants(v);
    return v;
  }
  if (kind == Entry || kind == Derived) {
    AbsValue v = *this;
    if (kind == Entry) {
      v.kind = Derived;
      v.n = 0;
    }
    if (v.n + 2 > MaxConsts) return top();
    v.c[v.n] = op;
    v.c[v.n + 1] = uint64_t(uint32_t(k));
    v.n = uint8_t(v.n + 2);
    return v;
  }
  return top();
}

uint64_t AbsValue::evaluate(uint64_t x) const {
  x = uint32_t(x);
  if (kind != Derived) return x;
  for (int i = 0; i + 1 < n; i += 2) x = apply32(DerivedOp(c[i]), c[i + 1], x);
  return x;
}

AbsValue AbsValue::after(const AbsValue &arg) const {
  if (arg.kind != Entry && arg.kind != Derived) return top();
  if (kind == Entry) return arg;
  if (kind != Derived) return top();
  AbsValue v = arg;
  if (v.kind == Entry) {
    v.kind = Derived;
    v.n = 0;
  }
  if (v.n + n > MaxConsts) return top();
  std::copy(c, c + n, v.c + v.n);
  v.n = uint8_t(v.n + n);
  return v;
}

AbsValue AbsValue::withLowByte(uint8_t byte) const {
  if (kind != Const) return top();
  AbsValue v = *this;
  for (int i = 0; i < v.n; ++i) v.c[i] = (v.c[i] & ~0xffULL) | byte;
  normalizeConstants(v);
  return v;
}

State State::atFunctionEntry() {
  State s;
  s.reached = true;
  for (int r = 0; r < NumGprs; ++r) s.reg[r] = AbsValue::entry(r);
  s.reg[RSP] = AbsValue::stack(0);
  return s;
}

State State::unknown() {
  State s;
  s.reached = true;
  return s;
}

AbsValue State::slot(int64_t off) const {
  for (auto &[o, v] : slots)
    if (o == off)
      return v;
  return AbsValue::top();
}

void State::setSlot(int64_t off, const AbsValue &v) {
  for (auto &[o, x] : slots)
    if (o == off) { x = v; return; }
  slots.push_back({off, v});
  std::sort(slots.begin(), slots.end(), [](auto &a, auto &b) { return a.first < b.first; });
}

void State::killSlotsAround(int64_t off) {
  slots.erase(std::remove_if(slots.begin(), slots.end(), [&](auto &s) { return s.first > off - 8 && s.first < off + 8; }),
              slots.end());
}

bool State::joinWith(const State &o) {
  if (!o.reached)
    return false;
  if (!reached) { *this = o; return true; }
  bool changed = false;
  for (int r = 0; r < NumGprs; ++r) {
    AbsValue j = reg[r].join(o.reg[r]);
    if (j != reg[r]) { reg[r] = j; changed = true; }
  }
  std::vector<std::pair<int64_t, AbsValue>> kept;
  for (auto &[off, v] : slots) {
    AbsValue j = v.join(o.slot(off));
    if (j.kind != AbsValue::Top)
      kept.push_back({off, j});
  }
  if (kept.size() != slots.size()) changed = true;
  else for (size_t i = 0; i < kept.size(); ++i) if (kept[i].second != slots[i].second) changed = true;
  slots = std::move(kept);
  return changed;
}

} // namespace bespoke
