// Socket options: getsockopt(2) and setsockopt(2). The native layer moves bytes only; the
// TypeScript layer decides how a value is presented (an int, a Buffer, or later a typed object).
#include <errno.h>
#include <linux/filter.h>
#include <sys/socket.h>

#include "addon.h"
#include "args.h"

namespace sockfd {

namespace {


// getsockopt(fd, level, name, out) -> bytes written | -errno; corresponds to getsockopt(2), with
// `out` (an ArrayBufferView) as optval and its byte length as optlen.
//
// SO_GET_FILTER is the exception: the kernel counts its optlen in instructions (struct sock_filter,
// 8 bytes), in and out, so it gets the number of whole instructions the view holds; given its byte
// length it would write up to eight times the view. With room for none, the kernel only reports the
// program's length and writes nothing.
Napi::Value GetSockOpt(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int level = ToInt32(info[1], "level");
  int name = ToInt32(info[2], "name");
  View view = ToView(info[3], "out");
  const bool filter = level == SOL_SOCKET && name == SO_GET_FILTER;
  const size_t unit = filter ? sizeof(struct sock_filter) : 1;
  const socklen_t room = static_cast<socklen_t>(view.length / unit);
  socklen_t len = room;
  if (getsockopt(fd, level, name, view.data, &len) < 0) return Result(info.Env(), -errno);
  // Some options report the length they would have needed; never claim more than was written.
  const size_t written = static_cast<size_t>(len < room ? len : room) * unit;
  return Result(info.Env(), static_cast<int>(written));
}

// setsockopt(fd, level, name, value) -> 0 | -errno; corresponds to setsockopt(2). `value` is an
// int32 (passed as a C int), a boolean (1 or 0), or an ArrayBufferView passed as raw bytes.
Napi::Value SetSockOpt(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int level = ToInt32(info[1], "level");
  int name = ToInt32(info[2], "name");
  Napi::Value value = info[3];
  int r;
  if (value.IsNumber() || value.IsBoolean()) {
    int n = value.IsBoolean() ? (value.As<Napi::Boolean>().Value() ? 1 : 0) : ToInt32(value, "value");
    r = setsockopt(fd, level, name, &n, sizeof n);
  } else {
    View view = ToView(value, "value");
    r = setsockopt(fd, level, name, view.data, static_cast<socklen_t>(view.length));
  }
  return Result(info.Env(), r < 0 ? -errno : 0);
}

// setsockoptprog(fd, level, name, program) -> 0 | -errno: setsockopt(2) with a `struct sock_fprog`
// pointing at `program`, an array of `struct sock_filter` (8 bytes each: u16 code, u8 jt, u8 jf,
// u32 k, host order) — SO_ATTACH_FILTER and SO_ATTACH_REUSEPORT_CBPF. The kernel copies the
// program during the call, so the pointer does not outlive it.
Napi::Value SetSockOptProgram(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int level = ToInt32(info[1], "level");
  int name = ToInt32(info[2], "name");
  View view = ToView(info[3], "program");
  if (view.length == 0 || view.length % sizeof(sock_filter) != 0 || view.length / sizeof(sock_filter) > BPF_MAXINSNS) {
    ThrowRangeError(info.Env(), "The \"program\" argument must hold 1 to " + std::to_string(BPF_MAXINSNS) +
                                    " instructions of 8 bytes. Received " + std::to_string(view.length) + " bytes");
  }
  sock_fprog prog;
  prog.len = static_cast<unsigned short>(view.length / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(view.data);
  return Result(info.Env(), setsockopt(fd, level, name, &prog, sizeof prog) < 0 ? -errno : 0);
}

}  // namespace

void InitSockopt(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"getsockopt", GetSockOpt},
      {"setsockopt", SetSockOpt},
      {"setsockoptprog", SetSockOptProgram},
  });
}

}  // namespace sockfd
