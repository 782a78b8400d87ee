// socket() through two levels of helpers that pass their parameters on (noipa: GCC may not specialise
// them for the constants): the facts are the constants the callers pass.
#include <sys/socket.h>
#include <unistd.h>

__attribute__((noipa)) static int open_socket(int domain, int type) { return socket(domain, type, 0); }
__attribute__((noipa)) static int open_stream(int domain) { return open_socket(domain, SOCK_STREAM | SOCK_NONBLOCK); }

int main(int argc, char **argv) {
  int a = open_stream(AF_INET);
  int b = open_stream(AF_INET6);
  int c = open_socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC);
  close(a);
  close(b);
  close(c);
  return 0;
}
