// Network namespaces: socketIn (a socket created inside another network namespace), openIn (a file
// opened there, for the per-namespace /proc/sys/net files), the creation of a namespace on a helper
// thread (unshare(2) + a bind mount of its ns file, as `ip netns add` does), and the thin mount(2),
// umount2(2), flock(2), ioctl(NS_GET_NSTYPE) and ioctl(SIOCGSKNS) mirrors that sockfd/netns builds its
// policy on. The header values it uses (namespace types, mount flags, rtnetlink) are exported with the
// others, from native/constants.txt.
//
// Entering a namespace: setns(2) moves only the calling thread. socketIn and openIn enter the target,
// make their one call and return to the thread's own namespace inside a single native call, so no JS
// runs in between and nothing can create a thread there (a thread inherits its creator's namespace).
// If the way back fails, the process is aborted with napi_fatal_error: a JS thread left in another
// namespace would silently create every later socket there.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/nsfs.h>

#include <string>

#include "addon.h"
#include "args.h"
#include "fd.h"

namespace sockfd {

namespace {

// A failed step: { errno: -N, syscall }. The calls below make several system calls, and the
// TypeScript layer needs to know which one failed (EPERM from setns is a missing CAP_SYS_ADMIN,
// EPERM from socket a missing CAP_NET_RAW) to build the error in src/errors.ts.
Napi::Value Failure(Napi::Env env, int negErrno, const char* syscall) {
  Napi::Object failure = Napi::Object::New(env);
  failure.Set("errno", Napi::Number::New(env, negErrno));
  failure.Set("syscall", Napi::String::New(env, syscall));
  return failure;
}

// An fd of the calling thread's own network namespace. /proc/thread-self is Linux >= 3.17; before
// that the thread's entry is reached through its tid.
int OpenOwnNetns() {
  int fd = OpenCloexec("/proc/thread-self/ns/net", O_RDONLY);
  if (fd != -ENOENT) return fd;
  std::string path = "/proc/self/task/" + std::to_string(static_cast<long>(syscall(SYS_gettid))) + "/ns/net";
  return OpenCloexec(path.c_str(), O_RDONLY);
}

// Runs `body` (which returns a non-negative result or -errno) with the calling thread inside the
// network namespace `target`, and brings the thread back. On failure `*failed` names the step.
template <typename F>
int InNetns(int target, const char** failed, const char* bodyName, F body) {
  int home = OpenOwnNetns();
  if (home < 0) {
    *failed = "open";
    return home;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    int err = errno;
    CloseFd(home);
    *failed = "setns";
    return -err;
  }
  int r = body();
  if (setns(home, CLONE_NEWNET) != 0) {
    std::string message = std::string("could not return the calling thread to its own network namespace after ") + bodyName +
                          " in another one (setns: " + strerror(errno) +
                          "); aborting rather than leaving this thread in the wrong namespace";
    napi_fatal_error("sockfd", NAPI_AUTO_LENGTH, message.c_str(), NAPI_AUTO_LENGTH);
  }
  CloseFd(home);
  if (r < 0) *failed = bodyName;
  return r;
}

// socketIn(nsfd, domain, type, protocol) -> fd | { errno, syscall }: socket(2) (close-on-exec, through
// NewSocket) made inside the network namespace `nsfd`.
Napi::Value SocketIn(const Napi::CallbackInfo& info) {
  int target = ToFd(info[0], "netns");
  int domain = ToInt32(info[1], "domain");
  int type = ToInt32(info[2], "type");
  int protocol = ToInt32(info[3], "protocol");
  const char* failed = nullptr;
  int fd = InNetns(target, &failed, "socket", [&] { return NewSocket(domain, type, protocol); });
  if (fd < 0) return Failure(info.Env(), fd, failed);
  return Result(info.Env(), fd);
}

// openIn(nsfd, path, flags) -> fd | { errno, syscall }: open(2) (close-on-exec) made inside the network
// namespace `nsfd`. The files of /proc/sys/net belong to the namespace of the thread that opens them,
// and an fd keeps that namespace's file: this is how a namespace's sysctls are read and written.
Napi::Value OpenIn(const Napi::CallbackInfo& info) {
  int target = ToFd(info[0], "netns");
  std::string path = ToUtf8(info[1], "path");
  int flags = ToInt32(info[2], "flags");
  if (path.find('\0') != std::string::npos) ThrowTypeError(info.Env(), "The \"path\" argument must not contain NUL bytes", "ERR_INVALID_ARG_VALUE");
  const char* failed = nullptr;
  int fd = InNetns(target, &failed, "open", [&] { return OpenCloexec(path.c_str(), flags); });
  if (fd < 0) return Failure(info.Env(), fd, failed);
  return Result(info.Env(), fd);
}

struct UnshareJob {
  std::string target;
  int err = 0;
  const char* failed = nullptr;
};

// The helper thread: a new network namespace of its own, then its ns file bind-mounted on the target
// (which keeps the namespace alive once the thread is gone). Mounts are shared by all threads.
void* UnshareThread(void* arg) {
  auto* job = static_cast<UnshareJob*>(arg);
  if (unshare(CLONE_NEWNET) != 0) {
    job->err = errno;
    job->failed = "unshare";
    return nullptr;
  }
  std::string self = "/proc/self/task/" + std::to_string(static_cast<long>(syscall(SYS_gettid))) + "/ns/net";
  if (mount(self.c_str(), job->target.c_str(), "none", MS_BIND, nullptr) != 0) {
    job->err = errno;
    job->failed = "mount";
  }
  return nullptr;
}

// unshareNetnsAt(target) -> 0 | { errno, syscall }: creates a network namespace and bind-mounts it on
// `target` (an existing empty file), on a short-lived helper thread, so that no JS thread ever
// changes namespace. The helper runs with every signal blocked and is joined before returning.
Napi::Value UnshareNetnsAt(const Napi::CallbackInfo& info) {
  UnshareJob job;
  job.target = ToUtf8(info[0], "target");
  if (job.target.find('\0') != std::string::npos) ThrowTypeError(info.Env(), "The \"target\" argument must not contain NUL bytes", "ERR_INVALID_ARG_VALUE");
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  int r = pthread_create(&thread, nullptr, UnshareThread, &job);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (r != 0) return Failure(info.Env(), -r, "pthread_create");
  pthread_join(thread, nullptr);
  if (job.failed != nullptr) return Failure(info.Env(), -job.err, job.failed);
  return Result(info.Env(), 0);
}

// mount(source, target, fstype, flags) -> 0 | -errno; corresponds to mount(2) with no data.
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string source = ToUtf8(info[0], "source");
  std::string target = ToUtf8(info[1], "target");
  std::string fstype = ToUtf8(info[2], "fstype");
  unsigned long flags = static_cast<unsigned long>(ToInteger(info[3], "flags", 0, UINT32_MAX));
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags, nullptr) != 0) return Result(info.Env(), -errno);
  return Result(info.Env(), 0);
}

