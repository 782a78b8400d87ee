// The concrete interpreter for the eBPF network programs (verify/EbpfSafety.h's subset), shared like
// seccomp/Interpreter: verify/ replays its counterexamples on it, and the tests of what extension-gen generates
// run programs on it. The Z3 encoding (verify/EbpfEquivalence.cpp) is written independently from the kernel's
// rules, so a mistake in either shows up as a counterexample that does not reproduce.
#pragma once

#include <cstdint>
#include <vector>

#include "ebpf/NetPolicy.h"
#include "ebpf/Program.h"

namespace bespoke {

// The context the hook would pass for this event, byte for byte (ebpf/Program.h): struct bpf_sock with
// family, type and protocol for SockCreate; struct bpf_sock_addr with user_family, user_ip4 (v4 hooks) or
// user_ip6 (v6 hooks) in memory order and user_port (network byte order, zero-extended) for the others.
std::vector<uint8_t> netContext(const NetEvent &event);

// Runs the program on netContext(event) with r1 pointing at it; returns r0 at exit. For programs
// checkEbpfSafety accepts only: anything outside its subset (an unknown opcode, a load outside the context,
// a jump out of range, more steps than instructions) returns RunFailed.
inline constexpr uint64_t RunFailed = ~uint64_t{0};
uint64_t runNetProgram(const EbpfProgram &p, const NetEvent &event);
// The same on context bytes the caller made (e.g. netContext's with junk where the kernel puts zeros).
uint64_t runNetProgram(const EbpfProgram &p, const std::vector<uint8_t> &context);

} // namespace bespoke
