// Executes a program chosen at run time (argv[1]), through a wrapper that passes its argument on.
#include <unistd.h>
__attribute__((noinline)) static int run(const char *path, char **argv) { return execv(path, argv); }
int main(int argc, char **argv) { return argc > 1 ? run(argv[1], argv + 1) : 0; }
