// Creating and closing sockets and the calls that act on an fd as a whole: socket(2), socketpair(2),
// close(2), shutdown(2), fcntl(2), ioctl(2) for the integer socket ioctls, and poll(2).
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "addon.h"
#include "args.h"
#include "fd.h"
#include "result.h"
#include "wait.h"

namespace sockfd {

namespace {


// socket(domain, type, protocol) -> fd | -errno; corresponds to socket(2).
Napi::Value Socket(const Napi::CallbackInfo& info) {
  int domain = ToInt32(info[0], "domain");
  int type = ToInt32(info[1], "type");
  int protocol = ToInt32(info[2], "protocol");
  return Result(info.Env(), NewSocket(domain, type, protocol));
}

// socketpair(domain, type, protocol) -> [fd, fd] | -errno; corresponds to socketpair(2).
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int domain = ToInt32(info[0], "domain");
  int type = ToInt32(info[1], "type");
  int protocol = ToInt32(info[2], "protocol");
  int fds[2];
  int r = NewSocketPair(domain, type, protocol, fds);
  if (r < 0) return Result(info.Env(), r);
  FdGuard guard;
  guard.Own(fds[0]);
  guard.Own(fds[1]);
  napi_value items[2] = {NumberValue(info.Env(), fds[0]), NumberValue(info.Env(), fds[1])};
  Napi::Value pair = List(info.Env(), items, 2);
  guard.Release();
  return pair;
}

// close(fd) -> 0 | -errno; corresponds to close(2).
Napi::Value Close(const Napi::CallbackInfo& info) {
  return Result(info.Env(), CloseFd(ArgFd(info, 0)));
}

// shutdown(fd, how) -> 0 | -errno; corresponds to shutdown(2).
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int how = ToInt32(info[1], "how");
  return Result(info.Env(), shutdown(fd, how) < 0 ? -errno : 0);
}

// fcntl(fd, cmd, arg) -> value | -errno; corresponds to fcntl(2) for F_GETFD, F_SETFD, F_GETFL and
// F_SETFL only: the other commands create fds or take pointers, and are not offered.
Napi::Value Fcntl(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int cmd = ToInt32(info[1], "cmd");
  int r;
  switch (cmd) {
    case F_GETFD:
    case F_GETFL:
      do r = fcntl(fd, cmd); while (r < 0 && errno == EINTR);
      break;
    case F_SETFD:
    case F_SETFL: {
      int arg = ToInt32(info[2], "arg");
      do r = fcntl(fd, cmd, arg); while (r < 0 && errno == EINTR);
      break;
    }
    default:
      ThrowRangeError(info.Env(), "The \"cmd\" argument must be F_GETFD, F_SETFD, F_GETFL or F_SETFL. Received " +
                                      std::to_string(cmd), "ERR_INVALID_ARG_VALUE");
  }
  return Result(info.Env(), r < 0 ? -errno : r);
}

// ioctl(fd, request) -> value | -errno; corresponds to ioctl(2) for the socket ioctls whose argument
// is a single int written by the kernel. Others could write any amount of memory and are refused.
Napi::Value Ioctl(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int64_t request = ToInteger(info[1], "request", 0, UINT32_MAX);
  switch (request) {
    case FIONREAD:  // also SIOCINQ
    case SIOCOUTQ:
    case SIOCOUTQNSD:
    case SIOCATMARK:
      break;
    default:
      ThrowRangeError(info.Env(), "The \"request\" argument must be FIONREAD (SIOCINQ), SIOCOUTQ, SIOCOUTQNSD or SIOCATMARK. Received " +
                                      std::to_string(request), "ERR_INVALID_ARG_VALUE");
  }
  int value = 0;
  if (ioctl(fd, static_cast<unsigned long>(request), &value) < 0) return Result(info.Env(), -errno);
  return Result(info.Env(), value);
}

// poll(fds, timeout) -> [{ fd, revents }] | -errno; corresponds to poll(2). The result has one entry
// per input entry, in order. A signal neither ends the wait early nor stretches it (wait.h).
Napi::Value Poll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) {
    ThrowTypeError(env, "The \"fds\" argument must be an array of { fd, events }. Received " + Describe(info[0]));
  }
  Napi::Array list = info[0].As<Napi::Array>();
  uint32_t count = list.Length();
  if (count > 1u << 20) ThrowRangeError(env, "The \"fds\" argument has more than 1048576 entries");
  int64_t timeout = ToInteger(info[1], "timeout", -1, INT32_MAX);
  std::vector<pollfd> fds(count);
  Napi::Value fdKey(env, KeyOf(env, Key::fd)), eventsKey(env, KeyOf(env, Key::events));
  for (uint32_t i = 0; i < count; i++) {
    Napi::Value item = list.Get(i);
    if (!item.IsObject()) {
      ThrowTypeError(env, "The \"fds[" + std::to_string(i) + "]\" element must be an object. Received " + Describe(item));
    }
    Napi::Object entry = item.As<Napi::Object>();
    std::string at = "fds[" + std::to_string(i) + "]";
    fds[i].fd = ToFd(entry.Get(fdKey), (at + ".fd").c_str());
    fds[i].events = static_cast<short>(ToInteger(entry.Get(eventsKey), (at + ".events").c_str(), 0, 0xffff));
    fds[i].revents = 0;
  }
  int r = WaitFor(fds.data(), count, Deadline::AfterMs(NowUs(), timeout));
  if (r < 0) return Result(env, r);
  std::vector<napi_value> entries(count);
  for (uint32_t i = 0; i < count; i++) {
    entries[i] = Fields(env).Add(Key::fd, fds[i].fd).Add(Key::revents, static_cast<uint16_t>(fds[i].revents)).Object();
  }
  return List(env, entries.data(), count);
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"socket", Socket},
      {"socketpair", SocketPair},
      {"close", Close},
      {"shutdown", Shutdown},
      {"fcntl", Fcntl},
      {"ioctl", Ioctl},
      {"poll", Poll},
  });
}

}  // namespace sockfd
