// The system headers that define the constants sockfd exports (native/constants.txt). Included by
// constants.cc, which builds the constants object from them, and by the probe program that
// scripts/gen-constants.mjs compiles to read the same values for the typed exports
// (src/constants.generated.ts), so both see one set of headers, in one order.
// glibc's headers come first: linux/libc-compat.h then skips what they already declare.
#ifndef SOCKFD_CONSTANT_HEADERS_H_
#define SOCKFD_CONSTANT_HEADERS_H_

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include <linux/filter.h>
#include <linux/icmp.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/unix_diag.h>
#include <linux/veth.h>
// linux/virtio_net.h names a struct member `class`, a C++ keyword: renamed while the header is read.
#define class class_
#include <linux/virtio_net.h>
#undef class

#endif  // SOCKFD_CONSTANT_HEADERS_H_
