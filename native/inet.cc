// Names and numbers: if_nametoindex(3), if_indextoname(3), inet_pton(3), inet_ntop(3).
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

#include "addon.h"
#include "args.h"

namespace sockfd {

namespace {


// if_nametoindex(name) -> index | -errno (ENODEV for an unknown name).
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  std::string name = ToUtf8(info[0], "name");
  if (name.size() >= IF_NAMESIZE || name.find('\0') != std::string::npos) return Result(info.Env(), -ENODEV);
  errno = 0;
  unsigned index = if_nametoindex(name.c_str());
  if (index == 0) return Result(info.Env(), errno ? -errno : -ENODEV);
  return Result(info.Env(), index);
}

// if_indextoname(index) -> name | -errno (ENXIO for an unknown index).
Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  unsigned index = static_cast<unsigned>(ToInteger(info[0], "index", 0, UINT32_MAX));
  char name[IF_NAMESIZE];
  if (if_indextoname(index, name) == nullptr) return Result(info.Env(), -errno);
  return Napi::String::New(info.Env(), name);
}

// inet_pton(af, src) -> Buffer (4 or 16 bytes) | null (not an address of that family) | -errno.
Napi::Value InetPton(const Napi::CallbackInfo& info) {
  int af = ToInt32(info[0], "af");
  std::string src = ToUtf8(info[1], "src");
  if (af != AF_INET && af != AF_INET6) return Result(info.Env(), -EAFNOSUPPORT);
  unsigned char out[sizeof(in6_addr)];
  if (src.find('\0') != std::string::npos || inet_pton(af, src.c_str(), out) != 1) return info.Env().Null();
  return Napi::Buffer<uint8_t>::Copy(info.Env(), out, af == AF_INET ? sizeof(in_addr) : sizeof(in6_addr));
}

// inet_ntop(af, src) -> string | -errno. `src` must hold at least the 4 or 16 bytes the family needs.
Napi::Value InetNtop(const Napi::CallbackInfo& info) {
  int af = ToInt32(info[0], "af");
  if (af != AF_INET && af != AF_INET6) return Result(info.Env(), -EAFNOSUPPORT);
  View view = ToView(info[1], "src");
  size_t need = af == AF_INET ? sizeof(in_addr) : sizeof(in6_addr);
  if (view.length < need) {
    ThrowRangeError(info.Env(), "The \"src\" argument must hold at least " + std::to_string(need) + " bytes. Received " +
                                    std::to_string(view.length));
  }
  unsigned char bytes[sizeof(in6_addr)];
  std::memcpy(bytes, view.data, need);
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(af, bytes, text, sizeof text) == nullptr) return Result(info.Env(), -errno);
  return Napi::String::New(info.Env(), text);
}

}  // namespace

void InitInet(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"if_nametoindex", IfNameToIndex},
      {"if_indextoname", IfIndexToName},
      {"inet_pton", InetPton},
      {"inet_ntop", InetNtop},
  });
}

}  // namespace sockfd
