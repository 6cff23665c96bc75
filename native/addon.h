// Shared declarations of the sockfd addon: one Init function per family of calls. addon.cc only
// calls these. Every binding follows the same convention, documented here once:
//
//  * Arguments are validated before any system call (args.h); bad input throws a TypeError or a
//    RangeError that names the argument, with Node's ERR_* code.
//  * A failing system call does not throw here: the binding returns the negative errno (as the kernel
//    and libuv do), and the TypeScript layer turns it into a Node-shaped error in one place
//    (src/errors.ts). This keeps EAGAIN free of allocations for the event-loop layer.
//  * EINTR is retried inside the binding (PEP 475), except for close(2), which must never be retried
//    on Linux, and connect(2), which completes the interrupted connection instead of reissuing it.
//    Every wait measures its time with wait.h.
//  * Results are built through result.h (own properties, fds guarded until JS holds them).
#ifndef SOCKFD_ADDON_H_
#define SOCKFD_ADDON_H_

#include <napi.h>

#include <initializer_list>

#include "result.h"

namespace sockfd {

// The calls a datagram or stream loop makes once per system call (read, write, send, recv, sendto,
// recvfrom, sendmsg, recvmsg, ...) are registered through HotFunction rather than Napi::Function::New:
// a plain Node-API callback per binding, marked hot so that the linker keeps all of them, with the
// inline argument checks they contain, together in .text.hot. On a virtual machine whose system calls
// leave the TLB cold, every distinct code page touched between two system calls is a page walk; the
// generic node-addon-api trampoline (one shared instance elsewhere in .text) and scattered bindings
// cost about as much as the checks themselves. Errors are thrown exactly as node-addon-api would.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
__attribute__((hot)) napi_value HotCallback(napi_env env, napi_callback_info info) {
  try {
    Napi::CallbackInfo args(env, info);
    return F(args);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Function HotFunction(Napi::Env env, const char* name, void* data = nullptr) {
  napi_value fn;
  napi_status status = napi_create_function(env, name, NAPI_AUTO_LENGTH, HotCallback<F>, data, &fn);
  NAPI_THROW_IF_FAILED(env, status, Napi::Function());
  return Napi::Function(env, fn);
}

// One binding of a family: its JS name and the function that implements it.
struct Binding {
  const char* name;
  Napi::Value (*function)(const Napi::CallbackInfo&);
};

// Registers each binding as `exports[name]`, a function of that name (node-addon-api's trampoline: for
// the calls made once per system call in a loop, see HotFunction and ExportWithValidation instead).
inline void ExportFunctions(Napi::Env env, Napi::Object exports, std::initializer_list<Binding> bindings) {
  for (const Binding& b : bindings) exports.Set(b.name, Napi::Function::New(env, b.function, b.name));
}

// Validation-only twins. The event-loop layer must check a call's arguments when the call is made, even
// when the call has to queue behind others on the same fd and its system call runs later; and it must
// get those errors exactly as the sync call gives them. So each binding the promise layer calls is
// registered twice: as `exports.<name>`, and as `exports.validate.<name>` with this marker as its data.
// A binding called through its twin converts and checks every argument as usual, records the address it
// was given (RememberAddress), and returns 0 instead of making its system call.
extern char kValidateOnly;

inline bool ValidateOnly(const Napi::CallbackInfo& info) { return info.Data() == &kValidateOnly; }

// Registers `F` as `exports[name]`, and its validation-only twin as `exports.validate[name]`.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
void ExportWithValidation(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, HotFunction<F>(env, name));
  Napi::Value twins = exports.Get("validate");
  if (!twins.IsObject()) {
    twins = Napi::Object::New(env);
    exports.Set("validate", twins);
  }
  twins.As<Napi::Object>().Set(name, HotFunction<F>(env, name, &kValidateOnly));
}

void InitConstants(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitConnection(Napi::Env env, Napi::Object exports);
void InitIo(Napi::Env env, Napi::Object exports);
void InitSockopt(Napi::Env env, Napi::Object exports);
void InitInet(Napi::Env env, Napi::Object exports);
void InitPoller(Napi::Env env, Napi::Object exports);
void InitMsg(Napi::Env env, Napi::Object exports);
void InitBatch(Napi::Env env, Napi::Object exports);
void InitSockaddr(Napi::Env env, Napi::Object exports);
void InitNetns(Napi::Env env, Napi::Object exports);
void InitRing(Napi::Env env, Napi::Object exports);
void InitPacketOptions(Napi::Env env, Napi::Object exports);

}  // namespace sockfd

#endif  // SOCKFD_ADDON_H_
