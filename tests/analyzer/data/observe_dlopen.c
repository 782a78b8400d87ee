/* observe_dlopen LIBRARY [close]: dlopens LIBRARY and calls its observe_plugin_value; with "close",
 * dlcloses it before exiting, so it is no longer mapped at exit (observe_tests). */
#include <dlfcn.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) return 3;
  int (*value)(void) = (int (*)(void))dlsym(lib, "observe_plugin_value");
  if (!value || value() != 42) return 4;
  if (argc > 2 && strcmp(argv[2], "close") == 0 && dlclose(lib) != 0) return 5;
  return 0;
}
