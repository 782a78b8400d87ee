// Install: puts a seccomp program into effect for the calling process, the last step before exec.
#pragma once

#include "llvm/Support/Error.h"

#include "seccomp/Bpf.h"

#include <vector>

namespace bespoke {

// Sets no_new_privs and installs `prog` with SECCOMP_FILTER_FLAG_TSYNC, so every thread of the process
// is filtered (and the call fails rather than leaving a thread unfiltered). Irreversible on success.
// Errors name the step that failed (prctl / seccomp) with errno's text.
llvm::Error installFilter(const BpfProgram &prog);

} // namespace bespoke
