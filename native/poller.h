// Readiness watching: one libuv poll watcher (uv_poll_t) per fd, on the event loop of the calling
// environment (napi_get_uv_event_loop, never uv_default_loop), shared by every asynchronous operation
// on that fd. The TypeScript side (src/watcher.ts) decides which events to watch and when.
//
// Lifetime. The uv_poll_t lives in a separately allocated PollHandle, freed only in its close
// callback, so the JS object, the libuv handle and the environment can go away in any order:
//  * close() from JS (and the JS object's finalizer) call uv_close; events stop at once.
//  * An async cleanup hook (napi_add_async_cleanup_hook) closes the handle when the environment is
//    torn down (a worker_thread terminated with sockets busy), and Node waits for the close callback.
//  * The poll callback never runs JS for a handle that is closing or whose JS object is gone.
#ifndef SOCKFD_POLLER_H_
#define SOCKFD_POLLER_H_

#include <napi.h>
#include <uv.h>

namespace sockfd {

class Watcher;

struct PollHandle {
  uv_poll_t poll;
  Watcher* owner = nullptr;  // null once the JS object is finalized or the handle is closing
  napi_async_cleanup_hook_handle hook = nullptr;
  bool closing = false;
};

// new Watcher(fd, callback(status, events)): `status` is 0 or a negative errno; `events` is a mask of
// UV_READABLE / UV_WRITABLE / UV_DISCONNECT / UV_PRIORITIZED.
class Watcher : public Napi::ObjectWrap<Watcher> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Watcher(const Napi::CallbackInfo& info);
  ~Watcher() override;

  // Called from the poll callback; runs the JS callback through MakeCallback.
  void Dispatch(int status, int events);
  // Forgets the handle (it is closing and will free itself).
  void Detach();

 private:
  Napi::Value Init(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);

  PollHandle* handle_ = nullptr;
  int fd_;
  bool active_ = false;  // started: the JS object is kept alive by a strong reference
  Napi::FunctionReference callback_;
  Napi::AsyncContext context_;
};

}  // namespace sockfd

#endif  // SOCKFD_POLLER_H_
