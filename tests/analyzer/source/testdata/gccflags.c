/* Compiled with gcc-only flags and -Werror; a warning clang would raise must not fail the parse. */
#include <stddef.h>
#include <unistd.h>
static int unused_fn(void) { return 0; }
int gcc_flags(void) { size_t n = sizeof(int); int x; return (int)n + getpid(); }
