// The constants object: every name in constants.txt that the system headers define, with the value
// the headers give it. The list itself is generated (constants.inc), one #ifdef per name, so a
// constant this system lacks is simply absent rather than a guessed number. Next to it, the sizes
// object: sizeof(struct NAME) for each struct of the list's `sizeof` lines, for the TypeScript that
// builds and reads kernel messages (src/sizes.generated.ts).
// glibc's headers come first: linux/libc-compat.h then skips what they already declare.
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

#include "addon.h"

namespace sockfd {

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object constants = Napi::Object::New(env);
  Napi::Object sizes = Napi::Object::New(env);
#define SOCKFD_CONSTANT(name) constants.Set(#name, Napi::Number::New(env, static_cast<double>(name)));
#define SOCKFD_SIZEOF(name) sizes.Set(#name, Napi::Number::New(env, static_cast<double>(sizeof(struct name))));
#include "constants.inc"
#undef SOCKFD_SIZEOF
#undef SOCKFD_CONSTANT
  exports.Set("constants", constants);
  exports.Set("sizes", sizes);
}

}  // namespace sockfd
