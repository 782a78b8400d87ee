// stopcont: a sleeping program that is stopped and continued, the way job control, debuggers and
// freezers do it. A stopped task's sleeping syscalls (nanosleep, futex with a timeout) resume through
// their restart blocks, i.e. the kernel makes them call restart_syscall, which no code here calls.
//
//   stopcont sleep MS    the worker: one thread blocked in futex(FUTEX_WAIT) with an MS timeout, the main
//                        thread in nanosleep(MS); prints "slept" and "futex timed out", exits 0
//   stopcont self MS     forks the worker, stops it (SIGSTOP) a third of the way in, continues it
//                        (SIGCONT) a little later, and checks that it exited 0 by itself: prints
//                        "stopcont: ok" and exits 0 (for images, where nobody outside sends signals)
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long ms;
static int word;

static struct timespec span(long millis) {
  struct timespec t = {millis / 1000, (millis % 1000) * 1000000L};
  return t;
}

static void *waiter(void *arg) {
  (void)arg;
  struct timespec t = span(ms);
  long rc = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
  if (rc == -1 && errno == ETIMEDOUT) {
    puts("futex timed out");
    return NULL;
  }
  printf("futex: unexpected result %ld (%s)\n", rc, strerror(errno));
  exit(1);
}

static int worker(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, waiter, NULL) != 0) return 1;
  struct timespec t0 = span(ms);
  while (nanosleep(&t0, &t0) == -1 && errno == EINTR) {}
  puts("slept");
  fflush(stdout);
  pthread_join(t, NULL);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "sleep") && strcmp(argv[1], "self")) || (ms = atol(argv[2])) <= 0) {
    fprintf(stderr, "usage: stopcont sleep|self MILLISECONDS\n");
    return 2;
  }
  if (!strcmp(argv[1], "sleep")) return worker();
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) _exit(worker());
  struct timespec third = span(ms / 3), pause = span(ms / 5);
  nanosleep(&third, NULL);
  if (kill(child, SIGSTOP) != 0) return 1;
  nanosleep(&pause, NULL);
  if (kill(child, SIGCONT) != 0) return 1;
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    puts("stopcont: ok");
    return 0;
  }
  printf("stopcont: worker %s %d\n", WIFSIGNALED(status) ? "killed by signal" : "exited", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  return 1;
}