// umount2(target, flags) -> 0 | -errno; corresponds to umount2(2).
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  std::string target = ToUtf8(info[0], "target");
  int flags = ToInt32(info[1], "flags");
  if (umount2(target.c_str(), flags) != 0) return Result(info.Env(), -errno);
  return Result(info.Env(), 0);
}

// flock(fd, operation) -> 0 | -errno; corresponds to flock(2), retried on EINTR.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int operation = ToInt32(info[1], "operation");
  int r;
  do r = flock(fd, operation); while (r < 0 && errno == EINTR);
  return Result(info.Env(), r < 0 ? -errno : 0);
}

// nsType(fd) -> CLONE_NEW* | -errno; corresponds to ioctl(fd, NS_GET_NSTYPE) (Linux >= 4.11; ENOTTY
// for a file that is not a namespace, and for every file on older kernels).
Napi::Value NsType(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int r = ioctl(fd, NS_GET_NSTYPE);
  return Result(info.Env(), r < 0 ? -errno : r);
}

// socketNetns(fd) -> fd | -errno: the network namespace of a socket (ioctl SIOCGSKNS).
Napi::Value SocketNetns(const Napi::CallbackInfo& info) {
  return Result(info.Env(), SocketNamespaceFd(ArgFd(info, 0)));
}

}  // namespace

void InitNetns(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"socketIn", SocketIn},
      {"openIn", OpenIn},
      {"unshareNetnsAt", UnshareNetnsAt},
      {"mount", Mount},
      {"umount2", Umount2},
      {"flock", Flock},
      {"nsType", NsType},
      {"socketNetns", SocketNetns},
  });
}

}  // namespace sockfd
