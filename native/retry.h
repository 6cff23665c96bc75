// The one EINTR policy for calls that can wait (PEP 475): a call interrupted by a signal is made
// again. A socket timeout (SO_RCVTIMEO / SO_SNDTIMEO) needs care: the kernel restarts its timer on
// every call, so a plain retry under a storm of signals would wait until the storm ends. Instead, once
// interrupted, the wait goes on in poll(2) (wait.h) until the timeout, measured from the first call,
// runs out, and the call is then made again without blocking: signals neither cut the wait short nor
// stretch it.
#ifndef SOCKFD_RETRY_H_
#define SOCKFD_RETRY_H_

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "wait.h"

namespace sockfd {

// Runs `call(extraFlags)` and returns its result, or -errno. extraFlags is 0, or MSG_DONTWAIT once
// poll has done the waiting (calls without a flags argument ignore it). `writing` picks the direction
// of the timeout and of the readiness waited for. `mayBlock` is false for a call made with
// MSG_DONTWAIT, which cannot be interrupted: it skips reading the clock.
template <typename F>
auto RetryEintr(int fd, bool writing, F call, bool mayBlock = true) -> decltype(call(0)) {
  int64_t start = mayBlock ? NowUs() : -1;
  auto r = call(0);
  if (r >= 0 || errno != EINTR) return r >= 0 ? r : -errno;
  if (start < 0) start = NowUs();
  int64_t timeout = SocketTimeoutUs(fd, writing);
  if (timeout == 0) {
    // No timeout: waiting again in the call itself changes nothing.
    for (;;) {
      r = call(0);
      if (r >= 0) return r;
      if (errno != EINTR) return -errno;
    }
  }
  Deadline deadline = Deadline::AfterUs(start, timeout);
  for (;;) {
    pollfd p = {fd, static_cast<short>(writing ? POLLOUT : POLLIN), 0};
    int ready = WaitFor(&p, 1, deadline);
    if (ready < 0) return ready;
    if (ready == 0) return -EAGAIN;  // what the call reports when its timeout expires
    r = call(MSG_DONTWAIT);
    if (r >= 0) return r;
    // EAGAIN: someone else took it; EINTR: a call without a flags argument blocked again.
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -errno;
  }
}

// Whether a call with these MSG_* flags can block (and so be interrupted by a signal).
inline bool MayBlock(int flags) { return (flags & MSG_DONTWAIT) == 0; }

}  // namespace sockfd

#endif  // SOCKFD_RETRY_H_
