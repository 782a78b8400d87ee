// Static musl program using open/read/write/socket. Under strace (musl 1.2, x86-64) the kernel sees
// open (not openat), read, write, socket, close and exit_group.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  (void)argc;
  char buf[16];
  int fd = open(argv[0], O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf);
  write(1, "ok\n", 3);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  close(s);
  close(fd);
  return n == (ssize_t)sizeof buf ? 0 : 1;
}
