// A function reached only through a pointer in data, in a PIE linked with packed relative relocations
// (-z pack-relative-relocs: the pointer's relocation is in DT_RELR, as in glibc 2.36's own libc.so.6).
// Its inline syscall (acct, which nothing else here makes) is in the footprint only if DT_RELR is read.
#include <stddef.h>

__attribute__((noinline)) static long only_through_data(long arg) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(163L), "D"(arg) : "rcx", "r11", "memory");
  return ret;
}

long (*volatile const table[])(long) = {only_through_data};

int main(int argc, char **argv) {
  (void)argv;
  return argc > 5 ? (int)table[0](0) : 0;
}
