// A domain computed at run time: the fact is any.
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int fd = socket(atoi(argv[0]), SOCK_STREAM, 0);
  close(fd);
  return 0;
}
