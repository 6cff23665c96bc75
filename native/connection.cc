// Naming and connecting: bind(2), listen(2), accept4(2), connect(2), getsockname(2), getpeername(2).
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "addon.h"
#include "args.h"
#include "fd.h"
#include "result.h"
#include "sockaddr.h"
#include "wait.h"

namespace sockfd {

namespace {


// bind(fd, addr) -> 0 | -errno; corresponds to bind(2).
Napi::Value Bind(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  sockaddr_storage ss;
  socklen_t len = SockaddrFromJs(info[1], "addr", &ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) return Result(info.Env(), 0);
  int err = errno;
  RememberAddress(info.Env(), &ss, len);
  return Result(info.Env(), -err);
}

// listen(fd, backlog) -> 0 | -errno; corresponds to listen(2).
Napi::Value Listen(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int backlog = ToInt32(info[1], "backlog");
  return Result(info.Env(), listen(fd, backlog) < 0 ? -errno : 0);
}

// accept(fd, flags) -> { fd, address } | -errno; corresponds to accept4(2), close-on-exec always.
Napi::Value Accept(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int flags = ToInt32(info[1], "flags");
  if (ValidateOnly(info)) return Result(info.Env(), 0);
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int peer = AcceptFd(fd, &ss, &len, flags);
  if (peer < 0) return Result(info.Env(), peer);
  FdGuard guard;
  guard.Own(peer);
  Napi::Value out = Fields(info.Env()).Add(Key::fd, peer).Add(Key::address, SockaddrToJs(info.Env(), &ss, len)).Object();
  guard.Release();
  return out;
}

// The outcome of a blocking connect that a signal interrupted. It is not reissued (that would fail
// with EALREADY while the handshake goes on): as CPython does, it waits for the socket to become
// writable, within what is left of SO_SNDTIMEO (which bounds a blocking connect, measured from the
// call), and reports the connection's result from SO_ERROR. When the timeout runs out first, the
// result is EINPROGRESS, as connect(2) itself reports then: the handshake goes on in the kernel.
int FinishInterruptedConnect(int fd, int64_t start) {
  int64_t timeout = SocketTimeoutUs(fd, true);
  Deadline deadline = timeout == 0 ? Deadline::Never() : Deadline::AfterUs(start, timeout);
  pollfd p = {fd, POLLOUT, 0};
  int ready = WaitFor(&p, 1, deadline);
  if (ready < 0) return ready;
  if (ready == 0) return -EINPROGRESS;
  int soerr = 0;
  socklen_t soerrlen = sizeof soerr;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerrlen) < 0) return -errno;
  return -soerr;
}

// connect(fd, addr) -> 0 | -errno; corresponds to connect(2).
Napi::Value Connect(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  sockaddr_storage ss;
  socklen_t len = SockaddrFromJs(info[1], "addr", &ss);
  if (ValidateOnly(info)) {
    RememberAddress(info.Env(), &ss, len);
    return Result(info.Env(), 0);
  }
  int64_t start = NowUs();
  int r = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) r = errno == EINTR ? FinishInterruptedConnect(fd, start) : -errno;
  if (r < 0) RememberAddress(info.Env(), &ss, len);
  return Result(info.Env(), r);
}

// getsockname(fd) -> SockAddr | -errno; corresponds to getsockname(2).
Napi::Value GetSockName(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return Result(info.Env(), -errno);
  return SockaddrToJs(info.Env(), &ss, len);
}

// getpeername(fd) -> SockAddr | -errno; corresponds to getpeername(2).
Napi::Value GetPeerName(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return Result(info.Env(), -errno);
  return SockaddrToJs(info.Env(), &ss, len);
}

// reserveFd() -> 0 | -errno: opens the process's spare fd (fd.h) if it is not open.
Napi::Value ReserveFd(const Napi::CallbackInfo& info) { return Result(info.Env(), OpenReserveFd()); }

// shedConnections(fd) -> count | -EMFILE: closes the connections queued on a listener with the spare fd.
Napi::Value Shed(const Napi::CallbackInfo& info) { return Result(info.Env(), ShedConnections(ArgFd(info, 0))); }

}  // namespace

void InitConnection(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"bind", Bind},
      {"listen", Listen},
  });
  ExportWithValidation<Accept>(env, exports, "accept");
  ExportWithValidation<Connect>(env, exports, "connect");
  ExportFunctions(env, exports, {
      {"reserveFd", ReserveFd},
      {"shedConnections", Shed},
      {"getsockname", GetSockName},
      {"getpeername", GetPeerName},
  });
}

}  // namespace sockfd
