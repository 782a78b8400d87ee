// syscall(SYS_socket, ...) through glibc's syscall(): its arguments shift by one register; the other
// syscall() calls (other numbers, other values) do not count for socket.
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long fd = syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0);
  syscall(SYS_ioctl, argc, FIONREAD, argv);
  close((int)fd);
  return 0;
}
