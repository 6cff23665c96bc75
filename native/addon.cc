// Registration only: each family of calls adds its functions to the exports object. The module is
// context-aware (Node-API modules are, as long as they keep no static JS handles, which this one does
// not), so it loads in every worker_thread of a process.
#include "addon.h"

namespace sockfd {

char kValidateOnly;

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitResults(env, exports);
  InitConstants(env, exports);
  InitSocket(env, exports);
  InitConnection(env, exports);
  InitIo(env, exports);
  InitSockopt(env, exports);
  InitInet(env, exports);
  InitPoller(env, exports);
  InitMsg(env, exports);
  InitBatch(env, exports);
  InitSockaddr(env, exports);
  InitNetns(env, exports);
  InitRing(env, exports);
  InitPacketOptions(env, exports);
  return exports;
}

}  // namespace sockfd

static Napi::Object InitSockfd(Napi::Env env, Napi::Object exports) { return sockfd::Init(env, exports); }

NODE_API_MODULE(sockfd, InitSockfd)
