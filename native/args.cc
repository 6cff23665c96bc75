#include "args.h"

#include <cmath>
#include <cstdio>

namespace sockfd {

namespace {

using ErrorMaker = napi_status (*)(napi_env, napi_value, napi_value, napi_value*);

// The one argument-error thrower: a TypeError or RangeError with Node's `code`.
[[noreturn]] void ThrowWithCode(Napi::Env env, ErrorMaker make, const char* code, const std::string& message) {
  napi_value code_value, msg_value, error;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message.c_str(), message.size(), &msg_value);
  make(env, code_value, msg_value, &error);
  throw Napi::Error(env, error);
}

}  // namespace

void ThrowTypeError(Napi::Env env, const std::string& message, const char* code) {
  ThrowWithCode(env, napi_create_type_error, code, message);
}

void ThrowRangeError(Napi::Env env, const std::string& message, const char* code) {
  ThrowWithCode(env, napi_create_range_error, code, message);
}

static std::string FormatNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  if (d == std::floor(d) && std::fabs(d) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", d);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", d);
  }
  return buf;
}

std::string Describe(Napi::Value value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return std::string("type boolean (") + (value.As<Napi::Boolean>().Value() ? "true" : "false") + ")";
    case napi_number: return "type number (" + FormatNumber(value.As<Napi::Number>().DoubleValue()) + ")";
    case napi_string: {
      std::string s = value.As<Napi::String>().Utf8Value();
      if (s.size() > 28) s = s.substr(0, 25) + "...";
      return "type string ('" + s + "')";
    }
    case napi_bigint: return "type bigint";
    case napi_symbol: return "type symbol";
    case napi_function: return "function";
    default: return "an instance of Object";
  }
}

int64_t ToInteger(Napi::Value value, const char* name, int64_t min, int64_t max) {
  napi_env env = value.Env();
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) {
    ThrowTypeError(value.Env(), std::string("The \"") + name + "\" argument must be of type number. Received " +
                                    Describe(value));
  }
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::floor(d)) {
    ThrowRangeError(value.Env(), std::string("The value of \"") + name + "\" is out of range. It must be an integer >= " +
                                     std::to_string(min) + " and <= " + std::to_string(max) + ". Received " +
                                     FormatNumber(d));
  }
  return static_cast<int64_t>(d);
}

std::string ToUtf8(Napi::Value value, const char* name) {
  if (!value.IsString()) {
    ThrowTypeError(value.Env(), std::string("The \"") + name + "\" argument must be of type string. Received " +
                                    Describe(value));
  }
  return value.As<Napi::String>().Utf8Value();
}

bool AsDataView(Napi::Value value, View* out) {
  bool is = false;
  if (napi_is_dataview(value.Env(), value, &is) != napi_ok || !is) return false;
  void* data = nullptr;
  size_t bytes = 0;
  napi_get_dataview_info(value.Env(), value, &bytes, &data, nullptr, nullptr);
  *out = View{static_cast<uint8_t*>(data), data == nullptr ? 0 : bytes};
  return true;
}

void ThrowNotView(Napi::Value value, const char* name) {
  ThrowTypeError(value.Env(), std::string("The \"") + name +
                                  "\" argument must be an instance of Buffer, TypedArray, or DataView. Received " +
                                  Describe(value));
}

}  // namespace sockfd
