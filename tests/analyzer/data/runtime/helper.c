// A program other test programs execute: it makes a syscall nothing else here makes (syncfs, 306).
int main(void) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(306L), "D"(-1L) : "rcx", "r11", "memory");
  return 0;
}
