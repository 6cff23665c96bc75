// Checked conversion of JS arguments for the bindings. Nothing here ever wraps a value silently:
// an fd of 2**32+3 is a RangeError, not fd 3. Each function throws (as a C++ exception that
// node-addon-api turns into a JS exception) a TypeError or RangeError naming the argument.
//
// Ordering rule for callers: fetch ArrayBufferView pointers (ArgView) last, after every other argument
// has been converted, because converting an object argument can run user getters, and a getter may
// detach or resize the buffer. Between ArgView and the system call no JS code runs.
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
// A file descriptor: an integer in [0, INT32_MAX].
int ToFd(Napi::Value value, const char* name = "fd");
// An int32, for flags, levels, option names and other C ints.
int32_t ToInt32(Napi::Value value, const char* name);
// A JS string as UTF-8 bytes.
std::string ToUtf8(Napi::Value value, const char* name);
// Any ArrayBufferView (Buffer, typed array, DataView): its own bytes only.
View ToView(Napi::Value value, const char* name);
// The same without throwing: false when `value` is no ArrayBufferView.
bool AsView(Napi::Value value, View* out);
// C's `len`: undefined means the whole view; otherwise an integer in [0, view.length].
size_t ToLength(Napi::Value value, const char* name, const View& view);

// The number a binding returns: a count, an fd, 0, or a negative errno.
inline Napi::Number Result(Napi::Env env, double value) { return Napi::Number::New(env, value); }

inline int ArgFd(const Napi::CallbackInfo& info, size_t i) { return ToFd(info[i]); }

}  // namespace sockfd

#endif  // SOCKFD_ARGS_H_
