/* observe_spawn: posix_spawn of /bin/true (glibc uses clone with CLONE_VM|CLONE_VFORK) (observe_tests). */
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(void) {
  char *argv[] = {"true", 0};
  pid_t pid;
  if (posix_spawn(&pid, "/bin/true", 0, 0, argv, environ) != 0) return 2;
  int status;
  if (waitpid(pid, &status, 0) != pid) return 3;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}
