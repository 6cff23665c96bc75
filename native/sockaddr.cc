#include "sockaddr.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "addon.h"
#include "args.h"
#include "result.h"

namespace sockfd {

namespace {

std::string Field(const char* name, Key key) { return std::string(name) + "." + KeyName(key); }

// A property of the address object, read with the environment's cached key; `required` fields that
// are undefined are a TypeError naming `name.field`.
Napi::Value Get(Napi::Object obj, const char* name, Key key, bool required) {
  Napi::Value v = obj.Get(Napi::Value(obj.Env(), KeyOf(obj.Env(), key)));
  if (required && v.IsUndefined()) {
    ThrowTypeError(obj.Env(), "The \"" + Field(name, key) + "\" property is required. Received undefined");
  }
  return v;
}

int64_t GetInteger(Napi::Object obj, const char* name, Key field, bool required, int64_t min,
                   int64_t max, int64_t fallback) {
  Napi::Value v = Get(obj, name, field, required);
  if (v.IsUndefined()) return fallback;
  // The common case without building the field's name: a number in range.
  double d;
  if (napi_get_value_double(obj.Env(), v, &d) == napi_ok && d >= static_cast<double>(min) && d <= static_cast<double>(max) &&
      d == static_cast<double>(static_cast<int64_t>(d))) {
    return static_cast<int64_t>(d);
  }
  std::string full = Field(name, field);
  return ToInteger(v, full.c_str(), min, max);
}

// An IP literal property into a stack buffer (no allocation); returns its length, or throws for a
// non-string, naming the field. Literals longer than the buffer cannot be addresses: they are cut,
// and inet_pton then refuses them.
size_t GetLiteral(Napi::Object obj, const char* name, char* out, size_t size) {
  Napi::Value v = Get(obj, name, Key::address, true);
  size_t n = 0;
  if (napi_get_value_string_utf8(obj.Env(), v, out, size, &n) != napi_ok) {
    std::string full = Field(name, Key::address);
    ToUtf8(v, full.c_str());  // throws the TypeError
  }
  return n;
}

// The bytes of a string or ArrayBufferView property, copied out at once so that no later getter can
// change them.
std::string GetBytes(Napi::Object obj, const char* name, Key field) {
  Napi::Value v = Get(obj, name, field, true);
  std::string full = Field(name, field);
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  View view = ToView(v, full.c_str());
  return std::string(reinterpret_cast<const char*>(view.data), view.length);
}

socklen_t Inet4FromJs(Napi::Object obj, const char* name, sockaddr_storage* storage) {
  char address[64];
  size_t n = GetLiteral(obj, name, address, sizeof address);
  uint16_t port = static_cast<uint16_t>(GetInteger(obj, name, Key::port, true, 0, 65535, 0));
  auto* sin = reinterpret_cast<sockaddr_in*>(storage);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  if (std::strlen(address) != n || inet_pton(AF_INET, address, &sin->sin_addr) != 1) {
    // The message shows the value that was read (once), cut where the buffer cut it.
    std::string shown(address, n);
    for (char& c : shown) if (c == '\0') c = ' ';
    if (n + 1 == sizeof address) shown += "...";
    ThrowTypeError(obj.Env(), "The \"" + Field(name, Key::address) + "\" property must be an IPv4 address literal. Received '" + shown + "'",
                   "ERR_INVALID_ARG_VALUE");
  }
  return sizeof(sockaddr_in);
}

socklen_t Inet6FromJs(Napi::Object obj, const char* name, sockaddr_storage* storage) {
  std::string full = Field(name, Key::address);
  std::string address = ToUtf8(Get(obj, name, Key::address, true), full.c_str());
  uint16_t port = static_cast<uint16_t>(GetInteger(obj, name, Key::port, true, 0, 65535, 0));
  uint32_t flowinfo = static_cast<uint32_t>(GetInteger(obj, name, Key::flowinfo, false, 0, 0xfffff, 0));
  uint32_t scope = static_cast<uint32_t>(GetInteger(obj, name, Key::scopeId, false, 0, UINT32_MAX, 0));
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_flowinfo = htonl(flowinfo);
  // A '%zone' suffix (fe80::1%eth0 or fe80::1%2) names the scope, as getaddrinfo accepts it.
  size_t percent = address.find('%');
  std::string host = address.substr(0, percent);
  if (percent != std::string::npos) {
    std::string zone = address.substr(percent + 1);
    char* end = nullptr;
    unsigned long numeric = zone.empty() ? 0 : std::strtoul(zone.c_str(), &end, 10);
    if (!zone.empty() && end && *end == '\0' && numeric <= UINT32_MAX) {
      scope = static_cast<uint32_t>(numeric);
    } else if (zone.empty() || zone.find('\0') != std::string::npos || (scope = if_nametoindex(zone.c_str())) == 0) {
      ThrowTypeError(obj.Env(), "The \"" + full + "\" property names an unknown zone. Received '" + address + "'",
                     "ERR_INVALID_ARG_VALUE");
    }
  }
  sin6->sin6_scope_id = scope;
  if (host.find('\0') != std::string::npos || inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) {
    ThrowTypeError(obj.Env(), "The \"" + full + "\" property must be an IPv6 address literal. Received '" + address + "'",
                   "ERR_INVALID_ARG_VALUE");
  }
  return sizeof(sockaddr_in6);
}

socklen_t UnixFromJs(Napi::Object obj, const char* name, sockaddr_storage* storage) {
  std::string path = GetBytes(obj, name, Key::path);
  auto* sun = reinterpret_cast<sockaddr_un*>(storage);
  sun->sun_family = AF_UNIX;
  bool abstract = !path.empty() && path[0] == '\0';
  if (path.size() > sizeof(sun->sun_path)) {
    ThrowRangeError(obj.Env(), "The \"" + Field(name, Key::path) + "\" property is too long: " + std::to_string(path.size()) +
                                   " bytes, and sun_path holds " + std::to_string(sizeof(sun->sun_path)));
  }
  if (!abstract && path.find('\0') != std::string::npos) {
    ThrowTypeError(obj.Env(), "The \"" + Field(name, Key::path) +
                                  "\" property must not contain NUL bytes, except as the first byte of an abstract name",
                   "ERR_INVALID_ARG_VALUE");
  }
  std::memcpy(sun->sun_path, path.data(), path.size());
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  // A pathname carries its terminating NUL when there is room (storage is zeroed); an abstract name
  // is exactly its bytes; '' is the unnamed address (autobind on bind).
  if (!abstract && !path.empty() && path.size() < sizeof(sun->sun_path)) length += 1;
  return length;
}

socklen_t PacketFromJs(Napi::Object obj, const char* name, sockaddr_storage* storage) {
  auto* sll = reinterpret_cast<sockaddr_ll*>(storage);
  sll->sll_family = AF_PACKET;
  sll->sll_protocol = static_cast<uint16_t>(GetInteger(obj, name, Key::protocol, true, 0, 0xffff, 0));
  sll->sll_ifindex = static_cast<int>(GetInteger(obj, name, Key::ifindex, true, 0, INT32_MAX, 0));
  sll->sll_hatype = static_cast<uint16_t>(GetInteger(obj, name, Key::hatype, false, 0, 0xffff, 0));
  sll->sll_pkttype = static_cast<uint8_t>(GetInteger(obj, name, Key::pkttype, false, 0, 0xff, 0));
  std::string addr;
  if (!Get(obj, name, Key::addr, false).IsUndefined()) addr = GetBytes(obj, name, Key::addr);
  if (addr.size() > sizeof(sll->sll_addr)) {
    ThrowRangeError(obj.Env(), "The \"" + Field(name, Key::addr) + "\" property is too long: " + std::to_string(addr.size()) +
                                   " bytes, and sll_addr holds " + std::to_string(sizeof(sll->sll_addr)));
  }
  sll->sll_halen = static_cast<uint8_t>(
      GetInteger(obj, name, Key::halen, false, 0, sizeof(sll->sll_addr), static_cast<int64_t>(addr.size())));
  std::memcpy(sll->sll_addr, addr.data(), addr.size());
  return sizeof(sockaddr_ll);
}

socklen_t NetlinkFromJs(Napi::Object obj, const char* name, sockaddr_storage* storage) {
  auto* nl = reinterpret_cast<sockaddr_nl*>(storage);
  nl->nl_family = AF_NETLINK;
  nl->nl_pid = static_cast<uint32_t>(GetInteger(obj, name, Key::pid, false, 0, UINT32_MAX, 0));
  nl->nl_groups = static_cast<uint32_t>(GetInteger(obj, name, Key::groups, false, 0, UINT32_MAX, 0));
  return sizeof(sockaddr_nl);
}


}  // namespace

void ThrowNotBinary(Napi::Env env, const char* name) {
  ThrowRangeError(env, std::string("The \"") + name + "\" argument is not a binary sockaddr: it must hold a 4-byte length (2 to " +
                           std::to_string(sizeof(sockaddr_storage)) + ") and that many bytes");
}

void ThrowHolderTooSmall(Napi::Env env, const char* name, size_t capacity) {
  ThrowRangeError(env, std::string("The \"") + name + "\" argument must have at least " + std::to_string(kSockaddrBinarySize) +
                           " bytes. Received " + std::to_string(capacity));
}

socklen_t SockaddrObjectFromJs(Napi::Value value, const char* name, sockaddr_storage* storage) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be a SockAddr object. Received " + Describe(value));
  }
  Napi::Object obj = value.As<Napi::Object>();
  std::memset(storage, 0, sizeof(*storage));
  int family = static_cast<int>(GetInteger(obj, name, Key::family, true, 0, 0xffff, 0));
  switch (family) {
    case AF_INET: return Inet4FromJs(obj, name, storage);
    case AF_INET6: return Inet6FromJs(obj, name, storage);
    case AF_UNIX: return UnixFromJs(obj, name, storage);
    case AF_PACKET: return PacketFromJs(obj, name, storage);
    case AF_NETLINK: return NetlinkFromJs(obj, name, storage);
    default:
      ThrowRangeError(env, "The \"" + Field(name, Key::family) + "\" property must be AF_INET, AF_INET6, AF_UNIX, AF_PACKET or AF_NETLINK. Received " +
                               std::to_string(family), "ERR_INVALID_ARG_VALUE");
  }
}

