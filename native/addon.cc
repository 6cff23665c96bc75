// Registration only: each family of calls adds its functions to the exports object. The module is
// context-aware (Node-API modules are, as long as they keep no static JS handles, which this one does
// not), so it loads in every worker_thread of a process.
#include "addon.h"


namespace sockfd {

namespace {

// Per-environment state (SetInstanceData): freed with the environment, so each worker has its own.
// The key strings live in an array held by a reference (Node-API 8 references only objects).
struct EnvData {
  Napi::ObjectReference keys;
};

constexpr const char* kKeyNames[] = {"family", "address", "port", "flowinfo", "scopeId", "path", "protocol", "ifindex", "hatype",
                                     "pkttype", "halen",  "addr",    "pid",  "groups",   "data",    "bytes", "fd"};
static_assert(sizeof(kKeyNames) / sizeof(kKeyNames[0]) == static_cast<size_t>(Key::count), "one name per Key");

}  // namespace

void InitKeys(Napi::Env env) {
  Napi::Array keys = Napi::Array::New(env, static_cast<size_t>(Key::count));
  for (uint32_t i = 0; i < static_cast<uint32_t>(Key::count); i++) keys.Set(i, Napi::String::New(env, kKeyNames[i]));
  auto* data = new EnvData();
  data->keys = Napi::Persistent(Napi::Object(keys));
  env.SetInstanceData(data);
}

const char* KeyName(Key key) { return kKeyNames[static_cast<size_t>(key)]; }

Napi::Value KeyOf(Napi::Env env, Key key) {
  return env.GetInstanceData<EnvData>()->keys.Value().Get(static_cast<uint32_t>(key));
}

}  // namespace sockfd

namespace sockfd {

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitKeys(env);
  InitConstants(env, exports);
  InitSocket(env, exports);
  InitConnection(env, exports);
  InitIo(env, exports);
  InitSockopt(env, exports);
  InitInet(env, exports);
  InitPoller(env, exports);
  InitMsg(env, exports);
  InitSockaddr(env, exports);
  InitNetns(env, exports);
  return exports;
}

}  // namespace sockfd

static Napi::Object InitSockfd(Napi::Env env, Napi::Object exports) { return sockfd::Init(env, exports); }

NODE_API_MODULE(sockfd, InitSockfd)
