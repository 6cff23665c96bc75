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

namespace sockfd {

// Fills `storage` from the JS address `value` and returns the sockaddr's length. Throws a
// TypeError/RangeError naming `name.field` for anything malformed; makes no system call beyond
// if_nametoindex for a named IPv6 zone.
socklen_t SockaddrFromJs(Napi::Value value, const char* name, sockaddr_storage* storage);

constexpr size_t kSockaddrBinarySize = 4 + sizeof(sockaddr_storage);

// Writes the binary form of a sockaddr into `out` (at least kSockaddrBinarySize bytes, checked).
void SockaddrToBinary(Napi::Env env, const sockaddr_storage* storage, socklen_t length, const uint8_t* out, size_t capacity);

// The JS object for a sockaddr the kernel returned; null when `length` is 0 (no address, as a
// connected stream socket's recvfrom reports).
Napi::Value SockaddrToJs(Napi::Env env, const sockaddr_storage* storage, socklen_t length);

}  // namespace sockfd

#endif  // SOCKFD_SOCKADDR_H_
