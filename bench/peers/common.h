/* Shared helpers of the C peers: the loopback address, a monotonic clock, percentiles, and the
 * one-line JSON each program prints. Every peer is built by bench/index.mjs with gcc -O2. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* CPU time (user + system) this process has used, in seconds. */
static inline double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static inline struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

static inline void die(const char* what) {
  perror(what);
  exit(1);
}

/* Binds fd to 127.0.0.1:0 and returns the port the kernel chose. */
static inline int bind_any(int fd) {
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr*)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr*)&a, &len) < 0) die("bind");
  return ntohs(a.sin_port);
}

static int cmp_u32(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return x < y ? -1 : x > y;
}

/* p50/p99 in µs of n latencies in ns (sorted in place): element floor(n*q), as the JS side does. */
static inline void percentiles(uint32_t* lat, size_t n, double* p50, double* p99) {
  qsort(lat, n, sizeof *lat, cmp_u32);
  *p50 = n ? lat[(size_t)(n * 0.5)] / 1e3 : 0;
  *p99 = n ? lat[(size_t)(n * 0.99)] / 1e3 : 0;
}
#endif
