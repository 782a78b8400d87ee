/* observe_fork_shell: forks, and the child executes /bin/sh -c 'echo hi | cat' (observe_tests). */
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "echo hi | cat", (char *)0);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) return 3;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}
