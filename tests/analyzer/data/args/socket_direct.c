// socket() with constants, directly from main: the facts are the constants (type without SOCK_CLOEXEC).
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  int a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int b = socket(AF_UNIX, SOCK_DGRAM, 0);
  close(a);
  close(b);
  return 0;
}
