// Classic BPF programs: raw byte format, disassembly and seccomp_data text, shared by the compiler
// (extension-gen/), the prover (verify/) and the CLI.
#include "seccomp/Bpf.h"

#include <cstdio>
#include <cstring>
#include <sstream>

namespace bespoke {

llvm::Expected<BpfProgram> readBpf(llvm::StringRef bytes, const std::string &inputName) {
  auto fail = [&](const std::string &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "%s: %s", inputName.c_str(), msg.c_str());
  };
  if (bytes.empty())
    return fail("empty file: a BPF program has at least one instruction");
  if (bytes.size() % 8 != 0)
    return fail(std::to_string(bytes.size()) + " bytes is not a whole number of 8-byte BPF instructions");
  size_t n = bytes.size() / 8;
  if (n > BpfMaxInstructions)
    return fail(std::to_string(n) + " instructions is more than the kernel's limit of " +
                std::to_string(BpfMaxInstructions));
  BpfProgram prog(n);
  auto u8 = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])); };
  for (size_t i = 0; i < n; ++i) {
    size_t o = i * 8;
    prog[i].code = static_cast<uint16_t>(u8(o) | (u8(o + 1) << 8));
    prog[i].jt = static_cast<uint8_t>(u8(o + 2));
    prog[i].jf = static_cast<uint8_t>(u8(o + 3));
    prog[i].k = u8(o + 4) | (u8(o + 5) << 8) | (u8(o + 6) << 16) | (u8(o + 7) << 24);
  }
  return prog;
}

std::string writeBpf(const BpfProgram &prog) {
  std::string out;
  out.reserve(prog.size() * 8);
  for (const auto &in : prog) {
    out.push_back(static_cast<char>(in.code & 0xff));
    out.push_back(static_cast<char>(in.code >> 8));
    out.push_back(static_cast<char>(in.jt));
    out.push_back(static_cast<char>(in.jf));
    for (int s = 0; s < 32; s += 8)
      out.push_back(static_cast<char>((in.k >> s) & 0xff));
  }
  return out;
}

std::string disassemble(const sock_filter &f, size_t pc) {
  char buf[96];
  const uint16_t c = f.code;
  const bool x = BPF_SRC(c) == BPF_X;
  auto print = [&](const char *format, auto... args) {
    std::snprintf(buf, sizeof buf, format, args...);
    return std::string(buf);
  };
  auto unknown = [&] { return print("op 0x%04x #0x%x, %u, %u", c, f.k, f.jt, f.jf); };
  if (c > 0xff)
    return unknown();
  switch (BPF_CLASS(c)) {
  case BPF_LD:
  case BPF_LDX: {
    const char *op = BPF_CLASS(c) == BPF_LD ? "ld" : "ldx";
    if (BPF_MODE(c) == BPF_IMM && BPF_SIZE(c) == BPF_W)
      return print("%s #0x%x", op, f.k);
    if (BPF_MODE(c) == BPF_MEM && BPF_SIZE(c) == BPF_W)
      return print("%s M[%u]", op, f.k);
    if (BPF_MODE(c) == BPF_LEN && BPF_SIZE(c) == BPF_W)
      return print("%s len", op);
    if (BPF_CLASS(c) == BPF_LD && BPF_MODE(c) == BPF_ABS) {
      const char *size = BPF_SIZE(c) == BPF_W ? "" : BPF_SIZE(c) == BPF_H ? "h" : BPF_SIZE(c) == BPF_B ? "b" : "?";
      return print("ld%s [%u]", size, f.k);
    }
    return unknown();
  }
  case BPF_ST:
    return c == BPF_ST ? print("st M[%u]", f.k) : unknown();
  case BPF_STX:
    return c == BPF_STX ? print("stx M[%u]", f.k) : unknown();
  case BPF_ALU: {
    static const char *const names[16] = {"add", "sub", "mul", "div", "or", "and", "lsh", "rsh",
                                          "neg", "mod", "xor", nullptr, nullptr, nullptr, nullptr, nullptr};
    const char *name = names[BPF_OP(c) >> 4];
    if (!name)
      return unknown();
    if (BPF_OP(c) == BPF_NEG)
      return name;
    return x ? print("%s x", name) : print("%s #0x%x", name, f.k);
  }
  case BPF_JMP: {
    if (BPF_OP(c) == BPF_JA)
      return print("ja %zu", pc + 1 + static_cast<size_t>(f.k));
    const char *name = BPF_OP(c) == BPF_JEQ ? "jeq" : BPF_OP(c) == BPF_JGT ? "jgt" : BPF_OP(c) == BPF_JGE ? "jge"
                       : BPF_OP(c) == BPF_JSET ? "jset" : nullptr;
    if (!name)
      return unknown();
    size_t t = pc + 1 + f.jt, e = pc + 1 + f.jf;
    return x ? print("%s x, %zu, %zu", name, t, e) : print("%s #0x%x, %zu, %zu", name, f.k, t, e);
  }
  case BPF_RET:
    if (c & 0xe0)
      return unknown();
    if (BPF_RVAL(c) == BPF_A)
      return "ret a";
    return BPF_RVAL(c) == BPF_K ? print("ret #0x%08x", f.k) : unknown();
  case BPF_MISC:
    if (BPF_MISCOP(c) == BPF_TAX)
      return "tax";
    return BPF_MISCOP(c) == BPF_TXA ? "txa" : unknown();
  }
  return unknown();
}

static std::string hex(uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

std::string describe(const seccomp_data &d) {
  std::string s = "nr=" + hex(static_cast<uint32_t>(d.nr)) + " arch=" + hex(d.arch) +
                  " ip=" + hex(d.instruction_pointer) + " args=[";
  for (int i = 0; i < 6; ++i)
    s += (i ? "," : "") + hex(d.args[i]);
  return s + "]";
}

seccomp_data makeSeccompData(uint32_t nr, uint32_t arch, uint64_t ip, const uint64_t *args) {
  seccomp_data d{};
  d.nr = static_cast<int>(nr);
  d.arch = arch;
  d.instruction_pointer = ip;
  if (args)
    for (int i = 0; i < 6; ++i)
      d.args[i] = args[i];
  return d;
}

} // namespace bespoke
