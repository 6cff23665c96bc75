// The constants object: every name in constants.txt that the system headers define, with the value
// the headers give it. The list itself is generated (constants.inc), one #ifdef per name, so a
// constant this system lacks is simply absent rather than a guessed number. The headers are listed once,
// in constant_headers.h.
#include "constant_headers.h"

#include "addon.h"

namespace sockfd {

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object constants = Napi::Object::New(env);
#define SOCKFD_CONSTANT(name) constants.Set(#name, Napi::Number::New(env, static_cast<double>(name)));
#include "constants.inc"
#undef SOCKFD_CONSTANT
  exports.Set("constants", constants);
}

}  // namespace sockfd
