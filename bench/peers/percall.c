/* Per-call overhead in one process, the C side: `percall <seconds per op>` prints ns per call of
 *   getsockopt      getsockopt(SOL_SOCKET, SO_TYPE) on a UDP socket
 *   recvfrom_eagain recvfrom(MSG_DONTWAIT) on an empty UDP socket (fails with EAGAIN)
 *   sendto_recvfrom sendto of 64 bytes to the socket's own address + recvfrom of it (ns per pair)
 *   sendmmsg_recvmmsg  the same with 64 datagrams per sendmmsg/recvmmsg (ns per datagram pair)
 *   send_recv       send + recv of 64 bytes on a socket connected to itself (no addresses; ns per pair)
 *   sendto_recv     sendto (an address in) + recv (none out), ns per pair
 * Each op runs in chunks of 1000 iterations until its time is up, after a warm-up of 1/10 of it. */
#include "common.h"

#define SIZE 64
#define BATCH 64
#define CHUNK 1000

static int fd, cfd; /* cfd: connected to its own address, for send/recv */
static struct sockaddr_in self;
static char buf[SIZE], in[2048];
static char bufs[BATCH][2048];
static struct mmsghdr smsgs[BATCH], rmsgs[BATCH];
static struct iovec siov = {buf, SIZE}, riov[BATCH];
static struct sockaddr_in from[BATCH];
static volatile long sink;

static void op_getsockopt(void) {
  int v;
  socklen_t l = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0) die("getsockopt");
  sink += v;
}

static void op_eagain(void) {
  struct sockaddr_in f;
  socklen_t l = sizeof f;
  ssize_t r = recvfrom(fd, in, sizeof in, MSG_DONTWAIT, (struct sockaddr*)&f, &l);
  if (r >= 0 || errno != EAGAIN) die("recvfrom (expected EAGAIN)");
  sink += r;
}

static void op_pair(void) {
  if (sendto(fd, buf, SIZE, 0, (struct sockaddr*)&self, sizeof self) != SIZE) die("sendto");
  struct sockaddr_in f;
  socklen_t l = sizeof f;
  ssize_t r = recvfrom(fd, in, sizeof in, 0, (struct sockaddr*)&f, &l);
  if (r != SIZE) die("recvfrom");
  sink += r + f.sin_port;
}

static void op_send_recv(void) {
  if (send(cfd, buf, SIZE, 0) != SIZE) die("send");
  ssize_t r = recv(cfd, in, sizeof in, 0);
  if (r != SIZE) die("recv");
  sink += r;
}

static void op_sendto_recv(void) {
  if (sendto(fd, buf, SIZE, 0, (struct sockaddr*)&self, sizeof self) != SIZE) die("sendto");
  ssize_t r = recv(fd, in, sizeof in, 0);
  if (r != SIZE) die("recv");
  sink += r;
}

static void op_batch(void) {
  if (sendmmsg(fd, smsgs, BATCH, 0) != BATCH) die("sendmmsg");
  for (int i = 0; i < BATCH; i++) {
    rmsgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int got = 0;
  while (got < BATCH) {
    int n = recvmmsg(fd, rmsgs + got, BATCH - got, 0, NULL);
    if (n <= 0) die("recvmmsg");
    got += n;
  }
  sink += got;
}

static double run(void (*op)(void), double seconds, int per) {
  double w = now_s() + seconds / 10;
  while (now_s() < w) for (int i = 0; i < CHUNK / per; i++) op();
  unsigned long long calls = 0;
  double start = now_s(), end = start + seconds, t;
  do {
    for (int i = 0; i < CHUNK / per; i++) op();
    calls += CHUNK / per * per;
  } while ((t = now_s()) < end);
  return (t - start) * 1e9 / calls;
}

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1;
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  self = loopback(bind_any(fd));
  memset(buf, 2, sizeof buf);
  for (int i = 0; i < BATCH; i++) {
    memset(&smsgs[i], 0, sizeof smsgs[i]);
    smsgs[i].msg_hdr.msg_iov = &siov;
    smsgs[i].msg_hdr.msg_iovlen = 1;
    smsgs[i].msg_hdr.msg_name = &self;
    smsgs[i].msg_hdr.msg_namelen = sizeof self;
    riov[i].iov_base = bufs[i];
    riov[i].iov_len = sizeof bufs[i];
    memset(&rmsgs[i], 0, sizeof rmsgs[i]);
    rmsgs[i].msg_hdr.msg_iov = &riov[i];
    rmsgs[i].msg_hdr.msg_iovlen = 1;
    rmsgs[i].msg_hdr.msg_name = &from[i];
  }
  cfd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in cself = loopback(bind_any(cfd));
  if (connect(cfd, (struct sockaddr*)&cself, sizeof cself) < 0) die("connect");
  double g = run(op_getsockopt, seconds, 1);
  double e = run(op_eagain, seconds, 1);
  double p = run(op_pair, seconds, 1);
  double b = run(op_batch, seconds, BATCH);
  double c = run(op_send_recv, seconds, 1);
  double d = run(op_sendto_recv, seconds, 1);
  printf("{\"getsockopt\":%.1f,\"recvfrom_eagain\":%.1f,\"sendto_recvfrom\":%.1f,\"sendmmsg_recvmmsg\":%.1f,\"send_recv\":%.1f,"
         "\"sendto_recv\":%.1f}\n", g, e, p, b, c, d);
  return 0;
}
