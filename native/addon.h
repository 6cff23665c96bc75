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
#ifndef SOCKFD_ADDON_H_
#define SOCKFD_ADDON_H_

#include <napi.h>

namespace sockfd {

// Property names the bindings read and write on every call (address fields, result fields), kept as
// strings created once per environment: building a key from a C string on every call makes V8
// intern it again each time, which dominated the cost of an address round trip.
enum class Key { family, address, port, flowinfo, scopeId, path, protocol, ifindex, hatype, pkttype, halen, addr, pid, groups, data, bytes, fd, count };

// The cached JS string of `key` for this environment, and its C name (for error messages).
Napi::Value KeyOf(Napi::Env env, Key key);
const char* KeyName(Key key);
void InitKeys(Napi::Env env);

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
Napi::Function HotFunction(Napi::Env env, const char* name) {
  napi_value fn;
  napi_status status = napi_create_function(env, name, NAPI_AUTO_LENGTH, HotCallback<F>, nullptr, &fn);
  NAPI_THROW_IF_FAILED(env, status, Napi::Function());
  return Napi::Function(env, fn);
}

void InitConstants(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitConnection(Napi::Env env, Napi::Object exports);
void InitIo(Napi::Env env, Napi::Object exports);
void InitSockopt(Napi::Env env, Napi::Object exports);
void InitInet(Napi::Env env, Napi::Object exports);
void InitPoller(Napi::Env env, Napi::Object exports);
void InitMsg(Napi::Env env, Napi::Object exports);
void InitSockaddr(Napi::Env env, Napi::Object exports);
void InitNetns(Napi::Env env, Napi::Object exports);

}  // namespace sockfd

#endif  // SOCKFD_ADDON_H_
