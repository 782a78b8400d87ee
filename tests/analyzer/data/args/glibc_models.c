// Dynamic glibc program reaching the libc functions whose arguments glibc computes from data or from its
// own arguments, where the analysis needs a model of glibc 2.36 (analyzer/LibcFacts.h): tcsetattr's
// ioctl request, the clone flags __clone_internal passes for pthread_create and posix_spawn, and
// getaddrinfo's source-address probe sockets.
#include <netdb.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

static void *worker(void *arg) { return arg; }

int main(int argc, char **argv) {
  struct termios t;
  if (tcgetattr(0, &t) == 0) tcsetattr(0, argc > 5 ? TCSADRAIN : TCSANOW, &t);
  pthread_t th;
  if (pthread_create(&th, NULL, worker, NULL) == 0) pthread_join(th, NULL);
  pid_t pid;
  char *args[] = {"/bin/true", NULL};
  if (posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ) == 0) waitpid(pid, NULL, 0);
  struct addrinfo *ai = NULL;
  if (argc > 1 && getaddrinfo(argv[1], "80", NULL, &ai) == 0) freeaddrinfo(ai);
  puts("ok");
  return 0;
}
