// Messages: sendmsg(2) and recvmsg(2), and the batches sendmmsg(2) and recvmmsg(2), with scatter/gather over several ArrayBufferViews (the views'
// own memory, never copies), an optional address, and ancillary data as raw { level, type, data }
// items; the TypeScript layer gives the items their types (SCM_RIGHTS fds, IP_PKTINFO, ...).
#include <errno.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "addon.h"
#include "args.h"
#include "retry.h"
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
  ssize_t r = RetryEintr(fd, true, [&](int more) { return sendmsg(fd, &msg, flags | more | MSG_NOSIGNAL); });
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
  });
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
      });
    }
  }
  if (r < 0) return Result(env, static_cast<double>(r));
  Napi::Array items = Napi::Array::New(env);
  uint32_t n = 0;
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
      Napi::Object item = Napi::Object::New(env);
      item.Set("level", Napi::Number::New(env, c->cmsg_level));
      item.Set("type", Napi::Number::New(env, c->cmsg_type));
      item.Set("data", Napi::Buffer<uint8_t>::Copy(env, begin, want));
      items.Set(n++, item);
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(r)));
  out.Set("flags", Napi::Number::New(env, msg.msg_flags));
  out.Set("address", SockaddrToJs(env, &ss, msg.msg_namelen));
  out.Set("control", items);
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
  int r = RetryEintr(fd, true, [&](int more) {
    return sendmmsg(fd, msgs.data(), static_cast<unsigned>(msgs.size()), flags | more | MSG_NOSIGNAL);
  });
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
  timespec ts = {static_cast<time_t>(timeout / 1000), static_cast<long>((timeout % 1000) * 1000000)};
  int r = RetryEintr(fd, false, [&](int more) {
    return recvmmsg(fd, msgs.data(), static_cast<unsigned>(msgs.size()), flags | more, timeout >= 0 ? &ts : nullptr);
  });
  if (r < 0) return Result(env, r);
  for (int i = 0; i < r; i++) {
    uint32_t n = msgs[i].msg_len;
    std::memcpy(lengths.data + i * sizeof(uint32_t), &n, sizeof n);
  }
  if (!wantAddresses) return Result(env, r);
  Napi::Array out = Napi::Array::New(env, r);
  for (int i = 0; i < r; i++) {
    Napi::Object m = Napi::Object::New(env);
    m.Set("bytes", Napi::Number::New(env, msgs[i].msg_len));
    m.Set("flags", Napi::Number::New(env, msgs[i].msg_hdr.msg_flags));
    m.Set("address", SockaddrToJs(env, &addrs[i], msgs[i].msg_hdr.msg_namelen));
    out.Set(static_cast<uint32_t>(i), m);
  }
  return out;
}

// The packed batch behind MMsgBatch: slots of `size` bytes back to back in one view (`data`), a
// Uint32Array-shaped view of one length per slot (`lengths`), and optionally one binary sockaddr of
// kSockaddrBinarySize bytes per slot (`addrs`). A call on slots [start, start + count) makes the same
// few Node-API calls whatever the count, creates no JS value, and builds its mmsghdr array in
// per-thread storage reused from call to call.
struct Packed {
  int fd;
  size_t size, start, count;
  int flags;
  View data, lengths, addrs;
  bool hasAddrs;
};

// (fd, data, size, lengths, addrs, start, count, flags): everything checked, the views last.
__attribute__((hot)) Packed ToPacked(const Napi::CallbackInfo& info) {
  Packed p;
  p.fd = ArgFd(info, 0);
  p.size = static_cast<size_t>(ToInteger(info[2], "size", 1, INT32_MAX));
  p.start = static_cast<size_t>(ToInteger(info[5], "start", 0, INT32_MAX));
  p.count = static_cast<size_t>(ToInteger(info[6], "count", 0, UIO_MAXIOV));
  p.flags = ToInt32(info[7], "flags");
  p.data = ToView(info[1], "data");
  p.lengths = ToView(info[3], "lengths");
  p.hasAddrs = AsView(info[4], &p.addrs);
  if (!p.hasAddrs && !info[4].IsUndefined()) ThrowNotView(info[4], "addrs");
  // Each bound is checked by division, never by a product that could wrap a 32-bit size_t.
  size_t end = p.start + p.count;  // below 2**31 + 1024: no overflow
  if (p.data.length / p.size < end) {
    ThrowRangeError(info.Env(), "The batch has " + std::to_string(p.data.length / p.size) + " slots of " + std::to_string(p.size) +
                                    " bytes; slots up to " + std::to_string(end) + " were asked for");
  }
  if (p.lengths.length / sizeof(uint32_t) < end) ThrowRangeError(info.Env(), "The \"lengths\" argument must hold one uint32 per slot (" + std::to_string(end) + ")");
  if (p.hasAddrs && p.addrs.length / kSockaddrBinarySize < end) {
    ThrowRangeError(info.Env(), "The \"addrs\" argument must hold one binary sockaddr per slot (" + std::to_string(end) + ")");
  }
  return p;
}

uint32_t U32At(const View& v, size_t i) {
  uint32_t x;
  std::memcpy(&x, v.data + i * sizeof x, sizeof x);
  return x;
}