Napi::Value SockaddrToJs(Napi::Env env, const sockaddr_storage* storage, socklen_t length) {
  if (length < sizeof(sa_family_t)) return env.Null();
  if (length > sizeof(*storage)) length = sizeof(*storage);
  Fields out(env);
  int family = storage->ss_family;
  out.Add(Key::family, family);
  char text[INET6_ADDRSTRLEN];
  switch (family) {
    case AF_INET: {
      auto* sin = reinterpret_cast<const sockaddr_in*>(storage);
      inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
      out.Add(Key::address, Napi::String::New(env, text)).Add(Key::port, ntohs(sin->sin_port));
      break;
    }
    case AF_INET6: {
      auto* sin6 = reinterpret_cast<const sockaddr_in6*>(storage);
      inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
      out.Add(Key::address, Napi::String::New(env, text))
          .Add(Key::port, ntohs(sin6->sin6_port))
          .Add(Key::flowinfo, ntohl(sin6->sin6_flowinfo))
          .Add(Key::scopeId, sin6->sin6_scope_id);
      break;
    }
    case AF_UNIX: {
      auto* sun = reinterpret_cast<const sockaddr_un*>(storage);
      size_t n = length - offsetof(sockaddr_un, sun_path);
      // A pathname ends at its first NUL; an abstract name (leading NUL) is all of its bytes.
      if (n > 0 && sun->sun_path[0] != '\0') n = strnlen(sun->sun_path, n);
      out.Add(Key::path, UnixNameToJs(env, sun->sun_path, n));
      break;
    }
    case AF_PACKET: {
      auto* sll = reinterpret_cast<const sockaddr_ll*>(storage);
      size_t halen = sll->sll_halen < sizeof(sll->sll_addr) ? sll->sll_halen : sizeof(sll->sll_addr);
      out.Add(Key::protocol, sll->sll_protocol)
          .Add(Key::ifindex, sll->sll_ifindex)
          .Add(Key::hatype, sll->sll_hatype)
          .Add(Key::pkttype, sll->sll_pkttype)
          .Add(Key::halen, sll->sll_halen)
          .Add(Key::addr, Napi::Buffer<uint8_t>::Copy(env, sll->sll_addr, halen));
      break;
    }
    case AF_NETLINK: {
      auto* nl = reinterpret_cast<const sockaddr_nl*>(storage);
      out.Add(Key::pid, nl->nl_pid).Add(Key::groups, nl->nl_groups);
      break;
    }
    default: {
      const uint8_t* bytes = reinterpret_cast<const uint8_t*>(storage) + sizeof(sa_family_t);
      out.Add(Key::data, Napi::Buffer<uint8_t>::Copy(env, bytes, length - sizeof(sa_family_t)));
    }
  }
  return out.Object();
}

