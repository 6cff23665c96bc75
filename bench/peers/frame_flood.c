/* The frame flooder of the capture workload: 64-byte Ethernet frames (broadcast, EtherType 0x88b5,
 * the IEEE local experimental one; bytes 14-21 a sequence number) out of one interface, as fast as
 * the kernel takes them, with AF_PACKET sendmmsg (64 frames per call) and PACKET_QDISC_BYPASS (no
 * qdisc: straight to the driver). Run inside the namespace the bench made for it.
 *   frame_flood IFACE SECONDS        floods until SECONDS have passed or SIGTERM/SIGINT arrives
 * Prints {"ready":true} once the socket is up, then {"sent","seconds","cpu"} at the end (cpu: CPU
 * seconds it used). ENOBUFS (a full device queue) is counted as not sent and retried. */
#include "common.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>

#define SIZE 64
#define BATCH 64
#define ETHERTYPE 0x88b5

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: frame_flood IFACE SECONDS\n");
    return 2;
  }
  unsigned ifindex = if_nametoindex(argv[1]);
  if (ifindex == 0) die("if_nametoindex");
  double seconds = atof(argv[2]);
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) die("socket");
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) die("setsockopt PACKET_QDISC_BYPASS");
  struct sockaddr_ll ll;
  memset(&ll, 0, sizeof ll);
  ll.sll_family = AF_PACKET;
  ll.sll_ifindex = (int)ifindex;
  ll.sll_protocol = 0; /* send only: receive nothing */
  if (bind(fd, (struct sockaddr*)&ll, sizeof ll) < 0) die("bind");
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);

  static unsigned char frames[BATCH][SIZE];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    memset(frames[i], 0xff, 6);
    memset(frames[i] + 6, 0, 6);
    frames[i][6] = 0x02; /* a locally administered source address */
    frames[i][12] = ETHERTYPE >> 8;
    frames[i][13] = ETHERTYPE & 0xff;
    iov[i].iov_base = frames[i];
    iov[i].iov_len = SIZE;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  printf("{\"ready\":true}\n");
  fflush(stdout);

  unsigned long long sent = 0, calls = 0;
  double cpu0 = cpu_s();
  double start = now_s(), end = start + seconds;
  while (!stop) {
    for (int i = 0; i < BATCH; i++) {
      uint64_t seq = sent + (uint64_t)i;
      memcpy(frames[i] + 14, &seq, sizeof seq);
    }
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN) die("sendmmsg");
    if (n > 0) sent += (unsigned)n;
    if (++calls % 64 == 0 && now_s() >= end) break;
  }
  printf("{\"sent\":%llu,\"seconds\":%.6f,\"cpu\":%.6f}\n", sent, now_s() - start, cpu_s() - cpu0);
  return 0;
}
