// A threaded program that changes its ids: glibc broadcasts the set*id syscall to every thread (the
// SIGSETXID handler and __nptl_setxid read the syscall number from memory).
#include <grp.h>
#include <pthread.h>
#include <unistd.h>
static void *idle(void *arg) { return arg; }
int main(void) {
  pthread_t t;
  pthread_create(&t, 0, idle, 0);
  pthread_join(t, 0);
  return setgid(0) | setuid(0) | setgroups(0, 0);
}
