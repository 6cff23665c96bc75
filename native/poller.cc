#include "poller.h"

#include "addon.h"
#include "args.h"

namespace sockfd {

namespace {

void OnClosed(uv_handle_t* h) {
  PollHandle* handle = reinterpret_cast<PollHandle*>(h);
  if (handle->hook != nullptr) napi_remove_async_cleanup_hook(handle->hook);
  delete handle;
}

// Starts closing the handle unless it is closing already. Safe to call from the poll callback.
void CloseHandle(PollHandle* handle) {
  if (handle->closing) return;
  handle->closing = true;
  if (handle->owner != nullptr) handle->owner->Detach();
  handle->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle->poll), OnClosed);
}

void OnCleanup(napi_async_cleanup_hook_handle, void* arg) {
  // The environment is going away; its close callback will remove this hook and free the handle.
  CloseHandle(static_cast<PollHandle*>(arg));
}

void OnPoll(uv_poll_t* poll, int status, int events) {
  PollHandle* handle = reinterpret_cast<PollHandle*>(poll);
  if (handle->closing || handle->owner == nullptr) return;
  handle->owner->Dispatch(status, events);
}

}  // namespace

void Watcher::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Watcher",
                                    {
                                        InstanceMethod("init", &Watcher::Init),
                                        InstanceMethod("start", &Watcher::Start),
                                        InstanceMethod("stop", &Watcher::Stop),
                                        InstanceMethod("close", &Watcher::Close),
                                        InstanceMethod("ref", &Watcher::Ref),
                                        InstanceMethod("unref", &Watcher::Unref),
                                    });
  exports.Set("Watcher", ctor);
}

Watcher::Watcher(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Watcher>(info), fd_(ToFd(info[0])), context_(info.Env(), "sockfd.Watcher") {
  if (!info[1].IsFunction()) {
    ThrowTypeError(info.Env(), "The \"callback\" argument must be of type function. Received " + Describe(info[1]));
  }
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
}

Watcher::~Watcher() {
  if (handle_ != nullptr) CloseHandle(handle_);
}

void Watcher::Detach() {
  handle_ = nullptr;
  if (active_) {
    active_ = false;
    Napi::ObjectWrap<Watcher>::Unref();
  }
}

// init() -> 0 | -errno: uv_poll_init, which also sets O_NONBLOCK on the fd. EEXIST means another
// handle of this loop (a net.Socket, say) already watches the fd.
Napi::Value Watcher::Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_ != nullptr) return Result(env, 0);
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return Result(env, -EINVAL);
  PollHandle* handle = new PollHandle();
  int err = uv_poll_init(loop, &handle->poll, fd_);
  if (err != 0) {
    delete handle;  // never initialized: nothing for libuv to close
    return Result(env, err);
  }
  if (napi_add_async_cleanup_hook(env, OnCleanup, handle, &handle->hook) != napi_ok) handle->hook = nullptr;
  handle->owner = this;
  handle_ = handle;
  return Result(env, 0);
}

// start(events) -> 0 | -errno; also changes the events of a started watcher.
Napi::Value Watcher::Start(const Napi::CallbackInfo& info) {
  int events = static_cast<int>(ToInteger(info[0], "events", 1, UV_READABLE | UV_WRITABLE | UV_DISCONNECT | UV_PRIORITIZED));
  if (handle_ == nullptr) return Result(info.Env(), -EBADF);
  int err = uv_poll_start(&handle_->poll, events, OnPoll);
  if (err == 0 && !active_) {
    active_ = true;
    Napi::ObjectWrap<Watcher>::Ref();
  }
  return Result(info.Env(), err);
}

Napi::Value Watcher::Stop(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_poll_stop(&handle_->poll);
  if (active_) {
    active_ = false;
    Napi::ObjectWrap<Watcher>::Unref();
  }
  return info.Env().Undefined();
}

Napi::Value Watcher::Close(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) CloseHandle(handle_);  // calls Detach()
  return info.Env().Undefined();
}

Napi::Value Watcher::Ref(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
  return info.Env().Undefined();
}

Napi::Value Watcher::Unref(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
  return info.Env().Undefined();
}

void Watcher::Dispatch(int status, int events) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  napi_value argv[2] = {Napi::Number::New(env, status), Napi::Number::New(env, events)};
  napi_value result;
  napi_status s = napi_make_callback(env, context_, Value(), callback_.Value(), 2, argv, &result);
  if (s == napi_pending_exception) {
    // An exception from the JS callback becomes an uncaught exception of the process, as it would
    // from any other event callback.
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

void InitPoller(Napi::Env env, Napi::Object exports) { Watcher::Init(env, exports); }

}  // namespace sockfd
