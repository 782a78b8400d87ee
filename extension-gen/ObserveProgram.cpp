// ObserveProgram: the observe-mode program's classes and instructions (ObserveProgram.h, ebpf/Observe.h).
//
// The recorder, after the decision (r6 = ctx, r7 = nr, r8 = class; r6..r9 survive helper calls):
//
//     if r8 == 0 goto out
//     *(u64 *)(r10 -56) = r7                      key.nr
//     *(u64 *)(r10 -48 .. -8) = 0                 key.args[0..5]
//     r9 = *(u64 *)(r6 +0)                        ctx->args[0]: the task's struct pt_regs *
//     per argument i:  r1 = r8; r1 &= 1<<i; if r1 == 0 goto +6;
//                      r1 = r10; r1 += -48+8i; r2 = 8; r3 = r9; r3 += PtRegsArgOffset[i];
//                      call probe_read_kernel     (a failed read leaves 0: the stack was zeroed)
//     r1 = events; r2 = r10; r2 += -56; call map_lookup_elem
//     if r0 != 0 goto count
//     r1 = r6; r2 = stacks; r3 = BPF_F_USER_STACK; call get_stackid
//     *(u64 *)(r10 -72) = 1; *(u64 *)(r10 -64) = r0         value {count 1, stack id}
//     r1 = events; r2 = r10; r2 += -56; r3 = r10; r3 += -72; r4 = BPF_NOEXIST; call map_update_elem
//     if r0 == 0 goto out
//     r1 = events; r2 = r10; r2 += -56; call map_lookup_elem   (another CPU inserted it meanwhile?)
//     if r0 != 0 goto count
//     *(u32 *)(r10 -76) = 0; r1 = lost; r2 = r10; r2 += -76; call map_lookup_elem
//     if r0 == 0 goto out
//   count:
//     r1 = 1; lock *(u64 *)(r0 +0) += r1
//   out:
//     r0 = 0; exit
#include "extension-gen/ObserveProgram.h"

#include "ebpf/Program.h"

#include <algorithm>
#include <map>

namespace bespoke {

namespace {

llvm::Error err(const llvm::Twine &msg) { return llvm::createStringError(llvm::inconvertibleErrorCode(), msg); }

class Emitter {
public:
  std::vector<bpf_insn> insns;

