// NetPrograms: a NetPolicy (ebpf/NetPolicy.h) as one eBPF program per cgroup network hook, generated directly
// as struct bpf_insn (no clang, no libbpf objects). Takes a NetPolicy, knows nothing of manifests or of how
// programs are loaded (NetAttach.h). See extension-gen/README.md, "Network policy programs (eBPF)".
#pragma once

#include "ebpf/NetPolicy.h"
#include "ebpf/Program.h"

#include "llvm/Support/Error.h"

#include <cstddef>
#include <vector>

namespace bespoke {

// The program for one hook. Its verdict (r0 at exit: 1 allow, 0 refuse) equals allows(policy, event) for
// every context the hook can present. Deterministic: the same policy gives the same bytes.
// Errors: a destination whose family is not AF_INET or AF_INET6, a program longer than EbpfMaxInstructions.
llvm::Expected<EbpfProgram> compileNetProgram(const NetPolicy &policy, NetHook hook);

// One program per hook, in AllNetHooks order. Errors as compileNetProgram (the first one).
llvm::Expected<std::vector<EbpfProgram>> compileNetPrograms(const NetPolicy &policy);

} // namespace bespoke
