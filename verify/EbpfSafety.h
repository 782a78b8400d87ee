// Would the kernel load this eBPF network-policy program, and does it stay inside the small subset whose
// meaning verify/ models exactly (EbpfEquivalence.h)? A deliberately narrow, conservative check: every
// program it accepts the Linux 6.1 verifier accepts too, not the other way round.
#pragma once

#include <cstdint>
#include <vector>

#include "ebpf/Program.h"

#include <llvm/Support/Error.h>

namespace bespoke {

// A context field a program of this hook may read (4 bytes at `offset`), as ebpf/Program.h documents.
struct ContextField {
  int16_t offset;
  const char *name; // "family", "user_ip6[2]", ...
};

// SockCreate: family, type, protocol of struct bpf_sock. Address hooks: user_ip4 (v4 hooks only) or
// user_ip6[0..3] (v6 hooks only: the kernel's sock_addr_is_valid_access refuses the other version's
// field), and user_port.
std::vector<ContextField> readableContextFields(NetHook hook);

// Success, or a ProofError (verify/Equivalence.h) of kind KernelWouldRefuse whose message is one line
// naming the first problem's instruction: "insn 3 (r2 = *(u32 *)(r1 +28)): ...". Refuses:
//  * no instructions, or more than 4096;
//  * anything outside: LDX MEM W through a register holding the context pointer (r1 at entry, or a register
//    it was copied to with a 64-bit mov), at a readable field; ALU64/ALU32 add, sub, and, or, xor, lsh,
//    rsh, mov with K or X (constant shifts below the width); JMP/JMP32 conditional jumps with K or X; JA;
//    EXIT (no calls, no stores, no 64-bit immediates, no division, no r10, no non-zero reserved fields);
//  * backward jumps (termination), jump targets past the end, falling off the end, unreachable instructions
//    (the kernel's check_cfg refuses them);
//  * reading a register that is not written on every path to it, using the context pointer as a number
//    (or a register that holds it on one path only);
//  * EXIT where r0 is not written on every path, or is not 0 or 1 on every path by a simple rule (a mov of
//    0 or 1, `&= 1`, or a copy of such a register): the kernel demands r0 in [0, 1] (bind: [0, 3], where
//    bit 1 means something else), and this rule is one its range tracking always follows.
llvm::Error checkEbpfSafety(const EbpfProgram &p);

} // namespace bespoke
