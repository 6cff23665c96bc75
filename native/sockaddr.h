// The one place where JS address objects and C sockaddrs meet, for every family sockfd knows:
//   { family: AF_INET,    address, port }
//   { family: AF_INET6,   address, port, flowinfo?, scopeId? }   (address may carry a '%zone' suffix)
//   { family: AF_UNIX,    path }          (string or Buffer; abstract names start with '\0'; '' is unnamed)
//   { family: AF_PACKET,  protocol, ifindex, hatype?, pkttype?, halen?, addr? }  (protocol in network order)
//   { family: AF_NETLINK, pid?, groups? }
// Any other family read back from the kernel becomes { family, data: Buffer } with the raw bytes.
//
// The binary form (for hot loops that must not create objects): an ArrayBufferView holding a 4-byte
// host-order length followed by that many bytes of sockaddr, kSockaddrBinarySize bytes at most.
// encodeSockaddr() makes one, recvfrom() can fill one, and every call that takes an address takes one.
#ifndef SOCKFD_SOCKADDR_H_
#define SOCKFD_SOCKADDR_H_

#include <napi.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "args.h"

namespace sockfd {

constexpr size_t kSockaddrBinarySize = 4 + sizeof(sockaddr_storage);

// The out-of-line parts of the converters below: the object form, and the errors.
socklen_t SockaddrObjectFromJs(Napi::Value value, const char* name, sockaddr_storage* storage);
[[noreturn]] void ThrowNotBinary(Napi::Env env, const char* name);
// A binary sockaddr holder (`name`) smaller than kSockaddrBinarySize.
[[noreturn]] void ThrowHolderTooSmall(Napi::Env env, const char* name, size_t capacity);

// The binary form in `view` copied into `storage` (the bytes past the length are zeroed); false,
// with nothing written, when `view` is not a binary sockaddr. Only the bounds are checked here; the
// kernel judges the contents, as it does in C.
inline bool TryBinaryFromView(const View& view, sockaddr_storage* storage, socklen_t* out) {
  uint32_t length = 0;
  if (view.length >= 4) std::memcpy(&length, view.data, 4);
  if (view.length < 4 || length < sizeof(sa_family_t) || length > sizeof(*storage) || view.length < 4 + length) return false;
  std::memcpy(storage, view.data + 4, length);
  std::memset(reinterpret_cast<uint8_t*>(storage) + length, 0, sizeof(*storage) - length);
  *out = static_cast<socklen_t>(length);
  return true;
}

// The same, throwing a RangeError naming the argument.
inline socklen_t BinaryFromView(Napi::Env env, const View& view, const char* name, sockaddr_storage* storage) {
  socklen_t length;
  if (!TryBinaryFromView(view, storage, &length)) ThrowNotBinary(env, name);
  return length;
}

// Fills `storage` from the JS address `value` (an object or the binary form) and returns the
// sockaddr's length. Throws a TypeError/RangeError naming `name.field` for anything malformed; makes
// no system call beyond if_nametoindex for a named IPv6 zone. The binary form is inline: it is the
// hot path of a datagram loop, one Node-API call.
inline socklen_t SockaddrFromJs(Napi::Value value, const char* name, sockaddr_storage* storage) {
  View view;
  if (AsView(value, &view)) return BinaryFromView(value.Env(), view, name, storage);
  return SockaddrObjectFromJs(value, name, storage);
}

// Writes the binary form of a sockaddr into `out` (at least kSockaddrBinarySize bytes, checked).
inline void SockaddrToBinary(Napi::Env env, const sockaddr_storage* storage, socklen_t length, uint8_t* out, size_t capacity) {
  if (capacity < kSockaddrBinarySize) ThrowHolderTooSmall(env, "holder", capacity);
  uint32_t n = length > sizeof(*storage) ? sizeof(*storage) : length;
  std::memcpy(out, &n, 4);
  std::memcpy(out + 4, storage, n);
}

// The JS object for a sockaddr the kernel returned; null when `length` is 0 (no address, as a
// connected stream socket's recvfrom reports).
Napi::Value SockaddrToJs(Napi::Env env, const sockaddr_storage* storage, socklen_t length);

}  // namespace sockfd

#endif  // SOCKFD_SOCKADDR_H_
