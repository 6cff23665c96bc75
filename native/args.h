// Checked conversion of JS arguments for the bindings. Nothing here ever wraps a value silently:
// an fd of 2**32+3 is a RangeError, not fd 3. Each function throws (as a C++ exception that
// node-addon-api turns into a JS exception) a TypeError or RangeError naming the argument.
//
// Ordering rule for callers: fetch ArrayBufferView pointers (ToView/AsView) last, after every other argument
// has been converted, because converting an object argument can run user getters, and a getter may
// detach or resize the buffer. Between ToView and the system call no JS code runs.
#ifndef SOCKFD_ARGS_H_
#define SOCKFD_ARGS_H_

#include <napi.h>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sockfd {

struct View {
  uint8_t* data;
  size_t length;
};

// Throws a TypeError with Node's code ERR_INVALID_ARG_TYPE.
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message,
                                 const char* code = "ERR_INVALID_ARG_TYPE");
// Throws a RangeError with Node's code ERR_OUT_OF_RANGE.
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message,
                                  const char* code = "ERR_OUT_OF_RANGE");

// Describes a JS value for an error message ("type string ('3')", "4294967299").
std::string Describe(Napi::Value value);

// An integer in [min, max]; `name` is the argument's name in error messages.
int64_t ToInteger(Napi::Value value, const char* name, int64_t min, int64_t max);
// A JS string as UTF-8 bytes.
std::string ToUtf8(Napi::Value value, const char* name);

// The hot converters below are inline: a datagram loop calls them twice per system call, and on a
// virtual machine whose system calls leave the caches cold, every out-of-line function and every
// distinct Node-API function touched after a syscall costs more than the check itself. Each does
// the common case in one Node-API call and hands anything else to an out-of-line slow path that
// gives the same result or throws the same error.

// An integer in [min, max] that fits an int32 (fds, flags, levels, option names and other C ints).
inline int32_t ToInt32In(Napi::Value value, const char* name, int32_t min, int32_t max) {
  double d;
  if (napi_get_value_double(value.Env(), value, &d) == napi_ok && d >= min && d <= max) {
    int32_t i = static_cast<int32_t>(d);
    if (static_cast<double>(i) == d) return i;
  }
  return static_cast<int32_t>(ToInteger(value, name, min, max));  // throws
}
// A file descriptor: an integer in [0, INT32_MAX].
inline int ToFd(Napi::Value value, const char* name = "fd") { return ToInt32In(value, name, 0, INT32_MAX); }
// An int32, for flags, levels, option names and other C ints.
inline int32_t ToInt32(Napi::Value value, const char* name) { return ToInt32In(value, name, INT32_MIN, INT32_MAX); }

// The slow paths of AsView/ToView (DataView, or not a view at all).
bool AsDataView(Napi::Value value, View* out);
[[noreturn]] void ThrowNotView(Napi::Value value, const char* name);

// Any ArrayBufferView (Buffer, typed array, DataView): its own bytes only; false when `value` is no
// ArrayBufferView. A detached buffer is an empty view, so nothing is ever dereferenced.
inline bool AsView(Napi::Value value, View* out) {
  void* data = nullptr;
  napi_typedarray_type type;
  size_t length;
  // napi_get_typedarray_info itself refuses anything that is not a typed array (napi_invalid_arg).
  if (napi_get_typedarray_info(value.Env(), value, &type, &length, &data, nullptr, nullptr) != napi_ok) return AsDataView(value, out);
  size_t shift = 0;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: shift = 1; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: shift = 2; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: shift = 3; break;
    default: shift = 0;
  }
  *out = View{static_cast<uint8_t*>(data), data == nullptr ? 0 : length << shift};
  return true;
}
// The same, throwing a TypeError naming the argument for anything else.
inline View ToView(Napi::Value value, const char* name) {
  View view;
  if (!AsView(value, &view)) ThrowNotView(value, name);
  return view;
}

// C's `len`: undefined means the whole view; otherwise an integer in [0, view.length].
inline size_t ToLength(Napi::Value value, const char* name, const View& view) {
  double d;
  if (napi_get_value_double(value.Env(), value, &d) == napi_ok && d >= 0 && d <= static_cast<double>(view.length)) {
    size_t n = static_cast<size_t>(d);
    if (static_cast<double>(n) == d) return n;
  }
  if (value.IsUndefined()) return view.length;
  return static_cast<size_t>(ToInteger(value, name, 0, static_cast<int64_t>(view.length)));  // throws
}

// The number a binding returns: a count, an fd, 0, or a negative errno.
inline Napi::Number Result(Napi::Env env, double value) { return Napi::Number::New(env, value); }

inline int ArgFd(const Napi::CallbackInfo& info, size_t i) { return ToFd(info[i]); }

}  // namespace sockfd

#endif  // SOCKFD_ARGS_H_
