// The constants object: every name in constants.txt that the system headers define, with the value
// the headers give it. The list itself is generated (constants.inc), one #ifdef per name, so a
// constant this system lacks is simply absent rather than a guessed number. Next to it, the sizes
// object: sizeof(struct NAME) for each struct of the list's `sizeof` lines, for the TypeScript that
// builds and reads kernel messages (src/sizes.generated.ts).
// The headers are listed once, in constant_headers.h (the generator's probe reads the same ones).
#include "constant_headers.h"

#include "addon.h"

namespace sockfd {

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object constants = Napi::Object::New(env);
  Napi::Object sizes = Napi::Object::New(env);
#define SOCKFD_CONSTANT(name) constants.Set(#name, Napi::Number::New(env, static_cast<double>(name)));
#define SOCKFD_SIZEOF(name) sizes.Set(#name, Napi::Number::New(env, static_cast<double>(sizeof(struct name))));
#include "constants.inc"
#undef SOCKFD_SIZEOF
#undef SOCKFD_CONSTANT
  exports.Set("constants", constants);
  exports.Set("sizes", sizes);
}

}  // namespace sockfd
