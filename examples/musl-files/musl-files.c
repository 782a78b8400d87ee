// musl-files: a small file-walking program for bespoke's corpus (static musl, one extra thread).
//
// usage: musl-files DIR SUMMARY
// Walks DIR recursively (opendir/readdir, lstat), and a worker thread (pthread_create) reads every
// regular file and computes its size and FNV-1a hash, while the main thread keeps walking. The summary
// written to SUMMARY is:
//   files N
//   bytes B
//   fnv HASH        (XOR of per-file "path\0content" FNV-1a hashes: independent of walk order)
//   nonce X         (16 hex digits from getrandom)
//   elapsed_ns T    (clock_gettime(CLOCK_MONOTONIC))
// Exit status 0 on success, 1 on any I/O error.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct queue {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char **paths;
  size_t len, cap, next;
  int done;
};

static struct queue q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0};
static uint64_t total_files, total_bytes, total_hash;
static int failed;

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static void push(char *path) {
  pthread_mutex_lock(&q.mu);
  if (q.len == q.cap) {
    q.cap = q.cap ? 2 * q.cap : 64;
    q.paths = realloc(q.paths, q.cap * sizeof *q.paths);
    if (!q.paths) abort();
  }
  q.paths[q.len++] = path;
  pthread_cond_signal(&q.cv);
  pthread_mutex_unlock(&q.mu);
}

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&q.mu);
    while (q.next == q.len && !q.done) pthread_cond_wait(&q.cv, &q.mu);
    if (q.next == q.len) { pthread_mutex_unlock(&q.mu); return NULL; }
    char *path = q.paths[q.next++];
    pthread_mutex_unlock(&q.mu);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { perror(path); failed = 1; continue; }
    uint64_t h = fnv(14695981039346656037ull, (const unsigned char *)path, strlen(path) + 1);
    unsigned char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      h = fnv(h, buf, (size_t)n);
      total_bytes += (uint64_t)n;
    }
    if (n < 0) { perror(path); failed = 1; }
    close(fd);
    total_hash ^= h;
    total_files++;
  }
}

static void walk(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) { perror(dir); failed = 1; return; }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    size_t n = strlen(dir) + strlen(e->d_name) + 2;
    char *path = malloc(n);
    if (!path) abort();
    snprintf(path, n, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) { perror(path); failed = 1; free(path); continue; }
    if (S_ISDIR(st.st_mode)) { walk(path); free(path); }
    else if (S_ISREG(st.st_mode)) push(path);
    else free(path);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DIR SUMMARY\n", argv[0]);
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t nonce = 0;
  if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) { perror("getrandom"); return 1; }

  pthread_t th;
  int err = pthread_create(&th, NULL, worker, NULL);
  if (err) { fprintf(stderr, "pthread_create: %s\n", strerror(err)); return 1; }
  walk(argv[1]);
  pthread_mutex_lock(&q.mu);
  q.done = 1;
  pthread_cond_broadcast(&q.cv);
  pthread_mutex_unlock(&q.mu);
  pthread_join(th, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);

  FILE *out = fopen(argv[2], "w");
  if (!out) { perror(argv[2]); return 1; }
  int64_t ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
  fprintf(out, "files %" PRIu64 "\nbytes %" PRIu64 "\nfnv %016" PRIx64 "\nnonce %016" PRIx64 "\nelapsed_ns %" PRId64 "\n",
          total_files, total_bytes, total_hash, nonce, ns);
  if (fclose(out) != 0) { perror(argv[2]); return 1; }
  return failed;
}
