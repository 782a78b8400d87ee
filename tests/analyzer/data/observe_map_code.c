/* observe_map_code FILE: code arriving without an executable mmap of a file: FILE mapped readable, then
 * made executable with mprotect; and a copy of its first page in a memfd mapped executable. Both are
 * unmapped before exit, so only the tracer's stops at mprotect and mmap can see them (observe_tests). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) return 3;
  char *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return 4;
  close(fd);
  if (mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0) return 5;
  int mem = memfd_create("observe-jit", 0);
  if (mem < 0 || write(mem, p, 4096) != 4096) return 6;
  char *code = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, mem, 0);
  if (code == MAP_FAILED) return 7;
  return munmap(code, 4096) == 0 && munmap(p, 4096) == 0 ? 0 : 8;
}
