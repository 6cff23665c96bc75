// The one way an fd is born in sockfd, and the one way it is closed. Each function makes its system
// call with SOCK_CLOEXEC set atomically, so a child process never inherits a socket by accident, and
// returns the new fd (or fds) or a negative errno. Once returned to JS, JS owns the fd.
#ifndef SOCKFD_FD_H_
#define SOCKFD_FD_H_

#include <sys/socket.h>

namespace sockfd {

// socket(2) with SOCK_CLOEXEC or-ed into `type`.
int NewSocket(int domain, int type, int protocol);
// socketpair(2) with SOCK_CLOEXEC; fills `fds` and returns 0, or returns -errno.
int NewSocketPair(int domain, int type, int protocol, int fds[2]);
// accept4(2) with SOCK_CLOEXEC or-ed into `flags`, retried on EINTR (see retry.h). `length` holds the capacity of
// `address` on entry and the peer address's length on return.
int AcceptFd(int fd, sockaddr_storage* address, socklen_t* length, int flags);
// close(2), never retried: on Linux the fd is released even when close reports EINTR, and a retry
// could close an fd that another thread has just been given. EINTR therefore counts as success, as
// in CPython since PEP 475.
int CloseFd(int fd);
// open(2) with O_CLOEXEC or-ed into `flags`, retried on EINTR: the fd or -errno. For the files the
// namespace calls open (a thread's /proc/thread-self/ns/net, a /proc/sys/net file inside a namespace).
int OpenCloexec(const char* path, int flags);
// ioctl(fd, SIOCGSKNS): a new fd of the network namespace the socket `fd` was created in, or -errno.
// The kernel itself opens it close-on-exec (open_related_ns uses O_CLOEXEC).
int SocketNamespaceFd(int fd);

// The reserve fd (libuv's trick for accept under EMFILE): one spare fd per process, held open so that
// a listening socket whose accept fails for want of fds can still take its queued connections off
// the queue (and close them) instead of being reported readable for them forever.
// OpenReserveFd() opens it if it is not open (0, or -errno when even that fails: then there is none).
int OpenReserveFd();
// Frees the reserve, accepts and closes every connection queued on `listener`, and opens the reserve
// again; returns how many connections it closed, or -EMFILE when there was no reserve to free. Serialized
// across threads (workers share the process's fd table and this one spare).
int ShedConnections(int listener);

}  // namespace sockfd

#endif  // SOCKFD_FD_H_
