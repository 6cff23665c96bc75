// What the message calls (msg.cc) share with the packed batch calls (batch.cc).
#ifndef SOCKFD_MSG_H_
#define SOCKFD_MSG_H_

#include <sys/socket.h>

#include <cstdint>

namespace sockfd {

// recvmmsg(2) with its own timeout (`timeoutMs` < 0: none), retried on EINTR (retry.h). The timeout
// is measured from the first call: a call interrupted by a signal is made again with what remains of
// it, not with the whole of it. (The kernel checks it only after each datagram: recvmmsg(2), BUGS.)
// Returns the count of messages or -errno.
int RecvMMsgTimed(int fd, mmsghdr* msgs, unsigned count, int flags, int64_t timeoutMs);

}  // namespace sockfd

#endif  // SOCKFD_MSG_H_
