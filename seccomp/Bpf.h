// Classic BPF programs as the kernel's seccomp takes them: the program type, the kernel's limits, the raw
// byte format and the one disassembler. Independent of how a filter was produced: the byte format is
// libseccomp's seccomp_export_bpf (each instruction 8 bytes, little-endian: u16 code, u8 jt, u8 jf, u32 k).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/Error.h>

namespace bespoke {

using BpfProgram = std::vector<sock_filter>;

constexpr size_t BpfMaxInstructions = BPF_MAXINSNS;        // 4096: the kernel refuses longer filters
constexpr uint32_t SeccompDataSize = sizeof(seccomp_data); // 64: what BPF_LEN loads

// Parses raw little-endian 8-byte instructions. Errors: empty input, a length that is not a multiple of 8,
// more than 4096 instructions. Messages start with inputName.
llvm::Expected<BpfProgram> readBpf(llvm::StringRef bytes, const std::string &inputName);

// The inverse of readBpf.
std::string writeBpf(const BpfProgram &prog);

// The instruction at index `pc` as one line of assembly, jump targets as absolute indexes: "ld [4]",
// "jeq #0x3e, 3, 4", "ja 17", "ret #0x7fff0000", "and #0xff", "ld M[2]", "add x", "tax", ...; an opcode
// seccomp does not know as "op 0xCODE #0xK, JT, JF". Used by the C header and by verify's messages.
std::string disassemble(const sock_filter &insn, size_t pc);

// A seccomp_data as "nr=0x.. arch=0x.. ip=0x.. args=[0x..,...]".
std::string describe(const seccomp_data &data);

// A seccomp_data from its fields (args may be null: all zero).
seccomp_data makeSeccompData(uint32_t nr, uint32_t arch, uint64_t ip = 0, const uint64_t *args = nullptr);

} // namespace bespoke
