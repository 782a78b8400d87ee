// Calls the kernel through glibc's syscall(2) wrapper with constant numbers: the analyzer must see
// through the wrapper (number in %rdi at the call) and report getpid and gettid with main in the chain.
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  long pid = syscall(SYS_getpid);
  long tid = syscall(SYS_gettid);
  return pid > 0 && tid > 0 ? 0 : 1;
}
