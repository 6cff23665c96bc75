// Messages: sendmsg(2) and recvmsg(2), and the batches sendmmsg(2) and recvmmsg(2) of arrays (the
// packed MMsgBatch form is in batch.cc), with scatter/gather over several ArrayBufferViews (the views'
// own memory, never copies), an optional address, and ancillary data as raw { level, type, data }
// items; the TypeScript layer gives the items their types (SCM_RIGHTS fds, IP_PKTINFO, ...).
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "msg.h"

#include "addon.h"
#include "args.h"
#include "result.h"
#include "retry.h"
#include "wait.h"
#include "sockaddr.h"

namespace sockfd {

namespace {

// More control data than any socket option produces; a bound, so a hostile length cannot make a
// huge allocation.
constexpr size_t kMaxControl = 1 << 20;

// The elements of a JS array, read before any of them is converted: reading an element may run a
// getter, and no JS may run between taking a view's pointer and the system call.
std::vector<Napi::Value> Elements(Napi::Value value, const char* name, size_t max) {
  if (!value.IsArray()) ThrowTypeError(value.Env(), std::string("The \"") + name + "\" argument must be an array. Received " + Describe(value));
  Napi::Array array = value.As<Napi::Array>();
  uint32_t n = array.Length();
  if (n > max) {
    ThrowRangeError(value.Env(), std::string("The \"") + name + "\" argument has " + std::to_string(n) + " entries; at most " + std::to_string(max) + " are allowed");
  }
  std::vector<Napi::Value> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; i++) out.push_back(array.Get(i));
  return out;
}

struct ControlItem {
  int level;
  int type;
  Napi::Value data;
};

// Fills `iov` from the views, last of all conversions.
// The element's name ("buffers[3]") is only built for an error.
void Views(const std::vector<Napi::Value>& values, const char* name, std::vector<iovec>* iov) {
  iov->resize(values.size());
  for (size_t i = 0; i < values.size(); i++) {
    View v;
    if (!AsView(values[i], &v)) ThrowNotView(values[i], (std::string(name) + "[" + std::to_string(i) + "]").c_str());
    (*iov)[i].iov_base = v.data;
    (*iov)[i].iov_len = v.length;
  }
}

// sendmsg(fd, buffers, control, flags, addr) -> bytes | -errno; corresponds to sendmsg(2).
// `control` is an array of { level, type, data: ArrayBufferView } or undefined; `addr` a SockAddr or
// undefined. MSG_NOSIGNAL is always added.
Napi::Value SendMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  int flags = ToInt32(info[3], "flags");
  sockaddr_storage ss;
  socklen_t sslen = 0;
  if (!info[4].IsUndefined() && !info[4].IsNull()) sslen = SockaddrFromJs(info[4], "addr", &ss);
  std::vector<Napi::Value> buffers = Elements(info[1], "buffers", IOV_MAX);
  std::vector<ControlItem> items;
  if (!info[2].IsUndefined()) {
    for (Napi::Value item : Elements(info[2], "control", 1024)) {
      if (!item.IsObject()) ThrowTypeError(env, "Each \"control\" item must be an object { level, type, data }. Received " + Describe(item));
      Napi::Object obj = item.As<Napi::Object>();
      items.push_back({ToInt32(obj.Get("level"), "control[].level"), ToInt32(obj.Get("type"), "control[].type"), obj.Get("data")});
    }
  }
  // From here on no JS runs: only type checks and pointer reads.
  std::vector<iovec> iov;
  Views(buffers, "buffers", &iov);
  std::vector<View> data;
  size_t space = 0;
  for (const ControlItem& item : items) {
    data.push_back(ToView(item.data, "control[].data"));
    space += CMSG_SPACE(data.back().length);
    if (space > kMaxControl) ThrowRangeError(env, "The \"control\" items exceed " + std::to_string(kMaxControl) + " bytes");
  }
  std::vector<unsigned char> control(space, 0);
  msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_name = sslen ? &ss : nullptr;
  msg.msg_namelen = sslen;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  msg.msg_control = space ? control.data() : nullptr;
  msg.msg_controllen = space;
  cmsghdr* c = space ? CMSG_FIRSTHDR(&msg) : nullptr;
  for (size_t i = 0; i < items.size() && c != nullptr; i++) {
    c->cmsg_level = items[i].level;
    c->cmsg_type = items[i].type;
    c->cmsg_len = CMSG_LEN(data[i].length);
    if (data[i].length) std::memcpy(CMSG_DATA(c), data[i].data, data[i].length);
    c = CMSG_NXTHDR(&msg, c);
  }
  ssize_t r = 0;
  if (!ValidateOnly(info)) {
    r = RetryEintr(fd, true, [&](int more) { return sendmsg(fd, &msg, flags | more | MSG_NOSIGNAL); }, MayBlock(flags));
    if (r >= 0) return Result(env, static_cast<double>(r));
  }
  if (sslen) RememberAddress(env, &ss, sslen);
  return Result(env, static_cast<double>(r));
}

