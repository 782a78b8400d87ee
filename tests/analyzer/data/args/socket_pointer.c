// A helper whose address is taken (called through a pointer the analysis does not follow): its
// parameter reaching socket() is any, whatever the direct call passes.
#include <sys/socket.h>
#include <unistd.h>

__attribute__((noipa)) static int open_socket(int domain) { return socket(domain, SOCK_STREAM, 0); }
int (*volatile opener)(int) = open_socket;

int main(int argc, char **argv) {
  int a = open_socket(AF_INET);
  int b = opener(argc);
  close(a);
  close(b);
  return 0;
}