  int newLabel() {
    labelPos.push_back(-1);
    return static_cast<int>(labelPos.size() - 1);
  }
  void place(int label) { labelPos[label] = static_cast<long>(insns.size()); }
  void emit(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    insns.push_back(makeInsn(code, dst, src, off, imm));
  }
  void mov(uint8_t dst, int32_t k) { emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, k); }
  void movReg(uint8_t dst, uint8_t src) { emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
  void add(uint8_t dst, int32_t k) { emit(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, k); }
  void call(int32_t helper) { emit(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
  void loadMapFd(uint8_t dst, int fd) { // BPF_LD_MAP_FD: two instructions
    emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
    emit(0, 0, 0, 0, 0);
  }
  void jump(uint8_t code, uint8_t reg, int32_t k, int label) {
    fixups.emplace_back(insns.size(), label);
    emit(code, reg, 0, 0, k);
  }
  void ja(int label) { jump(BPF_JMP | BPF_JA, 0, 0, label); }
  llvm::Error finish() {
    if (insns.size() > 4096) return err("the observe program has " + llvm::Twine(insns.size()) +
                                        " instructions, more than the kernel's 4096");
    for (auto [at, label] : fixups) insns[at].off = static_cast<int16_t>(labelPos[label] - static_cast<long>(at) - 1);
    return llvm::Error::success();
  }

private:
  std::vector<long> labelPos;
  std::vector<std::pair<size_t, int>> fixups;
};

constexpr uint8_t kCtx = 6, kNr = 7, kClass = 8, kRegs = 9;

// The search tree over ranges[l..r]: each leaf sets the class and jumps to `end`.
void emitTree(Emitter &e, const std::vector<ObserveRange> &ranges, size_t l, size_t r, int end) {
  if (l == r) {
    e.mov(kClass, ranges[l].cls);
    e.ja(end);
    return;
  }
  size_t mid = (l + r) / 2;
  int right = e.newLabel();
  // JMP32 compares the low 32 bits, unsigned, with the immediate as a 32-bit value.
  e.jump(BPF_JMP32 | BPF_JGT | BPF_K, kNr, static_cast<int32_t>(ranges[mid].hi), right);
  emitTree(e, ranges, l, mid, end);
  e.place(right);
  emitTree(e, ranges, mid + 1, r, end);
}

} // namespace

std::vector<ObserveRange> observeRanges(const Policy &policy) {
  std::map<uint32_t, uint8_t> classOf; // numbers with a class other than plain ObserveRecord
  for (const SyscallRule &r : policy.allowed) {
    if (r.nr < 0 || static_cast<uint32_t>(r.nr) >= Policy::X32SyscallBit) continue; // decide() never reaches them
    if (r.unconditional() && r.action == Action{Action::Allow, 0}) {
      classOf[r.nr] = 0;
      continue;
    }
    classOf[r.nr] = ObserveRecord | r.checkedArguments();
  }
  std::vector<ObserveRange> out;
  auto push = [&](uint32_t lo, uint32_t hi, uint8_t cls) {
    if (!out.empty() && out.back().cls == cls && out.back().hi + 1 == lo)
      out.back().hi = hi;
    else
      out.push_back({lo, hi, cls});
  };
  uint64_t next = 0;
  for (auto [nr, cls] : classOf) {
    if (nr > next) push(uint32_t(next), nr - 1, ObserveRecord);
    push(nr, nr, cls);
    next = uint64_t(nr) + 1;
  }
  if (next <= 0xffffffffull) push(uint32_t(next), 0xffffffffu, ObserveRecord);
  return out;
}

llvm::Expected<ObserveProgram> generateObserveProgram(const Policy &policy, const ObserveMaps &maps) {
  for (const SyscallRule &r : policy.allowed)
    if (r.nr < 0) return err("the policy's rule for " + r.name + " has no syscall number");
  std::vector<ObserveRange> ranges = observeRanges(policy);
  Emitter e;
  int out = e.newLabel(), count = e.newLabel(), decided = e.newLabel();

  // Prologue.
  e.movReg(kCtx, 1);
  e.loadMapFd(1, maps.cgroupArray);
  e.mov(2, 0);
  e.call(BPF_FUNC_current_task_under_cgroup); // 1: under it; 0: not; negative: an error
  e.jump(BPF_JMP | BPF_JNE | BPF_K, 0, 1, out);
  e.emit(BPF_LDX | BPF_MEM | BPF_DW, kNr, kCtx, 8, 0); // ctx->args[1]

  ObserveProgram p;
  p.decisionBegin = e.insns.size();
  emitTree(e, ranges, 0, ranges.size() - 1, decided);
  e.place(decided);
  p.decisionEnd = e.insns.size();

  // Recorder.
  e.jump(BPF_JMP | BPF_JEQ | BPF_K, kClass, 0, out);
  e.emit(BPF_STX | BPF_MEM | BPF_DW, 10, kNr, -56, 0);
  for (int i = 0; i < 6; ++i) e.emit(BPF_ST | BPF_MEM | BPF_DW, 10, 0, int16_t(-48 + 8 * i), 0);
  e.emit(BPF_LDX | BPF_MEM | BPF_DW, kRegs, kCtx, 0, 0);
  for (int i = 0; i < 6; ++i) {
    int skip = e.newLabel();
    e.movReg(1, kClass);
    e.emit(BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, 1 << i);
    e.jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, skip);
    e.movReg(1, 10);
    e.add(1, -48 + 8 * i);
    e.mov(2, 8);
    e.movReg(3, kRegs);
    e.add(3, PtRegsArgOffset[i]);
    e.call(BPF_FUNC_probe_read_kernel);
    e.place(skip);
  }
  auto lookupKey = [&](int mapFd, int16_t keyOff) {
    e.loadMapFd(1, mapFd);
    e.movReg(2, 10);
    e.add(2, keyOff);
    e.call(BPF_FUNC_map_lookup_elem);
  };
  lookupKey(maps.events, -56);
  e.jump(BPF_JMP | BPF_JNE | BPF_K, 0, 0, count);
  e.movReg(1, kCtx);
  e.loadMapFd(2, maps.stacks);
  e.mov(3, BPF_F_USER_STACK);
  e.call(BPF_FUNC_get_stackid);
  e.emit(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -72, 1);
  e.emit(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -64, 0);
  e.loadMapFd(1, maps.events);
  e.movReg(2, 10);
  e.add(2, -56);
  e.movReg(3, 10);
  e.add(3, -72);
  e.mov(4, BPF_NOEXIST);
  e.call(BPF_FUNC_map_update_elem);
  e.jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, out);
  lookupKey(maps.events, -56);
  e.jump(BPF_JMP | BPF_JNE | BPF_K, 0, 0, count);
  e.emit(BPF_ST | BPF_MEM | BPF_W, 10, 0, -76, 0);
  lookupKey(maps.lost, -76);
  e.jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, out);
  e.place(count);
  e.mov(1, 1);
  e.emit(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD);
  e.place(out);
  e.mov(0, 0);
  e.emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  if (llvm::Error x = e.finish()) return x;
  p.insns = std::move(e.insns);
  return p;
}

} // namespace bespoke
