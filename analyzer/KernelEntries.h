// KernelEntries: system calls a running process can issue although no code of the program calls them.
// Static analysis of the program's code cannot find them, so they are added to every footprint (and to
// every policy built from an older manifest that lacks them), each with an evidence root that says why.
// The list and its reasons are documented in manifests/README.md ("Kernel-issued system calls").
#pragma once

#include "analyzer/Footprint.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bespoke {

struct KernelIssuedSyscall {
  std::string_view name; // kernel name, e.g. "restart_syscall"
  std::string_view root; // evidence root, e.g. "kernel: signal restart"
};

// Every kernel-issued syscall, sorted by name:
//  - restart_syscall: a sleeping call (nanosleep, clock_nanosleep, futex or poll with a timeout, ...)
//    interrupted by a signal that runs no handler (SIGSTOP then SIGCONT, a freezer, ptrace attach)
//    resumes through its restart block: the kernel makes the task call restart_syscall on return.
//  - clock_gettime, gettimeofday, clock_getres: the vDSO, which the kernel maps into every process and
//    libc (or a language runtime) calls through pointers the analysis does not follow, falls back to
//    these syscalls when the clock source cannot be read from user space (e.g. no stable TSC under TCG).
const std::vector<KernelIssuedSyscall> &kernelIssuedSyscalls();

// True when `name` is on the list above.
bool isKernelIssued(std::string_view name);

// True when an evidence root marks a kernel-issued entry ("kernel: ..."): its chain is empty.
bool isKernelRoot(std::string_view root);

// True when every evidence entry of `s` is a kernel root: the syscall is in the footprint only because
// the kernel can issue it, not because the program's code calls it.
bool onlyKernelIssued(const SyscallUse &s);

// Adds each kernel-issued syscall the footprint lacks, with its kernel root and an empty chain, keeping
// `syscalls` sorted by name.
void addKernelIssuedSyscalls(Footprint &fp);

// The legacy vsyscall page (0xffffffffff600000): calling one of its three entry points makes the kernel
// emulate, and seccomp check, a syscall. Returns its number (gettimeofday, time, getcpu), or -1 for any
// other address.
int vsyscallNumber(uint64_t address);

} // namespace bespoke
