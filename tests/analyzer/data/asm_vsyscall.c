// No C library (-nostdlib -static, non-PIE): the legacy vsyscall page, called the two ways old static
// glibc and hand-written code did. The kernel emulates each entry point as a syscall (and seccomp checks
// it under that number): a register call to 0xffffffffff600000 is gettimeofday, a direct call to
// 0xffffffffff600400 is time. Then exit through a real `syscall`.
__attribute__((noreturn)) void _start(void) {
  long tv[2];
  __asm__ volatile("mov $0xffffffffff600000, %%rax\n\tcall *%%rax"
                   : : "D"(tv), "S"(0L) : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
  __asm__ volatile("call 0xffffffffff600400" : : "D"(0L) : "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory");
  __asm__ volatile("mov $60, %%eax\n\tsyscall" : : "D"(0L) : "rax", "rcx", "r11", "memory");
  __builtin_unreachable();
}
