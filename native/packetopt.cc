// Packet-socket options with kernel structures: PACKET_STATISTICS (struct tpacket_stats_v3, or
// struct tpacket_stats for sockets without a TPACKET_V3 ring) and PACKET_FANOUT (an int, or a struct
// fanout_args). The structures are filled and read here by their names in <linux/if_packet.h>; the
// TypeScript layer (src/packetopts.ts) checks the options and builds the results.
#include <asm/byteorder.h>  // __LITTLE_ENDIAN_BITFIELD / __BIG_ENDIAN_BITFIELD, which struct fanout_args uses
#include <errno.h>
#include <sys/socket.h>

#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "addon.h"
#include "args.h"

namespace sockfd {

namespace {

#if defined(__LITTLE_ENDIAN_BITFIELD)
static_assert(offsetof(fanout_args, id) == 0, "struct fanout_args as the kernel reads it");
#elif defined(__BIG_ENDIAN_BITFIELD)
static_assert(offsetof(fanout_args, type_flags) == 0, "struct fanout_args as the kernel reads it");
#else
#error "asm/byteorder.h defines neither __LITTLE_ENDIAN_BITFIELD nor __BIG_ENDIAN_BITFIELD"
#endif

uint32_t ToU32(Napi::Value v, const char* name, uint32_t min, uint32_t max) {
  return static_cast<uint32_t>(ToInteger(v, name, min, max));
}

// packetStatistics(fd, out) -> 0 | -errno: getsockopt(PACKET_STATISTICS) into out (a Uint32Array of
// 3): tp_packets (which the kernel reports with the drops included), tp_drops, and tp_freeze_q_cnt
// (TPACKET_V3 sockets only; 0 for others, which answer with a struct tpacket_stats). The kernel
// resets the counters on every read.
Napi::Value PacketStatistics(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  int fd = ArgFd(info, 0);
  napi_typedarray_type type;
  size_t count = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, info[1], &type, &count, &data, nullptr, nullptr) != napi_ok || type != napi_uint32_array || count < 3 ||
      data == nullptr) {
    ThrowTypeError(info.Env(), "The \"out\" argument must be a Uint32Array of at least 3 elements. Received " + Describe(info[1]));
  }
  tpacket_stats_v3 st = {};
  socklen_t len = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return Result(env, -errno);
  uint32_t* out = static_cast<uint32_t*>(data);
  out[0] = st.tp_packets;
  out[1] = st.tp_drops;
  out[2] = len >= sizeof(tpacket_stats_v3) ? st.tp_freeze_q_cnt : 0;
  return Result(env, 0);
}

// packetFanout(fd, id, typeFlags, maxMembers) -> 0 | -errno: setsockopt(PACKET_FANOUT), as an int
// (id | typeFlags << 16) when maxMembers is 0, else as a struct fanout_args (Linux >= 5.13) that also
// sets the group's size.
Napi::Value PacketFanout(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  uint32_t id = ToU32(info[1], "id", 0, 0xffff);
  uint32_t typeFlags = ToU32(info[2], "typeFlags", 0, 0xffff);
  uint32_t maxMembers = ToU32(info[3], "maxMembers", 0, UINT32_MAX);
  int r;
  if (maxMembers == 0) {
    int arg = static_cast<int>(id | (typeFlags << 16));
    r = setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg);
  } else {
    fanout_args args = {};
    args.id = static_cast<__u16>(id);
    args.type_flags = static_cast<__u16>(typeFlags);
    args.max_num_members = maxMembers;
    r = setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &args, sizeof args);
  }
  return Result(info.Env(), r < 0 ? -errno : 0);
}

}  // namespace

void InitPacketOptions(Napi::Env env, Napi::Object exports) {
  exports.Set("packetStatistics", Napi::Function::New(env, PacketStatistics, "packetStatistics"));
  exports.Set("packetFanout", Napi::Function::New(env, PacketFanout, "packetFanout"));
}

}  // namespace sockfd