// recvmsg(fd, buffers, controlLength, flags) -> { bytes, flags, address, control } | -errno;
// corresponds to recvmsg(2) with MSG_CMSG_CLOEXEC always added, so fds received with SCM_RIGHTS are
// close-on-exec. `control` is an array of { level, type, data: Buffer } for the complete items the
// kernel wrote; `flags` reports MSG_TRUNC, MSG_CTRUNC, MSG_EOR, MSG_OOB, MSG_ERRQUEUE.
Napi::Value RecvMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  size_t controlLength = static_cast<size_t>(ToInteger(info[2], "controlLength", 0, kMaxControl));
  int flags = ToInt32(info[3], "flags");
  std::vector<Napi::Value> buffers = Elements(info[1], "buffers", IOV_MAX);
  std::vector<iovec> iov;
  Views(buffers, "buffers", &iov);
  if (ValidateOnly(info)) return Result(env, 0);
  // cmsghdr alignment for the control buffer.
  std::vector<cmsghdr> control((controlLength + sizeof(cmsghdr) - 1) / sizeof(cmsghdr));
  sockaddr_storage ss;
  msghdr msg;
  ssize_t r = RetryEintr(fd, false, [&](int more) {
    std::memset(&msg, 0, sizeof msg);
    msg.msg_name = &ss;
    msg.msg_namelen = sizeof ss;
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    msg.msg_control = controlLength ? control.data() : nullptr;
    msg.msg_controllen = controlLength;
    return recvmsg(fd, &msg, flags | more | MSG_CMSG_CLOEXEC);
  }, MayBlock(flags));
  if (r == -EINVAL) {
    // AF_PACKET's recvmsg refuses every flag it does not know, MSG_CMSG_CLOEXEC included; such a
    // socket cannot carry SCM_RIGHTS, so ask it again without the flag.
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_PACKET) {
      r = RetryEintr(fd, false, [&](int more) {
        msg.msg_namelen = sizeof ss;
        msg.msg_controllen = controlLength;
        return recvmsg(fd, &msg, flags | more);
      }, MayBlock(flags));
    }
  }
  if (r < 0) return Result(env, static_cast<double>(r));
  // Every fd that arrived is closed unless the result below is built and returned.
  FdGuard guard;
  std::vector<napi_value> items;
  if (msg.msg_controllen > 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const unsigned char* begin = CMSG_DATA(c);
      const unsigned char* end = reinterpret_cast<const unsigned char*>(control.data()) + msg.msg_controllen;
      size_t want = c->cmsg_len >= CMSG_LEN(0) ? c->cmsg_len - CMSG_LEN(0) : 0;
      size_t have = begin <= end ? static_cast<size_t>(end - begin) : 0;
      if (want > have) {
        // A truncated item: the kernel reports MSG_CTRUNC. Fds in a truncated SCM_RIGHTS item would
        // leak if dropped silently, so close the whole ones that arrived.
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
          for (size_t off = 0; off + sizeof(int) <= have; off += sizeof(int)) {
            int received;
            std::memcpy(&received, begin + off, sizeof received);
            close(received);
          }
        }
        break;
      }
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        for (size_t off = 0; off + sizeof(int) <= want; off += sizeof(int)) {
          int received;
          std::memcpy(&received, begin + off, sizeof received);
          guard.Own(received);
        }
      }
      items.push_back(Fields(env)
                          .Add(Key::level, c->cmsg_level)
                          .Add(Key::type, c->cmsg_type)
                          .Add(Key::data, Napi::Buffer<uint8_t>::Copy(env, begin, want))
                          .Object());
    }
  }
  // MSG_CMSG_CLOEXEC is sockfd's own flag: the kernel echoes it in msg_flags, the caller did not ask.
  int reported = (flags & MSG_CMSG_CLOEXEC) ? msg.msg_flags : msg.msg_flags & ~MSG_CMSG_CLOEXEC;
  Napi::Value out = Fields(env)
                        .Add(Key::bytes, static_cast<double>(r))
                        .Add(Key::flags, reported)
                        .Add(Key::address, SockaddrToJs(env, &ss, msg.msg_namelen))
                        .Add(Key::control, List(env, items.data(), items.size()))
                        .Object();
  guard.Release();
  return out;
}

