// No C library at all (-nostdlib -static): the only system calls in the binary are the two inline
// `syscall` instructions below, so the footprint must be exactly {exit, getpid}.
__attribute__((noinline)) long raw_getpid(void) {
  long ret;
  __asm__ volatile("mov $39, %%eax\n\tsyscall" : "=a"(ret) : : "rcx", "r11", "memory");
  return ret;
}

__attribute__((noreturn)) void _start(void) {
  long pid = raw_getpid();
  __asm__ volatile("mov $60, %%eax\n\tsyscall" : : "D"(pid > 0 ? 0L : 1L) : "rax", "rcx", "r11", "memory");
  __builtin_unreachable();
}
