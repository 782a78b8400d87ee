// No C library (-nostdlib -static -O2 -fno-toplevel-reorder, 16-byte function alignment, and no .eh_frame,
// whose FDEs would end jumper's extent before its padding and hide the problem): jumper ends with
// a tail jump to target followed by alignment padding, and never_called comes next in .text. never_called
// is called by nobody and its address is taken nowhere, so its sched_yield is unreachable: padding after a
// `jmp` must not count as falling through into the next function.
__attribute__((noreturn)) void _start(void);
void jumper(void);
void never_called(void);
void target(void);

__attribute__((noreturn)) void _start(void) {
  jumper();
  __asm__ volatile("mov $60, %%eax\n\txor %%edi, %%edi\n\tsyscall" : : : "rax", "rdi", "rcx", "r11", "memory");
  __builtin_unreachable();
}

__attribute__((noinline)) void jumper(void) { target(); }

__attribute__((noinline)) void never_called(void) {
  __asm__ volatile("mov $24, %%eax\n\tsyscall" : : : "rax", "rcx", "r11", "memory");
}

__attribute__((noinline)) void target(void) {
  __asm__ volatile("mov $39, %%eax\n\tsyscall" : : : "rax", "rcx", "r11", "memory");
}
