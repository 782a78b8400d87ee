// main calls yield_fn only through a volatile function pointer; sched_yield is linked into this static
// musl binary only because yield_fn calls it. Address-taken over-approximation must find it.
//
// Built with -falign-functions=1 and led by first_in_text so that no function ends in alignment padding
// right before yield_fn: the analyzer treats padding at the end of a function as falling through into the
// next one, which would make yield_fn reachable without the function pointer (crtbegin's frame_dummy
// ends with `jmp; nop` and is followed by this file's first function).
#include <sched.h>

__attribute__((noinline, used)) void first_in_text(void) {}

__attribute__((noinline)) void yield_fn(void) { sched_yield(); }

int main(void) {
  void (*volatile fp)(void) = yield_fn;
  fp();
  return 0;
}
