// Moving bytes: read(2), write(2), send(2), recv(2), sendto(2), recvfrom(2). Each takes any
// ArrayBufferView and touches only its own bytes (the first `length` of them); EINTR is retried.
//
// SIGPIPE: every send carries MSG_NOSIGNAL, so a reset peer gives EPIPE rather than a signal that would
// kill the process whatever listeners the program has added or removed. write() on a socket is made as
// send(fd, buf, len, MSG_NOSIGNAL), which send(2) documents as equivalent to write(2) but for the flag;
// only an fd that is not a socket (ENOTSOCK) gets a real write(2).
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addon.h"
#include "args.h"
#include "result.h"
#include "retry.h"
#include "sockaddr.h"

namespace sockfd {

namespace {


// read(fd, buf, length) -> bytes | -errno; 0 is end of stream.
Napi::Value Read(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  View view = ToView(info[1], "buf");
  size_t length = ToLength(info[2], "length", view);
  if (ValidateOnly(info)) return Result(info.Env(), 0);
  return Result(info.Env(), RetryEintr(fd, false, [&](int) { return read(fd, view.data, length); }));
}

// write(fd, buf, length) -> bytes | -errno.
Napi::Value Write(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  View view = ToView(info[1], "buf");
  size_t length = ToLength(info[2], "length", view);
  if (ValidateOnly(info)) return Result(info.Env(), 0);
  ssize_t r = RetryEintr(fd, true, [&](int more) { return send(fd, view.data, length, MSG_NOSIGNAL | more); });
  if (r == -ENOTSOCK) r = RetryEintr(fd, true, [&](int) { return write(fd, view.data, length); });
  return Result(info.Env(), r);
}

// send(fd, buf, length, flags) -> bytes | -errno.
Napi::Value Send(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int flags = ToInt32(info[3], "flags");
  View view = ToView(info[1], "buf");
  size_t length = ToLength(info[2], "length", view);
  if (ValidateOnly(info)) return Result(info.Env(), 0);
  return Result(info.Env(), RetryEintr(fd, true, [&](int more) { return send(fd, view.data, length, flags | more | MSG_NOSIGNAL); },
                                       MayBlock(flags)));
}

// recv(fd, buf, length, flags) -> bytes | -errno. With MSG_TRUNC the result may exceed `length`
// (the datagram's real size, as the kernel reports it); only `length` bytes are ever written.
Napi::Value Recv(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int flags = ToInt32(info[3], "flags");
  View view = ToView(info[1], "buf");
  size_t length = ToLength(info[2], "length", view);
  if (ValidateOnly(info)) return Result(info.Env(), 0);
  return Result(info.Env(), RetryEintr(fd, false, [&](int more) { return recv(fd, view.data, length, flags | more); }, MayBlock(flags)));
}

// sendto(fd, buf, length, flags, addr) -> bytes | -errno. The address is converted before the
// buffer is looked at, since converting it may run JS getters.
Napi::Value SendTo(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int flags = ToInt32(info[3], "flags");
  sockaddr_storage ss;
  socklen_t len = SockaddrFromJs(info[4], "addr", &ss);
  View view = ToView(info[1], "buf");
  size_t length = ToLength(info[2], "length", view);
  ssize_t r = 0;
  if (!ValidateOnly(info)) {
    r = RetryEintr(fd, true, [&](int more) {
      return sendto(fd, view.data, length, flags | more | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&ss), len);
    }, MayBlock(flags));
    if (r >= 0) return Result(info.Env(), r);
  }
  RememberAddress(info.Env(), &ss, len);
  return Result(info.Env(), r);
}

// recvfrom(fd, buf, length, flags, from?) -> { bytes, address } | -errno; address is null where the
// kernel gives none (a connected stream socket). With `from` (a binary sockaddr holder of at least
// kSockaddrBinarySize bytes), the sender is written there and only the byte count is returned.
Napi::Value RecvFrom(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int flags = ToInt32(info[3], "flags");
  Napi::Value from = info[4];
  View holder = {nullptr, 0};
  bool binary = AsView(from, &holder);
  if (!binary && !from.IsUndefined()) ThrowNotView(from, "from");
  if (binary && holder.length < kSockaddrBinarySize) ThrowHolderTooSmall(info.Env(), "from", holder.length);
  View view = ToView(info[1], "buf");
  size_t length = ToLength(info[2], "length", view);
  if (ValidateOnly(info)) return Result(info.Env(), 0);
  sockaddr_storage ss;
  socklen_t len;
  ssize_t r = RetryEintr(fd, false, [&](int more) {
    len = sizeof ss;
    return recvfrom(fd, view.data, length, flags | more, reinterpret_cast<sockaddr*>(&ss), &len);
  }, MayBlock(flags));
  if (r < 0) return Result(info.Env(), r);
  if (binary) {
    // The allocation-free form: the sender goes into the caller's binary holder (checked above; no
    // JS has run since, so the pointer is still good).
    SockaddrToBinary(info.Env(), &ss, len, holder.data, holder.length);
    return Result(info.Env(), r);
  }
  return Fields(info.Env()).Add(Key::bytes, static_cast<double>(r)).Add(Key::address, SockaddrToJs(info.Env(), &ss, len)).Object();
}

}  // namespace

void InitIo(Napi::Env env, Napi::Object exports) {
  ExportWithValidation<Read>(env, exports, "read");
  ExportWithValidation<Write>(env, exports, "write");
  ExportWithValidation<Send>(env, exports, "send");
  ExportWithValidation<Recv>(env, exports, "recv");
  ExportWithValidation<SendTo>(env, exports, "sendto");
  ExportWithValidation<RecvFrom>(env, exports, "recvfrom");
}

}  // namespace sockfd
