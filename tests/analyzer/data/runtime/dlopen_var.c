// dlopen of a name chosen at run time (argv[1]), and of a constant name no directory holds.
#include <dlfcn.h>
int main(int argc, char **argv) {
  if (argc > 2) return dlopen("libbespoke_nowhere.so.9", RTLD_NOW) == 0;
  return argc > 1 && dlopen(argv[1], RTLD_NOW) == 0;
}
