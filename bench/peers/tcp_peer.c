/* The TCP stream peers: `tcp_peer sink` or `tcp_peer source`. Binds 127.0.0.1:0, prints {"port"},
 * and serves one connection at a time until killed.
 *   sink:   reads (64 KiB at a time) until end of stream, then writes back the byte count as 8 bytes
 *           (little-endian uint64) and closes; the client's clock stops when that count arrives.
 *   source: writes 64 KiB chunks as fast as it can until the client goes away (EPIPE/ECONNRESET). */
#include <signal.h>

#include "common.h"

#define CHUNK 65536

int main(int argc, char** argv) {
  int source = argc > 1 && strcmp(argv[1], "source") == 0;
  signal(SIGPIPE, SIG_IGN);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int port = bind_any(fd);
  if (listen(fd, 16) < 0) die("listen");
  printf("{\"port\":%d}\n", port);
  fflush(stdout);
  static char buf[CHUNK];
  memset(buf, 'x', sizeof buf);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    if (source) {
      for (;;) {
        ssize_t w = write(c, buf, sizeof buf);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
      }
    } else {
      uint64_t total = 0;
      for (;;) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        total += (uint64_t)n;
      }
      unsigned char out[8];
      for (int i = 0; i < 8; i++) out[i] = (unsigned char)(total >> (8 * i));
      (void)!write(c, out, sizeof out);
    }
    close(c);
  }
}
