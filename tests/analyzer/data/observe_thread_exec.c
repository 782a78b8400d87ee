/* observe_thread_exec: a second thread executes /bin/true while the main thread waits for it, so the
 * exec comes from a thread that is not the process's leader (observe_tests). */
#include <pthread.h>
#include <unistd.h>

static void *run(void *arg) {
  (void)arg;
  execl("/bin/true", "true", (char *)0);
  return 0;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, 0, run, 0) != 0) return 2;
  pthread_join(t, 0); /* never returns: the exec replaces the whole process */
  return 3;
}
