/* observe_daemon PIDFILE PROGRAM ARGS...: daemonizes the classic way (fork, setsid, fork), the grandchild
 * writing its pid to PIDFILE and executing PROGRAM; the middle process exits once that exec has happened
 * and the original process exits 0 right after it (observe_tests). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  pid_t middle = fork();
  if (middle < 0) return 3;
  if (middle == 0) {
    int ready[2];
    if (setsid() < 0 || pipe2(ready, O_CLOEXEC) != 0) _exit(4);
    pid_t daemon = fork();
    if (daemon < 0) _exit(5);
    if (daemon == 0) {
      FILE *f = fopen(argv[1], "w");
      if (!f) _exit(6);
      fprintf(f, "%d\n", (int)getpid());
      fclose(f);
      execv(argv[2], argv + 2);
      _exit(127);
    }
    close(ready[1]);
    char c;
    while (read(ready[0], &c, 1) > 0) {
    } /* end of file: the daemon's exec closed the pipe */
    _exit(0);
  }
  int status;
  if (waitpid(middle, &status, 0) != middle) return 7;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 8;
}
