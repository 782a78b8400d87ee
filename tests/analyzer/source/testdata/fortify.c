/* Compiled with -O2 -D_FORTIFY_SOURCE=2: glibc's read() is an inline-only wrapper (gnu_inline) that
   calls __read_alias, whose assembler label is "read". Plus a C99 inline-only definition. */
#include <unistd.h>
int fortified(int fd, char *buf) { return (int)read(fd, buf, 10); } /* M:call_read */
inline int c99_inline(int x) { return x; }
int use_inline(int x) { return c99_inline(x); }
