/* The benchmark's echo peer: the physical limit of the other side. `echo udp` or `echo tcp` binds
 * 127.0.0.1:0, prints {"port":N} on stdout, and echoes every datagram (or, for each accepted
 * connection in turn, every read) back until killed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int tcp = argc > 1 && strcmp(argv[1], "tcp") == 0;
  int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr*)&a, &len) < 0) {
    perror("echo");
    return 1;
  }
  printf("{\"port\":%d}\n", ntohs(a.sin_port));
  fflush(stdout);
  char buf[65536];
  if (!tcp) {
    for (;;) {
      struct sockaddr_in from;
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr*)&from, &flen);
      if (n >= 0) sendto(fd, buf, n, 0, (struct sockaddr*)&from, flen);
    }
  }
  listen(fd, 16);
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) continue;
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = write(c, buf + off, n - off);
        if (w <= 0) break;
        off += w;
      }
    }
    close(c);
  }
}
