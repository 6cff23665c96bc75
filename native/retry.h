// The one EINTR policy for calls that can wait (PEP 475): a call interrupted by a signal is made
// again. A socket timeout (SO_RCVTIMEO / SO_SNDTIMEO) needs care: the kernel restarts its timer on
// every call, so a plain retry under a storm of signals would wait until the storm ends. Instead, once
// interrupted, the wait goes on in poll(2) for the time that remains of the timeout, and the call is
// then made again without blocking: signals neither cut the wait short nor stretch it.
#ifndef SOCKFD_RETRY_H_
#define SOCKFD_RETRY_H_

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

namespace sockfd {

inline int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// The socket timeout of `fd` in ms for the direction, or 0 for none (or not a socket).
inline int64_t SocketTimeoutMs(int fd, bool writing) {
  timeval tv = {0, 0};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, writing ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) != 0) return 0;
  return static_cast<int64_t>(tv.tv_sec) * 1000 + (tv.tv_usec + 999) / 1000;
}

// Runs `call(extraFlags)` (extraFlags is 0, or MSG_DONTWAIT once the wait is done by poll; calls
// without a flags argument ignore it) and returns its result, or -errno. `writing` picks the
// direction of the timeout and of the readiness waited for.
template <typename F>
auto RetryEintr(int fd, bool writing, F call) -> decltype(call(0)) {
  auto r = call(0);
  if (r >= 0 || errno != EINTR) return r >= 0 ? r : -errno;
  int64_t start = MonotonicMs();
  int64_t timeout = SocketTimeoutMs(fd, writing);
  for (;;) {
    if (timeout == 0) {
      r = call(0);  // no timeout: waiting again in the call itself changes nothing
    } else {
      int64_t left = timeout - (MonotonicMs() - start);
      if (left <= 0) return -EAGAIN;  // what the call reports when its timeout expires
      pollfd p = {fd, static_cast<short>(writing ? POLLOUT : POLLIN), 0};
      int ready = poll(&p, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return -errno;
      if (ready == 0) return -EAGAIN;
      r = call(MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;  // someone else took it
    }
    if (r >= 0) return r;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace sockfd

#endif  // SOCKFD_RETRY_H_
