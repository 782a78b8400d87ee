/* observe_static: linked -static, so the kernel maps it alone: no interpreter, no libraries. */
#include <unistd.h>

int main(void) { return write(1, "static\n", 7) == 7 ? 0 : 1; }
