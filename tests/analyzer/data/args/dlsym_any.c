// Looks up a function named on the command line: any exported function (libc's socket among them) may be
// called with arguments the analysis never sees.
#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && dlsym(RTLD_DEFAULT, argv[1]) == NULL) return 1;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s >= 0) close(s);
  return 0;
}
