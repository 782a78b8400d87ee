// dlopen of a constant name, found through the caller's DT_RUNPATH ($ORIGIN/plugins), as ld.so finds it.
#include <dlfcn.h>
#include <stdio.h>
int main(void) {
  void *h = dlopen("libbespoke_plugin.so", RTLD_NOW);
  printf("%s\n", h ? "loaded" : dlerror());
  return h == NULL;
}
