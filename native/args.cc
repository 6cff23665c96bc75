#include "args.h"

#include <cmath>
#include <cstdio>

namespace sockfd {

void ThrowTypeError(Napi::Env env, const std::string& message, const char* code) {
  napi_value code_value, msg_value, error;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message.c_str(), message.size(), &msg_value);
  napi_create_type_error(env, code_value, msg_value, &error);
  throw Napi::Error(env, error);
}

void ThrowRangeError(Napi::Env env, const std::string& message, const char* code) {
  napi_value code_value, msg_value, error;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message.c_str(), message.size(), &msg_value);
  napi_create_range_error(env, code_value, msg_value, &error);
  throw Napi::Error(env, error);
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

int ToFd(Napi::Value value, const char* name) {
  return static_cast<int>(ToInteger(value, name, 0, INT32_MAX));
}

int32_t ToInt32(Napi::Value value, const char* name) {
  return static_cast<int32_t>(ToInteger(value, name, INT32_MIN, INT32_MAX));
}

std::string ToUtf8(Napi::Value value, const char* name) {
  if (!value.IsString()) {
    ThrowTypeError(value.Env(), std::string("The \"") + name + "\" argument must be of type string. Received " +
                                    Describe(value));
  }
  return value.As<Napi::String>().Utf8Value();
}

bool AsView(Napi::Value value, View* out) {
  napi_env env = value.Env();
  void* data = nullptr;
  size_t bytes = 0;
  napi_typedarray_type type;
  size_t length;
  bool is = false;
  // One call on the hot path: napi_get_typedarray_info itself refuses anything that is not a typed
  // array (napi_invalid_arg), and only then is the value asked whether it is a DataView.
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) == napi_ok) {
    size_t element = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: element = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: element = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: element = 8; break;
      default: element = 1;
    }
    bytes = length * element;
  } else if (napi_is_dataview(env, value, &is) == napi_ok && is) {
    napi_get_dataview_info(env, value, &bytes, &data, nullptr, nullptr);
  } else {
    return false;
  }
  // A detached buffer reports no data; treat it as empty so nothing is ever dereferenced.
  if (data == nullptr) bytes = 0;
  *out = View{static_cast<uint8_t*>(data), bytes};
  return true;
}

View ToView(Napi::Value value, const char* name) {
  View view;
  if (!AsView(value, &view)) {
    ThrowTypeError(value.Env(), std::string("The \"") + name +
                                    "\" argument must be an instance of Buffer, TypedArray, or DataView. Received " +
                                    Describe(value));
  }
  return view;
}

size_t ToLength(Napi::Value value, const char* name, const View& view) {
  if (value.IsUndefined()) return view.length;
  return static_cast<size_t>(ToInteger(value, name, 0, static_cast<int64_t>(view.length)));
}

}  // namespace sockfd
