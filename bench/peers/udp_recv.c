/* The counting UDP receiver: `udp_recv recvfrom|recvmmsg`. Binds 127.0.0.1:0 with the kernel's
 * default SO_RCVBUF (never changed), prints {"port","rcvbuf"}, then counts the 64-byte datagrams
 * it receives until a datagram of any other length arrives (the harness's stop marker), and prints
 * {"received","seconds","cpu"} (seconds from the first datagram to the last; CPU seconds used from
 * the first datagram to the stop marker). Blocking calls throughout. */
#include "common.h"

#define BATCH 64
#define SIZE 64

int main(int argc, char** argv) {
  int mmsg = argc > 1 && strcmp(argv[1], "recvmmsg") == 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  int port = bind_any(fd);
  int rcvbuf = 0;
  socklen_t ol = sizeof rcvbuf;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &ol);
  printf("{\"port\":%d,\"rcvbuf\":%d}\n", port, rcvbuf);
  fflush(stdout);
  static char bufs[BATCH][2048];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  unsigned long long received = 0;
  double first = 0, last = 0, cpu0 = 0;
  int done = 0;
  while (!done) {
    if (mmsg) {
      for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      }
      int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("recvmmsg");
      }
      for (int i = 0; i < n; i++) {
        if (msgs[i].msg_len == SIZE) received++;
        else done = 1;
      }
    } else {
      socklen_t fl = sizeof from[0];
      ssize_t n = recvfrom(fd, bufs[0], sizeof bufs[0], 0, (struct sockaddr*)&from[0], &fl);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("recvfrom");
      }
      if (n == SIZE) received++;
      else done = 1;
    }
    if (!done) {
      last = now_s();
      if (first == 0) {
        first = last;
        cpu0 = cpu_s();
      }
    }
  }
  printf("{\"received\":%llu,\"seconds\":%.6f,\"cpu\":%.6f}\n", received, last - first, cpu_s() - cpu0);
  return 0;
}
