#include "fd.h"

#include "retry.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <mutex>

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

namespace {

std::mutex reserveLock;
int reserveFd = -1;

int OpenReserveLocked() {
  if (reserveFd >= 0) return 0;
  int fd = OpenCloexec("/dev/null", O_RDONLY);
  if (fd < 0) return fd;
  reserveFd = fd;
  return 0;
}

}  // namespace

int OpenReserveFd() {
  std::lock_guard<std::mutex> lock(reserveLock);
  return OpenReserveLocked();
}

int ShedConnections(int listener) {
  std::lock_guard<std::mutex> lock(reserveLock);
  if (reserveFd < 0) return -EMFILE;
  CloseFd(reserveFd);
  reserveFd = -1;
  int shed = 0;
  for (;;) {
    // Only while a connection is queued: a blocking listener's accept would wait for the next one.
    pollfd p = {listener, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;  // EAGAIN: the queue is empty; EMFILE: another thread took the spare's number
    }
    CloseFd(fd);
    shed++;
  }
  OpenReserveLocked();  // when this fails, there is no reserve until a later OpenReserveFd succeeds
  return shed;
}

}  // namespace sockfd