namespace {

// decodeSockaddr(binary) -> SockAddr | null: the binary form (see sockaddr.h) as an address object,
// through the same conversion as every other address.
Napi::Value DecodeSockaddr(const Napi::CallbackInfo& info) {
  // An empty address (length 0: what recvfrom on a stream socket or recvmmsg from an unnamed
  // AF_UNIX peer reports) is null; anything else must be a well-formed binary sockaddr.
  View view = ToView(info[0], "binary");
  uint32_t length = 1;
  if (view.length >= 4) std::memcpy(&length, view.data, 4);
  if (length == 0) return info.Env().Null();
  sockaddr_storage ss;
  socklen_t len = BinaryFromView(info.Env(), view, "binary", &ss);
  return SockaddrToJs(info.Env(), &ss, len);
}

// decodeRawSockaddr(bytes) -> SockAddr | null: bare sockaddr bytes (an IP_RECVERR offender, say).
Napi::Value DecodeRawSockaddr(const Napi::CallbackInfo& info) {
  View view = ToView(info[0], "bytes");
  sockaddr_storage ss;
  std::memset(&ss, 0, sizeof ss);
  size_t n = view.length < sizeof ss ? view.length : sizeof ss;
  std::memcpy(&ss, view.data, n);
  return SockaddrToJs(info.Env(), &ss, static_cast<socklen_t>(n));
}

// encodeSockaddr(addr) -> Buffer: the binary form of an address, converted once for hot loops.
Napi::Value EncodeSockaddr(const Napi::CallbackInfo& info) {
  sockaddr_storage ss;
  socklen_t len = SockaddrFromJs(info[0], "addr", &ss);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(info.Env(), kSockaddrBinarySize);
  std::memset(out.Data(), 0, kSockaddrBinarySize);
  SockaddrToBinary(info.Env(), &ss, len, out.Data(), out.Length());
  return out;
}

}  // namespace

void InitSockaddr(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"decodeSockaddr", DecodeSockaddr},
      {"decodeRawSockaddr", DecodeRawSockaddr},
      {"encodeSockaddr", EncodeSockaddr},
  });
}

}  // namespace sockfd
