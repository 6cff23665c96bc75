// Naming and connecting: bind(2), listen(2), accept4(2), connect(2), getsockname(2), getpeername(2).
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "addon.h"
#include "args.h"
#include "fd.h"
#include "sockaddr.h"

namespace sockfd {

namespace {


// bind(fd, addr) -> 0 | -errno; corresponds to bind(2).
Napi::Value Bind(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  sockaddr_storage ss;
  socklen_t len = SockaddrFromJs(info[1], "addr", &ss);
  return Result(info.Env(), bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0 ? -errno : 0);
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
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int peer = AcceptFd(fd, &ss, &len, flags);
  if (peer < 0) return Result(info.Env(), peer);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("fd", Result(info.Env(), peer));
  out.Set("address", SockaddrToJs(info.Env(), &ss, len));
  return out;
}

// connect(fd, addr) -> 0 | -errno; corresponds to connect(2). A blocking connect interrupted by a
// signal is not reissued (that would fail with EALREADY while the handshake goes on): as CPython does,
// it waits for the socket to become writable and reports the connection's outcome from SO_ERROR.
Napi::Value Connect(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  sockaddr_storage ss;
  socklen_t len = SockaddrFromJs(info[1], "addr", &ss);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) return Result(info.Env(), 0);
  int err = errno;
  if (err != EINTR) return Result(info.Env(), -err);
  pollfd p = {fd, POLLOUT, 0};
  while (poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return Result(info.Env(), -errno);
  }
  int soerr = 0;
  socklen_t soerrlen = sizeof soerr;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerrlen) < 0) return Result(info.Env(), -errno);
  return Result(info.Env(), -soerr);
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

}  // namespace

void InitConnection(Napi::Env env, Napi::Object exports) {
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("getsockname", Napi::Function::New(env, GetSockName, "getsockname"));
  exports.Set("getpeername", Napi::Function::New(env, GetPeerName, "getpeername"));
}

}  // namespace sockfd
