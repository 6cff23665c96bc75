// The output layer, counterpart of args.h: every JS value a binding returns is built here.
//
//  * Results are made of own data properties (napi_define_properties), never by assignment: a setter
//    that a program put on Object.prototype or Array.prototype never runs while a result is built, so
//    it can neither drop a field nor throw after an fd exists.
//  * FdGuard owns every fd a binding created or received until the finished result holds it; on any
//    other way out (an exception, a failed Node-API call in a terminating worker) the fds are closed.
//  * Unix socket names are returned losslessly (UnixNameToJs).
//  * The property names results use are JS strings made once per environment (Key), since building a
//    key from a C string on every call makes V8 intern it again each time.
#ifndef SOCKFD_RESULT_H_
#define SOCKFD_RESULT_H_

#include <napi.h>
#include <sys/socket.h>

#include <cstddef>
#include <vector>

namespace sockfd {

// Property names of addresses, results and the arguments bindings read.
enum class Key {
  family, address, port, flowinfo, scopeId, path, protocol, ifindex, hatype, pkttype, halen, addr, pid, groups, data,
  bytes, fd, flags, control, level, type, events, revents, count
};

// The cached JS string of `key` for this environment, and its C name (for error messages).
napi_value KeyOf(napi_env env, Key key);
const char* KeyName(Key key);

// Sets up this environment's instance data (the keys, the last-address buffer) and exports
// `lastAddress` (see RememberAddress). Called first by the module's Init.
void InitResults(Napi::Env env, Napi::Object exports);

// A result object under construction: fields are collected, then defined on a new object at once.
class Fields {
 public:
  explicit Fields(napi_env env) : env_(env) {}
  Fields& Add(Key key, napi_value value);
  Fields& Add(Key key, double value);
  // The object with every field added, as own enumerable, writable, configurable data properties.
  // Throws (as a C++ exception) when Node-API fails.
  Napi::Value Object();

 private:
  static constexpr size_t kMax = 12;
  napi_env env_;
  napi_value keys_ = nullptr;
  napi_property_descriptor props_[kMax];
  size_t count_ = 0;
};

// An array of `count` own elements.
Napi::Value List(napi_env env, const napi_value* items, size_t count);

// A JS number.
napi_value NumberValue(napi_env env, double value);

// Owns fds from their birth in a binding until the result that hands them to JS is complete:
// Release() once it is; until then, leaving the scope closes every fd owned.
class FdGuard {
 public:
  FdGuard() = default;
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard();
  int Own(int fd) {
    fds_.push_back(fd);
    return fd;
  }
  // JS holds the fds now.
  void Release() { fds_.clear(); }

 private:
  std::vector<int> fds_;
};

// The JS value of a unix socket name (a path, or an abstract name starting with NUL): a string when
// the bytes are valid UTF-8 (which then encode back to the same bytes), a Buffer of the bytes
// otherwise, so that every name the kernel returns can be given back to bind/connect/sendto.
napi_value UnixNameToJs(napi_env env, const char* bytes, size_t length);

// Whether `bytes` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool IsUtf8(const unsigned char* bytes, size_t length);

// Records, in this environment's `lastAddress` buffer (the binary form: a 4-byte length, then the
// sockaddr), the address a call was given, as the addon converted it. Bindings that take an address
// call it whenever the call does not complete (an error, EAGAIN, EINPROGRESS, or a validation-only
// call), so the error names exactly the address that was used, and a call that waits keeps it, without
// reading the caller's object a second time (src/errors.ts, src/promises.ts).
void RememberAddress(napi_env env, const sockaddr_storage* storage, socklen_t length);

}  // namespace sockfd

#endif  // SOCKFD_RESULT_H_
