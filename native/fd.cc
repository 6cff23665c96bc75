#include "fd.h"

#include "retry.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace sockfd {

// SOCK_CLOEXEC has been in Linux since 2.6.27 and in glibc since 2.9, so unlike libuv there is no
// fallback to socket()+fcntl() here: that fallback is exactly the window in which a concurrent
// fork+exec would inherit the fd.

int NewSocket(int domain, int type, int protocol) {
  int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  return fd < 0 ? -errno : fd;
}

int NewSocketPair(int domain, int type, int protocol, int fds[2]) {
  return socketpair(domain, type | SOCK_CLOEXEC, protocol, fds) < 0 ? -errno : 0;
}

int AcceptFd(int fd, sockaddr_storage* address, socklen_t* length, int flags) {
  socklen_t capacity = *length;
  // accept4 has no MSG_DONTWAIT; after poll says a connection waits, a blocking accept4 returns it.
  return RetryEintr(fd, false, [&](int) {
    *length = capacity;
    return accept4(fd, reinterpret_cast<sockaddr*>(address), length, flags | SOCK_CLOEXEC);
  });
}

int CloseFd(int fd) {
  if (close(fd) == 0) return 0;
  int err = errno;
  return err == EINTR ? 0 : -err;
}

int OpenCloexec(const char* path, int flags) {
  int fd;
  do fd = open(path, flags | O_CLOEXEC); while (fd < 0 && errno == EINTR);
  return fd < 0 ? -errno : fd;
}

int SocketNamespaceFd(int fd) {
  int ns = ioctl(fd, SIOCGSKNS);
  return ns < 0 ? -errno : ns;
}

}  // namespace sockfd
