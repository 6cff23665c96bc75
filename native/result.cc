#include "result.h"

#include <cstring>
#include <string>

#include "fd.h"
#include "sockaddr.h"

namespace sockfd {

namespace {

// Per-environment state (SetInstanceData): freed with the environment, so each worker has its own.
// The key strings live in an array held by a reference (Node-API 8 references only objects).
struct EnvData {
  Napi::ObjectReference keys;
  Napi::Reference<Napi::Buffer<uint8_t>> lastAddress;
  uint8_t* lastAddressData = nullptr;
};

constexpr const char* kKeyNames[] = {"family", "address", "port",  "flowinfo", "scopeId", "path",    "protocol", "ifindex",
                                     "hatype", "pkttype", "halen", "addr",     "pid",     "groups",  "data",     "bytes",
                                     "fd",     "flags",   "control", "level",  "type",    "events",  "revents"};
static_assert(sizeof(kKeyNames) / sizeof(kKeyNames[0]) == static_cast<size_t>(Key::count), "one name per Key");

EnvData* Data(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<EnvData*>(data);
}

napi_value KeysArray(napi_env env) {
  napi_value keys;
  napi_get_reference_value(env, Data(env)->keys, &keys);
  return keys;
}

void ThrowIfFailed(napi_env env, napi_status status) {
  if (status != napi_ok) throw Napi::Error::New(env);  // the pending exception, or Node-API's last error
}

}  // namespace

void InitResults(Napi::Env env, Napi::Object exports) {
  Napi::Array keys = Napi::Array::New(env, static_cast<size_t>(Key::count));
  for (uint32_t i = 0; i < static_cast<uint32_t>(Key::count); i++) keys.Set(i, Napi::String::New(env, kKeyNames[i]));
  auto* data = new EnvData();
  data->keys = Napi::Persistent(Napi::Object(keys));
  Napi::Buffer<uint8_t> last = Napi::Buffer<uint8_t>::New(env, kSockaddrBinarySize);
  std::memset(last.Data(), 0, kSockaddrBinarySize);
  data->lastAddressData = last.Data();
  data->lastAddress = Napi::Persistent(last);
  env.SetInstanceData(data);
  exports.Set("lastAddress", last);
}

const char* KeyName(Key key) { return kKeyNames[static_cast<size_t>(key)]; }

napi_value KeyOf(napi_env env, Key key) {
  napi_value name;
  napi_get_element(env, KeysArray(env), static_cast<uint32_t>(key), &name);
  return name;
}

napi_value NumberValue(napi_env env, double value) {
  napi_value out;
  ThrowIfFailed(env, napi_create_double(env, value, &out));
  return out;
}

Fields& Fields::Add(Key key, napi_value value) {
  if (keys_ == nullptr) keys_ = KeysArray(env_);
  napi_value name;
  ThrowIfFailed(env_, napi_get_element(env_, keys_, static_cast<uint32_t>(key), &name));
  if (count_ == kMax) throw Napi::Error::New(env_, "sockfd: too many result fields");  // a bug in the addon
  props_[count_++] = napi_property_descriptor{nullptr, name, nullptr, nullptr, nullptr, value, napi_default_jsproperty, nullptr};
  return *this;
}

Fields& Fields::Add(Key key, double value) { return Add(key, NumberValue(env_, value)); }

Napi::Value Fields::Object() {
  napi_value object;
  ThrowIfFailed(env_, napi_create_object(env_, &object));
  ThrowIfFailed(env_, napi_define_properties(env_, object, count_, props_));
  return Napi::Value(env_, object);
}

Napi::Value List(napi_env env, const napi_value* items, size_t count) {
  napi_value array;
  ThrowIfFailed(env, napi_create_array_with_length(env, count, &array));
  // Elements are defined in slices, each with its index names ("0", "1", ...) as strings, which is
  // what napi_define_properties takes; napi_set_element would assign, and run a setter that a
  // program defined on Array.prototype for that index.
  constexpr size_t kSlice = 64;
  napi_property_descriptor props[kSlice];
  for (size_t at = 0; at < count; at += kSlice) {
    size_t n = count - at < kSlice ? count - at : kSlice;
    for (size_t i = 0; i < n; i++) {
      std::string index = std::to_string(at + i);
      napi_value name;
      ThrowIfFailed(env, napi_create_string_utf8(env, index.data(), index.size(), &name));
      props[i] = napi_property_descriptor{nullptr, name, nullptr, nullptr, nullptr, items[at + i], napi_default_jsproperty, nullptr};
    }
    ThrowIfFailed(env, napi_define_properties(env, array, n, props));
  }
  return Napi::Value(env, array);
}

FdGuard::~FdGuard() {
  for (int fd : fds_) CloseFd(fd);
}

bool IsUtf8(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte, an overlong lead (c0, c1) or a lead past U+10FFFF
    }
    if (n - i <= extra) return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000)) return false;  // overlong
    if (cp >= 0xd800 && cp <= 0xdfff) return false;                               // a surrogate
    if (cp > 0x10ffff) return false;
    i += extra + 1;
  }
  return true;
}

napi_value UnixNameToJs(napi_env env, const char* bytes, size_t length) {
  napi_value out;
  if (IsUtf8(reinterpret_cast<const unsigned char*>(bytes), length)) {
    ThrowIfFailed(env, napi_create_string_utf8(env, bytes, length, &out));
  } else {
    ThrowIfFailed(env, napi_create_buffer_copy(env, length, bytes, nullptr, &out));
  }
  return out;
}

void RememberAddress(napi_env env, const sockaddr_storage* storage, socklen_t length) {
  uint8_t* out = Data(env)->lastAddressData;
  std::memset(out, 0, kSockaddrBinarySize);
  uint32_t n = length > sizeof(*storage) ? sizeof(*storage) : length;
  std::memcpy(out, &n, 4);
  std::memcpy(out + 4, storage, n);
}

}  // namespace sockfd
