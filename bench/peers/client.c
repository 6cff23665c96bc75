/* The C clients: the physical limit of each workload, making the same system calls as the other
 * clients. Each prints one JSON line with its result.
 *   client udp-blast <port> <seconds> <count> sendto|sendmmsg   64-byte datagrams to 127.0.0.1:port
 *          (unconnected, one destination address per datagram) until `seconds` or `count`:
 *          {"sent","seconds","cpu"} (cpu: seconds of CPU time the loop used). Also the flood source of the UDP receive workload.
 *   client udp-rr|tcp-rr <port> <seconds>    one 64-byte request in flight, blocking calls:
 *          {"count","seconds","p50","p99"} (latencies in µs)
 *   client tcp-send <port> <seconds>         64 KiB writes to the sink for `seconds`, then
 *          shutdown(SHUT_WR) and wait for the sink's byte count: {"bytes","seconds"}
 *   client tcp-recv <port> <seconds>         64 KiB reads from the source: {"bytes","seconds"} */
#include "common.h"

#define SIZE 64
#define BATCH 64
#define CHUNK 65536
#define CHECK 256 /* datagrams between clock reads, as in the JS and Python clients */
#define MAXLAT (1u << 22)

static uint32_t lat[MAXLAT];

static int blast(int port, double seconds, unsigned long long count, int mmsg) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in to = loopback(port);
  char buf[SIZE];
  memset(buf, 0, sizeof buf);
  struct mmsghdr msgs[BATCH];
  struct iovec iov = {buf, SIZE};
  for (int i = 0; i < BATCH; i++) {
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov;
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }
  unsigned long long sent = 0;
  double cpu0 = cpu_s();
  double start = now_s(), end = start + seconds, t = start;
  while (sent < count) {
    if (mmsg) {
      unsigned long long want = count - sent < BATCH ? count - sent : BATCH;
      int n = sendmmsg(fd, msgs, (unsigned)want, 0);
      if (n < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN) die("sendmmsg");
      if (n > 0) sent += n;
      if ((t = now_s()) >= end) break;
    } else {
      for (int i = 0; i < CHECK && sent < count; i++) {
        ssize_t n = sendto(fd, buf, SIZE, 0, (struct sockaddr*)&to, sizeof to);
        if (n < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN) die("sendto");
        if (n == SIZE) sent++;
      }
      if ((t = now_s()) >= end) break;
    }
  }
  t = now_s();
  printf("{\"sent\":%llu,\"seconds\":%.6f,\"cpu\":%.6f}\n", sent, t - start, cpu_s() - cpu0);
  return 0;
}

static int rr(int tcp, int port, double seconds) {
  int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  struct sockaddr_in to = loopback(port);
  if (fd < 0 || connect(fd, (struct sockaddr*)&to, sizeof to) < 0) die("connect");
  int one = 1;
  if (tcp) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char out[SIZE], in[2048];
  memset(out, 1, sizeof out);
  size_t n = 0;
  uint64_t start = 0, end = 0, prev = 0;
  for (long i = -200;; i++) { /* 200 round trips of warm-up */
    if (i == 0) {
      start = prev = now_ns();
      end = start + (uint64_t)(seconds * 1e9);
    }
    if (send(fd, out, SIZE, 0) != SIZE) die("send");
    ssize_t got = 0;
    while (got < SIZE) {
      ssize_t r = recv(fd, in, sizeof in, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) die("recv");
      got += r;
    }
    if (i >= 0) {
      uint64_t t = now_ns();
      if (n < MAXLAT) lat[n] = (uint32_t)(t - prev);
      n++;
      prev = t;
      if (t >= end) break;
    }
  }
  double p50, p99;
  size_t kept = n < MAXLAT ? n : MAXLAT;
  percentiles(lat, kept, &p50, &p99);
  printf("{\"count\":%zu,\"seconds\":%.6f,\"p50\":%.3f,\"p99\":%.3f}\n", n, (prev - start) / 1e9, p50, p99);
  return 0;
}

static int stream(int recv_side, int port, double seconds) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in to = loopback(port);
  if (fd < 0 || connect(fd, (struct sockaddr*)&to, sizeof to) < 0) die("connect");
  static char buf[CHUNK];
  memset(buf, 'y', sizeof buf);
  unsigned long long bytes = 0;
  double start = now_s(), end = start + seconds, t;
  if (recv_side) {
    do {
      ssize_t r = read(fd, buf, CHUNK);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) die("read");
      bytes += r;
    } while ((t = now_s()) < end);
  } else {
    do {
      size_t off = 0;
      while (off < CHUNK) {
        ssize_t w = write(fd, buf + off, CHUNK - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        off += w;
      }
    } while (now_s() < end);
    shutdown(fd, SHUT_WR);
    unsigned char c[8];
    size_t got = 0;
    while (got < 8) {
      ssize_t r = read(fd, c + got, 8 - got);
      if (r <= 0) die("read count");
      got += r;
    }
    t = now_s();
    for (int i = 0; i < 8; i++) bytes |= (unsigned long long)c[i] << (8 * i);
  }
  printf("{\"bytes\":%llu,\"seconds\":%.6f}\n", bytes, t - start);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: client udp-blast|udp-rr|tcp-rr|tcp-send|tcp-recv <port> <seconds> ...\n");
    return 2;
  }
  const char* mode = argv[1];
  int port = atoi(argv[2]);
  double seconds = atof(argv[3]);
  if (strcmp(mode, "udp-blast") == 0) {
    unsigned long long count = argc > 4 ? strtoull(argv[4], NULL, 10) : ~0ull;
    return blast(port, seconds, count, argc > 5 && strcmp(argv[5], "sendmmsg") == 0);
  }
  if (strcmp(mode, "udp-rr") == 0) return rr(0, port, seconds);
  if (strcmp(mode, "tcp-rr") == 0) return rr(1, port, seconds);
  if (strcmp(mode, "tcp-send") == 0) return stream(0, port, seconds);
  if (strcmp(mode, "tcp-recv") == 0) return stream(1, port, seconds);
  fprintf(stderr, "client: unknown mode %s\n", mode);
  return 2;
}