void SetU32(const View& v, size_t i, uint32_t x) { std::memcpy(v.data + i * sizeof x, &x, sizeof x); }

// Reused per thread (each worker has its own): at most UIO_MAXIOV entries each.
thread_local std::vector<mmsghdr> tMsgs;
thread_local std::vector<iovec> tIov;

// Fills tMsgs/tIov for the slots; `sending` takes each slot's length from `lengths` (checked against
// the slot size) and its address from `addrs` (length 0 = none), else offers the whole slot and room
// for an address.
__attribute__((hot)) void Prepare(Napi::Env env, const Packed& p, bool sending) {
  tMsgs.assign(p.count, mmsghdr{});
  tIov.resize(p.count);
  for (size_t k = 0; k < p.count; k++) {
    size_t i = p.start + k;
    size_t len = p.size;
    if (sending) {
      len = U32At(p.lengths, i);
      if (len > p.size) ThrowRangeError(env, "The length of slot " + std::to_string(i) + " (" + std::to_string(len) + ") is more than the slot size " + std::to_string(p.size));
    }
    tIov[k] = iovec{p.data.data + i * p.size, len};
    msghdr& h = tMsgs[k].msg_hdr;
    h.msg_iov = &tIov[k];
    h.msg_iovlen = 1;
    if (!p.hasAddrs) continue;
    uint8_t* a = p.addrs.data + i * kSockaddrBinarySize;
    if (sending) {
      uint32_t alen;
      std::memcpy(&alen, a, 4);
      if (alen == 0) continue;
      if (alen < sizeof(sa_family_t) || alen > sizeof(sockaddr_storage)) {
        ThrowRangeError(env, "The address of slot " + std::to_string(i) + " is not a binary sockaddr (length " + std::to_string(alen) + ")");
      }
      h.msg_namelen = alen;
    } else {
      h.msg_namelen = sizeof(sockaddr_storage);
    }
    h.msg_name = a + 4;
  }
}

// sendmmsgPacked(fd, data, size, lengths, addrs, start, count, flags) -> messages sent | -errno.
Napi::Value SendMMsgPacked(const Napi::CallbackInfo& info) {
  Packed p = ToPacked(info);
  Prepare(info.Env(), p, true);
  int r = RetryEintr(p.fd, true, [&](int more) {
    return sendmmsg(p.fd, tMsgs.data(), static_cast<unsigned>(p.count), p.flags | more | MSG_NOSIGNAL);
  });
  return Result(info.Env(), r);
}

// recvmmsgPacked(fd, data, size, lengths, addrs, start, count, flags, timeoutMs, msgFlags) ->
// messages | -errno: message k lands in slot start + k, its true length in lengths, its msg_flags in
// msgFlags (a Uint32Array-shaped view like lengths, or undefined), its sender in addrs.
Napi::Value RecvMMsgPacked(const Napi::CallbackInfo& info) {
  int64_t timeout = ToInteger(info[8], "timeout", -1, INT32_MAX);
  Packed p = ToPacked(info);
  View msgFlags = {nullptr, 0};
  bool hasFlags = AsView(info[9], &msgFlags);
  if (!hasFlags && !info[9].IsUndefined()) ThrowNotView(info[9], "msgFlags");
  if (hasFlags && msgFlags.length / sizeof(uint32_t) < p.start + p.count) {
    ThrowRangeError(info.Env(), "The \"msgFlags\" argument must hold one uint32 per slot (" + std::to_string(p.start + p.count) + ")");
  }
  Prepare(info.Env(), p, false);
  timespec ts = {static_cast<time_t>(timeout / 1000), static_cast<long>((timeout % 1000) * 1000000)};
  int r = RetryEintr(p.fd, false, [&](int more) {
    return recvmmsg(p.fd, tMsgs.data(), static_cast<unsigned>(p.count), p.flags | more, timeout >= 0 ? &ts : nullptr);
  });
  for (int k = 0; k < r; k++) {
    size_t i = p.start + k;
    SetU32(p.lengths, i, tMsgs[k].msg_len);
    if (hasFlags) SetU32(msgFlags, i, static_cast<uint32_t>(tMsgs[k].msg_hdr.msg_flags));
    if (p.hasAddrs) {
      uint32_t n = tMsgs[k].msg_hdr.msg_namelen;
      if (n > sizeof(sockaddr_storage)) n = sizeof(sockaddr_storage);
      std::memcpy(p.addrs.data + i * kSockaddrBinarySize, &n, 4);
    }
  }
  return Result(info.Env(), r);
}

}  // namespace

void InitMsg(Napi::Env env, Napi::Object exports) {
  exports.Set("sendmmsg", HotFunction<SendMMsg>(env, "sendmmsg"));
  exports.Set("recvmmsg", HotFunction<RecvMMsg>(env, "recvmmsg"));
  exports.Set("sendmsg", HotFunction<SendMsg>(env, "sendmsg"));
  exports.Set("recvmsg", HotFunction<RecvMsg>(env, "recvmsg"));
  exports.Set("sendmmsgPacked", HotFunction<SendMMsgPacked>(env, "sendmmsgPacked"));
  exports.Set("recvmmsgPacked", HotFunction<RecvMMsgPacked>(env, "recvmmsgPacked"));
}

}  // namespace sockfd
