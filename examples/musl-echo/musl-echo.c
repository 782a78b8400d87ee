// musl-echo: a tiny TCP echo server for bespoke's corpus (static musl, no dynamic loader).
//
// usage: musl-echo PORT N [PORTFILE]
// Listens on 127.0.0.1:PORT (0 = any free port), serves clients with poll(2), echoing every byte back,
// and exits 0 after N connections have been accepted and closed. With PORTFILE, the bound port is
// written there (via a temporary file and rename) once the server is listening. SIGPIPE is ignored
// and a per-connection byte count goes to stderr when a client closes.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 16

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void write_port_file(const char *path, unsigned port) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) die("fopen port file");
  fprintf(f, "%u\n", port);
  if (fclose(f) != 0) die("fclose port file");
  if (rename(tmp, path) != 0) die("rename port file");
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s PORT N [PORTFILE]\n", argv[0]);
    return 2;
  }
  long port = strtol(argv[1], NULL, 10), want = strtol(argv[2], NULL, 10);
  if (port < 0 || port > 65535 || want < 1) {
    fprintf(stderr, "musl-echo: bad PORT or N\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket");
  int one = 1;
  if (setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) die("setsockopt");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
  if (listen(ls, 8) != 0) die("listen");
  socklen_t alen = sizeof addr;
  if (getsockname(ls, (struct sockaddr *)&addr, &alen) != 0) die("getsockname");
  if (argc == 4) write_port_file(argv[3], ntohs(addr.sin_port));

  struct pollfd fds[1 + MAX_CLIENTS];
  long bytes[1 + MAX_CLIENTS];
  int nfds = 1;
  long accepted = 0, closed = 0;
  fds[0] = (struct pollfd){.fd = ls, .events = POLLIN};
  while (closed < want) {
    int r = poll(fds, (nfds_t)nfds, 30000);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("poll");
    if (r == 0) {
      fprintf(stderr, "musl-echo: no activity for 30 s, giving up\n");
      return 1;
    }
    for (int i = nfds - 1; i >= 1; i--) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      ssize_t off = 0;
      while (n > 0 && off < n) {
        ssize_t w = write(fds[i].fd, buf + off, (size_t)(n - off));
        if (w <= 0) { n = -1; break; }
        off += w;
      }
      if (n > 0) { bytes[i] += n; continue; }
      fprintf(stderr, "musl-echo: connection closed after %ld bytes\n", bytes[i]);
      close(fds[i].fd);
      fds[i] = fds[nfds - 1];
      bytes[i] = bytes[nfds - 1];
      nfds--;
      closed++;
    }
    if ((fds[0].revents & POLLIN) && accepted < want && nfds < 1 + MAX_CLIENTS) {
      int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) die("accept4");
      fds[nfds] = (struct pollfd){.fd = c, .events = POLLIN};
      bytes[nfds] = 0;
      nfds++;
      if (++accepted == want) fds[0].events = 0; // stop accepting
    }
  }
  close(ls);
  return 0;
}
