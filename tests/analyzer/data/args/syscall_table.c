// syscall() behind a table of pointers, as libcap calls it (_cap_syscall3): the number is the helper's
// first argument, passed at a pointer call the analysis cannot see, so the site is unresolved.
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) static long call3(long nr, long a, long b, long c) { return syscall(nr, a, b, c); }

struct ops {
  long (*three)(long, long, long, long);
};
static volatile struct ops table = {call3};

int main(void) { return table.three(SYS_getppid, 0, 0, 0) > 0 ? 0 : 1; }