// sendmmsg(fd, buffers, addrs, flags) -> messages sent | -errno; corresponds to sendmmsg(2): one
// datagram per view. `addrs` is undefined (a connected socket), or an array as long as `buffers`
// whose entries are a SockAddr or undefined. MSG_NOSIGNAL is always added.
Napi::Value SendMMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  int flags = ToInt32(info[3], "flags");
  std::vector<Napi::Value> buffers = Elements(info[1], "buffers", UIO_MAXIOV);
  std::vector<sockaddr_storage> addrs;
  std::vector<socklen_t> addrlens;
  if (!info[2].IsUndefined()) {
    std::vector<Napi::Value> given = Elements(info[2], "addrs", UIO_MAXIOV);
    if (given.size() != buffers.size()) {
      ThrowRangeError(env, "The \"addrs\" argument must have one entry per buffer (" + std::to_string(buffers.size()) + "). Received " +
                               std::to_string(given.size()));
    }
    addrs.resize(given.size());
    addrlens.resize(given.size(), 0);
    for (size_t i = 0; i < given.size(); i++) {
      // A valid binary address is taken in one Node-API call; anything else gets the full converter,
      // with the entry's name ("addrs[3]") for its errors.
      View v;
      if (AsView(given[i], &v) && TryBinaryFromView(v, &addrs[i], &addrlens[i])) continue;
      if (given[i].IsUndefined() || given[i].IsNull()) continue;
      std::string at = "addrs[" + std::to_string(i) + "]";
      addrlens[i] = SockaddrFromJs(given[i], at.c_str(), &addrs[i]);
    }
  }
  std::vector<iovec> iov;
  Views(buffers, "buffers", &iov);
  std::vector<mmsghdr> msgs(iov.size());
  for (size_t i = 0; i < msgs.size(); i++) {
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (!addrlens.empty() && addrlens[i] != 0) {
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = addrlens[i];
    }
  }
  if (ValidateOnly(info)) return Result(env, 0);
  int r = RetryEintr(fd, true, [&](int more) {
    return sendmmsg(fd, msgs.data(), static_cast<unsigned>(msgs.size()), flags | more | MSG_NOSIGNAL);
  }, MayBlock(flags));
  return Result(env, r);
}

// recvmmsg(fd, buffers, flags, timeoutMs, lengths, wantAddresses) -> messages | -errno; corresponds
// to recvmmsg(2): one datagram into each view. The true length of message i (more than its view
// under MSG_TRUNC) is written to lengths[i] (a Uint32Array at least as long as `buffers`), so the
// common case allocates nothing; when `wantAddresses`, the result is instead an array of
// { bytes, flags, address } for the messages received. timeoutMs < 0 means none (recvmmsg's own
// timeout, checked after each datagram, as the man page warns).
Napi::Value RecvMMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  int flags = ToInt32(info[2], "flags");
  int64_t timeout = ToInteger(info[3], "timeout", -1, INT32_MAX);
  bool wantAddresses = info[5].ToBoolean().Value();
  std::vector<Napi::Value> buffers = Elements(info[1], "buffers", UIO_MAXIOV);
  View lengths = ToView(info[4], "lengths");
  if (lengths.length < buffers.size() * sizeof(uint32_t)) {
    ThrowRangeError(env, "The \"lengths\" argument must hold one uint32 per buffer (" + std::to_string(buffers.size()) + ")");
  }
  std::vector<iovec> iov;
  Views(buffers, "buffers", &iov);
  std::vector<mmsghdr> msgs(iov.size());
  std::vector<sockaddr_storage> addrs(wantAddresses ? iov.size() : 0);
  for (size_t i = 0; i < msgs.size(); i++) {
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    if (wantAddresses) {
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
  }
  if (ValidateOnly(info)) return Result(env, 0);
  int r = RecvMMsgTimed(fd, msgs.data(), static_cast<unsigned>(msgs.size()), flags, timeout);
  if (r < 0) return Result(env, r);
  for (int i = 0; i < r; i++) {
    uint32_t n = msgs[i].msg_len;
    std::memcpy(lengths.data + i * sizeof(uint32_t), &n, sizeof n);
  }
  if (!wantAddresses) return Result(env, r);
  std::vector<napi_value> out(r);
  for (int i = 0; i < r; i++) {
    out[i] = Fields(env)
                 .Add(Key::bytes, msgs[i].msg_len)
                 .Add(Key::flags, msgs[i].msg_hdr.msg_flags)
                 .Add(Key::address, SockaddrToJs(env, &addrs[i], msgs[i].msg_hdr.msg_namelen))
                 .Object();
  }
  return List(env, out.data(), out.size());
}

}  // namespace

int RecvMMsgTimed(int fd, mmsghdr* msgs, unsigned count, int flags, int64_t timeoutMs) {
  Deadline deadline = Deadline::AfterMs(NowUs(), timeoutMs);
  return RetryEintr(fd, false, [&](int more) {
    timespec ts = ToTimespec(deadline.RemainingUs());
    return recvmmsg(fd, msgs, count, flags | more, deadline.forever() ? nullptr : &ts);
  }, MayBlock(flags));
}

void InitMsg(Napi::Env env, Napi::Object exports) {
  ExportWithValidation<SendMMsg>(env, exports, "sendmmsg");
  ExportWithValidation<RecvMMsg>(env, exports, "recvmmsg");
  ExportWithValidation<SendMsg>(env, exports, "sendmsg");
  ExportWithValidation<RecvMsg>(env, exports, "recvmsg");
}

}  // namespace sockfd
