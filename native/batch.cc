// The packed batch calls behind MMsgBatch (src/batch.ts): sendmmsg(2) and recvmmsg(2) over slots of
// one buffer, with no JS value created per datagram.
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"
#include "msg.h"
#include "retry.h"
#include "sockaddr.h"

namespace sockfd {

namespace {

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
  if (ValidateOnly(info)) return Result(info.Env(), 0);
  int r = RetryEintr(p.fd, true, [&](int more) {
    return sendmmsg(p.fd, tMsgs.data(), static_cast<unsigned>(p.count), p.flags | more | MSG_NOSIGNAL);
  }, MayBlock(p.flags));
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
  if (ValidateOnly(info)) return Result(info.Env(), 0);
  int r = RecvMMsgTimed(p.fd, tMsgs.data(), static_cast<unsigned>(p.count), p.flags, timeout);
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

void InitBatch(Napi::Env env, Napi::Object exports) {
  ExportWithValidation<SendMMsgPacked>(env, exports, "sendmmsgPacked");
  ExportWithValidation<RecvMMsgPacked>(env, exports, "recvmmsgPacked");
}

}  // namespace sockfd
