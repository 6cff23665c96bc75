// The one deadline helper: every wait in the addon (the EINTR retry under a socket timeout, a blocking
// connect interrupted by a signal, poll(2) itself) measures its time here, in 64-bit microseconds of
// CLOCK_MONOTONIC that saturate instead of overflowing, and waits with poll(2) in chunks of at most
// INT_MAX ms (poll's own limit), so a timeout of any length (a 49.7-day SO_RCVTIMEO, or a huge timeval
// given to setsockopt) neither wraps nor ends early.
#ifndef SOCKFD_WAIT_H_
#define SOCKFD_WAIT_H_

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <cstdint>

namespace sockfd {

// No end: a wait without a timeout.
constexpr int64_t kForever = INT64_MAX;

// a + b for non-negative a and b, kForever when the sum would not fit.
inline int64_t SaturatingAdd(int64_t a, int64_t b) { return a > kForever - b ? kForever : a + b; }

// a * b for non-negative a and b, kForever when the product would not fit.
inline int64_t SaturatingMul(int64_t a, int64_t b) { return b != 0 && a > kForever / b ? kForever : a * b; }

// CLOCK_MONOTONIC in microseconds (a vDSO call, about 18 ns here).
inline int64_t NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// A timeval in microseconds: 0 for {0, 0} (which SO_RCVTIMEO/SO_SNDTIMEO mean as "none") and for
// negative values (which setsockopt refuses), kForever when it does not fit.
inline int64_t TimevalUs(const timeval& tv) {
  if (tv.tv_sec < 0 || tv.tv_usec < 0) return 0;
  return SaturatingAdd(SaturatingMul(static_cast<int64_t>(tv.tv_sec), 1000000), static_cast<int64_t>(tv.tv_usec));
}

// The socket timeout of `fd` for the direction (SO_SNDTIMEO when `writing`, else SO_RCVTIMEO) in µs;
// 0 for none, or when `fd` is not a socket.
inline int64_t SocketTimeoutUs(int fd, bool writing) {
  timeval tv = {0, 0};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, writing ? SO_SNDTIMEO : SO_RCVTIMEO, &tv, &len) != 0) return 0;
  return TimevalUs(tv);
}

// The moment a wait ends, or never. Times are NowUs() values.
class Deadline {
 public:
  static Deadline Never() { return Deadline(kForever); }
  // `us` microseconds after `start`; `us` < 0 means no end.
  static Deadline AfterUs(int64_t start, int64_t us) { return Deadline(us < 0 ? kForever : SaturatingAdd(start, us)); }
  // `ms` milliseconds after `start`; `ms` < 0 means no end.
  static Deadline AfterMs(int64_t start, int64_t ms) { return AfterUs(start, ms < 0 ? -1 : SaturatingMul(ms, 1000)); }

  bool forever() const { return end_ == kForever; }
  // What is left in µs: 0 once the deadline has passed, kForever for no end.
  int64_t RemainingUs() const {
    if (forever()) return kForever;
    int64_t left = end_ - NowUs();
    return left > 0 ? left : 0;
  }

 private:
  explicit Deadline(int64_t end) : end_(end) {}
  int64_t end_;
};

// `us` microseconds as a timespec.
inline timespec ToTimespec(int64_t us) {
  return timespec{static_cast<time_t>(us / 1000000), static_cast<long>((us % 1000000) * 1000)};
}

// poll(2) on `fds` until one is ready, an error, or the deadline. A signal neither ends the wait early
// nor stretches it: EINTR waits again for the time that remains. Each poll waits at most INT_MAX ms
// (rounded up to whole ms, so never less than what remains). Returns what poll returns (> 0 ready, with
// revents filled), 0 once the deadline has passed, or -errno.
inline int WaitFor(pollfd* fds, nfds_t count, const Deadline& deadline) {
  for (;;) {
    int chunk = -1;
    if (!deadline.forever()) {
      int64_t left = deadline.RemainingUs();
      int64_t ms = left / 1000 + (left % 1000 != 0);
      chunk = static_cast<int>(ms < INT_MAX ? ms : INT_MAX);
    }
    int ready = poll(fds, count, chunk);
    if (ready > 0) return ready;
    if (ready < 0 && errno != EINTR) return -errno;
    // Interrupted, or a chunk ran out: over only when the clock says so.
    if (ready == 0 && deadline.RemainingUs() == 0) return 0;
  }
}

}  // namespace sockfd

#endif  // SOCKFD_WAIT_H_
