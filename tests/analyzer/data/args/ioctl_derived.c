// An ioctl request computed from a helper's argument (as glibc's tcsetattr computes TCSETS + action) and
// a flag word built from one with shifts and masks (as libsystemd's fork helper builds clone's flags):
// the facts are the values computed from the constants the callers pass.
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((noipa)) static int set_term(int fd, int action, void *buf) { return ioctl(fd, 0x5402 + action, buf); }
__attribute__((noipa)) static int open_kind(unsigned flags) {
  return socket(AF_UNIX, ((flags << 3) & 0x8) | 0x1 | SOCK_CLOEXEC, 0); // SOCK_STREAM, or 0x9 when bit 0 is set
}

int main(int argc, char **argv) {
  char buf[64];
  set_term(0, 0, buf);
  set_term(0, 2, buf);
  int s = open_kind(4); // bit 0 clear: the type stays SOCK_STREAM
  if (s >= 0) close(s);
  return 0;
}
