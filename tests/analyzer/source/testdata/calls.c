/* Calls, function pointers and entry points. The test finds lines by the M: markers. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int shared_fn(int x); /* defined in other.c */

static int helper(int x) { return x + 1; } /* M:def_helper */
static int add1(int x) { return x + 1; }
static long wide(long x) { return x; }
static void on_signal(int sig) { (void)sig; }
static void *thread_main(void *arg) { return arg; }
static void at_exit_fn(void) {}
static int compare(const void *a, const void *b) { return memcmp(a, b, 1); }
__attribute__((constructor)) static void init_fn(void) {}
__attribute__((destructor)) static void fini_fn(void) {}
static void stored(int x) { (void)x; }
static int casted(int a, int b) { return a + b; }
static int never_used(int a) { return a; }

static void cleanup_fn(int *p) { (void)p; }

void (*table[])(int) = {stored}; /* M:table */

__asm__(".globl raw_exit\nraw_exit:\n\tmov $60, %eax\n\tsyscall\n"); /* M:toplevel_asm */

int main(int argc, char **argv) {
  int (*fp)(int) = add1;                          /* M:take_add1 */
  int r = helper(argc);                           /* M:call_helper */
  r += fp(r);                                     /* M:call_fp */
  r += shared_fn(r);                              /* M:call_shared */
  signal(SIGINT, on_signal);                      /* M:signal */
  pthread_t t;
  pthread_create(&t, NULL, thread_main, NULL);    /* M:pthread */
  atexit(at_exit_fn);                             /* M:atexit */
  qsort(argv, (size_t)argc, sizeof *argv, compare); /* M:qsort */
  void *erased = (void *)casted;                  /* M:erase */
  r += ((int (*)(int))erased)(r);                 /* M:call_cast */
  table[0](r);                                    /* M:call_table */
  long (*wp)(long) = wide;
  r += (int)wp(2);                                /* M:call_wide */
  __asm__ volatile("syscall" : : "a"(39) : "rcx", "r11", "memory"); /* M:asm */
  r += (int)sizeof(never_used(1));
  int scoped __attribute__((cleanup(cleanup_fn))) = r; /* M:cleanup */
  return r;
}
