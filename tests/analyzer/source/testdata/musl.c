/* Compiled with musl-gcc: must be parsed with musl's headers, not glibc's. */
#include <stdio.h>
#ifdef __GLIBC__
#error "glibc headers used for a musl-gcc command"
#endif
int musl_main(void) { return puts("musl"); }
