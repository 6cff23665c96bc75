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

void InitConstants(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitConnection(Napi::Env env, Napi::Object exports);
void InitIo(Napi::Env env, Napi::Object exports);
void InitSockopt(Napi::Env env, Napi::Object exports);
void InitInet(Napi::Env env, Napi::Object exports);
void InitPoller(Napi::Env env, Napi::Object exports);
void InitMsg(Napi::Env env, Napi::Object exports);
void InitSockaddr(Napi::Env env, Napi::Object exports);

}  // namespace sockfd

#endif  // SOCKFD_ADDON_H_
