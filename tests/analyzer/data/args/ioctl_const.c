// ioctl with constant requests, one through a helper.
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

__attribute__((noipa)) static int request(int fd, unsigned long req, void *arg) { return ioctl(fd, req, arg); }

int main(void) {
  struct winsize ws;
  int n;
  ioctl(0, TIOCGWINSZ, &ws);
  request(0, FIONREAD, &n);
  return 0;
}
