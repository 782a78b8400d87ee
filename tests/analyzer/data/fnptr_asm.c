// No C library (-nostdlib -static, -falign-functions=1): _start reaches yield_fn only through a volatile
// function pointer, and yield_fn's inline `syscall` is the binary's only sched_yield. The footprint must be
// exactly {exit, sched_yield}, found through the address-taken over-approximation.
__attribute__((noinline)) void yield_fn(void) {
  __asm__ volatile("mov $24, %%eax\n\tsyscall" : : : "rax", "rcx", "r11", "memory");
}

__attribute__((noreturn)) void _start(void) {
  void (*volatile fp)(void) = yield_fn;
  fp();
  __asm__ volatile("mov $60, %%eax\n\txor %%edi, %%edi\n\tsyscall" : : : "rax", "rdi", "rcx", "r11", "memory");
  __builtin_unreachable();
}
