/* observe_signals: signals must reach a traced program as they would without the tracer: a handled
 * SIGUSR1, and a child that stops itself (SIGSTOP), is seen stopped by its parent, continued with SIGCONT,
 * and exits 7. Exits 0 when all of that happened (observe_tests). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void onUsr1(int sig) { got = sig; }

int main(void) {
  signal(SIGUSR1, onUsr1);
  raise(SIGUSR1);
  if (got != SIGUSR1) return 2;
  pid_t pid = fork();
  if (pid < 0) return 3;
  if (pid == 0) {
    raise(SIGSTOP);
    _exit(7);
  }
  int status;
  if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) return 4;
  kill(pid, SIGCONT);
  if (waitpid(pid, &status, 0) != pid) return 5;
  return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 6;
}
