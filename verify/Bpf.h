// Classic BPF programs as the kernel's seccomp takes them: loading from raw bytes and a reference interpreter.
// Independent of how a filter was produced: the byte format is libseccomp's seccomp_export_bpf (each
// instruction 8 bytes, little-endian: u16 code, u8 jt, u8 jf, u32 k).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/Error.h>

namespace bespoke {

using BpfProgram = std::vector<sock_filter>;

constexpr size_t BpfMaxInstructions = 4096;      // BPF_MAXINSNS
constexpr uint32_t SeccompDataSize = sizeof(seccomp_data); // 64

// Parses raw little-endian 8-byte instructions. Errors: empty input, a length that is not a multiple of 8,
// more than 4096 instructions. Messages start with inputName.
llvm::Expected<BpfProgram> readBpf(llvm::StringRef bytes, const std::string &inputName);

// The inverse of readBpf.
std::string writeBpf(const BpfProgram &prog);

// Runs a filter on one seccomp_data, with the kernel's semantics for the seccomp subset of classic BPF
// (A and X start at 0; division by X == 0 returns 0; shifts by X use X & 31; BPF_LEN is 64).
// Meant for programs that pass checkSafety; on anything else it never crashes: it returns
// SECCOMP_RET_KILL_PROCESS for an unknown opcode, a jump out of range, falling off the end, a load
// past seccomp_data or a scratch index >= 16.
uint32_t runBpf(const BpfProgram &prog, const seccomp_data &data);

// One instruction as text ("ld [0]", "jeq #0x3e jt 3 jf 4", "ret #0x7fff0000", ...), for messages.
std::string disassemble(const sock_filter &insn);

// A seccomp_data as "nr=0x.. arch=0x.. ip=0x.. args=[0x..,...]".
std::string describe(const seccomp_data &data);

} // namespace bespoke
