// AF_PACKET receive rings (PACKET_RX_RING with TPACKET_V3, Documentation/networking/packet_mmap.rst).
// The kernel's structures are read and written here, by their
// names in <linux/if_packet.h>; the TypeScript layer (src/ring.ts) gets the frame header offsets it
// walks from `ringLayout`, never from numbers of its own.
//
// The block protocol. The ring is blockCount blocks of blockSize bytes, mapped once. The kernel fills
// one block at a time and hands it over ("retires" it) by setting its block_status to TP_STATUS_USER
// (with TP_STATUS_BLK_TMO when the retire timeout closed it before it was full); user space reads it
// and gives it back by storing TP_STATUS_KERNEL. The kernel fills blocks in order, and when the next
// one is still the user's it drops frames (tp_drops) and freezes the queue (tp_freeze_q_cnt) until
// that block comes back. Here: the status is loaded with acquire semantics before the block's frames
// are read, and TP_STATUS_KERNEL is stored with release semantics once JS is done with it.
//
// Lifetime. A block handed to JS is an external ArrayBuffer over that block of the mapping, made when
// the block is taken (ringNext) and detached when it is given back (ringRelease), so a view into a
// released block has length 0 and reads nothing: a frame's bytes can never be read after the kernel
// may have reused them, and never after munmap. The mapping is released by ringUnmap (JS's close), by
// an environment cleanup hook (a worker_thread torn down with its ring mapped), or once the handle and
// every block ArrayBuffer have been garbage-collected (a reference count: never while JS can still
// read a block). As a backstop, a block ArrayBuffer collected while its block is still held gives the
// block back to the kernel (nobody can read it any more); src/ring.ts holds every block it hands out
// until it is released, so that normally happens only through ringRelease.
#include <errno.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "addon.h"
#include "args.h"

namespace sockfd {

namespace {

// The offsets JS reads frames by must be aligned for its Uint32Array/Uint16Array views of a block
// (blocks are page-aligned, frames TPACKET_ALIGNMENT- or 8-aligned within them).
static_assert(offsetof(tpacket3_hdr, tp_next_offset) % 4 == 0 && offsetof(tpacket3_hdr, tp_sec) % 4 == 0 &&
                  offsetof(tpacket3_hdr, tp_nsec) % 4 == 0 && offsetof(tpacket3_hdr, tp_snaplen) % 4 == 0 &&
                  offsetof(tpacket3_hdr, tp_len) % 4 == 0 && offsetof(tpacket3_hdr, tp_status) % 4 == 0 &&
                  offsetof(tpacket3_hdr, tp_mac) % 2 == 0 && offsetof(tpacket3_hdr, tp_net) % 2 == 0,
              "tpacket3_hdr fields are naturally aligned");
static_assert(TPACKET_ALIGN(sizeof(tpacket3_hdr)) % 8 == 0 && offsetof(sockaddr_ll, sll_ifindex) % 4 == 0 &&
                  offsetof(sockaddr_ll, sll_hatype) % 2 == 0 && offsetof(sockaddr_ll, sll_protocol) % 2 == 0,
              "sockaddr_ll after the frame header is naturally aligned");

// Tags ring handles, so that no other external value (or a forged object) is taken for one.
constexpr napi_type_tag kRingTag = {0x736f636b66647269ULL, 0x6e67763300000001ULL};

// The most blocks a ring may have: the kernel's own limit is memory (a kcalloc'd vector of pointers),
// this one keeps the per-block bookkeeping here and in JS bounded.
constexpr uint32_t kMaxBlocks = 1u << 20;

// A block held by JS: a weak reference to its ArrayBuffer, and a generation that tells a later
// handing-out of the same block from this one (for the ArrayBuffer's finalizer).
struct Slot {
  napi_ref view = nullptr;
  uint32_t generation = 0;
};

struct Ring {
  napi_env env = nullptr;
  int fd = -1;
  dev_t dev = 0;  // the socket the ring belongs to (fstat at map time), so that a ring torn down after
  ino_t ino = 0;  // its fd number was closed and reused never touches another socket
  uint8_t* map = nullptr;
  size_t length = 0;
  uint32_t blockSize = 0;
  uint32_t blockCount = 0;
  uint32_t next = 0;  // the block to hand out next, in the kernel's order
  std::vector<Slot> slots;
  int refs = 1;  // the handle's, and one per block ArrayBuffer not yet finalized
  bool hooked = false;
};

// What a block ArrayBuffer's finalizer needs: its ring, block and generation.
struct BlockHint {
  Ring* ring;
  uint32_t index;
  uint32_t generation;
};

tpacket_block_desc* Block(const Ring* ring, uint32_t index) {
  return reinterpret_cast<tpacket_block_desc*>(ring->map + static_cast<size_t>(index) * ring->blockSize);
}

uint32_t LoadStatus(const tpacket_block_desc* block) { return __atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE); }

// Gives a block back to the kernel: everything JS did with it happens before the kernel sees it free.
void GiveBack(tpacket_block_desc* block) { __atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE); }

// Whether `fd` is still the socket the ring was made on.
bool SameSocket(const Ring* ring) {
  struct stat st;
  return fstat(ring->fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == ring->dev && st.st_ino == ring->ino;
}

void OnCleanup(void* arg);

// munmap, then the kernel's ring freed (setsockopt PACKET_RX_RING with no blocks, allowed once nothing
// maps it), so the socket is as it was before the ring: a plain packet socket. `detach`: neuter the
// ArrayBuffers of blocks JS still holds first (not when the environment is going away: no JS runs
// then, and the references are the environment's to free).
void Unmap(Ring* ring, bool detach) {
  if (ring->map == nullptr) return;
  for (Slot& slot : ring->slots) {
    if (slot.view == nullptr) continue;
    if (detach) {
      napi_value ab = nullptr;
      if (napi_get_reference_value(ring->env, slot.view, &ab) == napi_ok && ab != nullptr) napi_detach_arraybuffer(ring->env, ab);
      napi_delete_reference(ring->env, slot.view);
      slot.view = nullptr;
    }
    slot.generation++;  // a finalizer that runs later must not touch the (unmapped) block
  }
  munmap(ring->map, ring->length);
  ring->map = nullptr;
  if (SameSocket(ring)) {
    tpacket_req3 none = {};
    setsockopt(ring->fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof none);
  }
  if (ring->hooked) {
    ring->hooked = false;
    napi_remove_env_cleanup_hook(ring->env, OnCleanup, ring);
  }
}

void Unref(Ring* ring) {
  if (--ring->refs > 0) return;
  Unmap(ring, false);
  delete ring;
}

// The environment is being torn down (a worker_thread stopped, the process exiting) with the ring
// mapped: unmap it; the handle and the block ArrayBuffers are finalized by the environment itself.
void OnCleanup(void* arg) {
  Ring* ring = static_cast<Ring*>(arg);
  ring->hooked = false;  // the hook is running: it must not remove itself
  Unmap(ring, false);
}

void FinalizeHandle(napi_env, void* data, void*) { Unref(static_cast<Ring*>(data)); }

// A block's ArrayBuffer was collected. If the block was still held through it, nobody can read the
// block any more: hand it back to the kernel.
void FinalizeBlock(napi_env env, void*, void* hint) {
  BlockHint* h = static_cast<BlockHint*>(hint);
  Ring* ring = h->ring;
  Slot& slot = ring->slots[h->index];
  if (slot.generation == h->generation && slot.view != nullptr) {
    napi_delete_reference(env, slot.view);
    slot.view = nullptr;
    slot.generation++;
    if (ring->map != nullptr) GiveBack(Block(ring, h->index));
  }
  delete h;
  Unref(ring);
}

Ring* ToRing(const Napi::CallbackInfo& info, size_t i) {
  napi_env env = info.Env();
  napi_value v = info[i];
  napi_valuetype type;
  bool tagged = false;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external || napi_check_object_type_tag(env, v, &kRingTag, &tagged) != napi_ok ||
      !tagged) {
    ThrowTypeError(info.Env(), "The \"ring\" argument must be a ring handle made by ringMap. Received " + Describe(info[i]));
  }
  void* data = nullptr;
  napi_get_value_external(env, v, &data);
  return static_cast<Ring*>(data);
}

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

uint32_t ToU32(Napi::Value v, const char* name, uint32_t min, uint32_t max) {
  return static_cast<uint32_t>(ToInteger(v, name, min, max));
}

// Checks a ring's geometry as packet_set_ring does, and more strictly where the kernel would accept
// memory it then wastes: blockSize a power of two and a multiple of the page size, frameSize a
// multiple of TPACKET_ALIGNMENT holding at least a frame header and at most a block, frames per block
// times blocks within the kernel's unsigned int.
void CheckGeometry(Napi::Env env, uint32_t blockSize, uint32_t blockCount, uint32_t frameSize) {
  size_t page = PageSize();
  if ((blockSize & (blockSize - 1)) != 0 || blockSize % page != 0) {
    ThrowRangeError(env, "The value of \"blockSize\" is out of range. It must be a power of two and a multiple of the page size (" +
                             std::to_string(page) + "). Received " + std::to_string(blockSize));
  }
  if (frameSize % TPACKET_ALIGNMENT != 0 || frameSize < TPACKET3_HDRLEN || frameSize > blockSize) {
    ThrowRangeError(env, "The value of \"frameSize\" is out of range. It must be a multiple of " + std::to_string(TPACKET_ALIGNMENT) +
                             " from " + std::to_string(TPACKET_ALIGN(TPACKET3_HDRLEN)) + " to blockSize (" + std::to_string(blockSize) +
                             "). Received " + std::to_string(frameSize));
  }
  uint64_t frames = static_cast<uint64_t>(blockSize / frameSize) * blockCount;
  if (frames > UINT32_MAX || static_cast<uint64_t>(blockSize) * blockCount > SIZE_MAX / 2) {
    ThrowRangeError(env, "The ring is too large: blockCount * (blockSize / frameSize) must fit in 32 bits. Received " +
                             std::to_string(blockCount) + " blocks of " + std::to_string(blockSize / frameSize) + " frames");
  }
}

// setRxRing(fd, blockSize, blockCount, frameSize, retireTimeout, features) -> 0 | -errno:
// setsockopt(fd, SOL_PACKET, PACKET_RX_RING, struct tpacket_req3) for a socket already switched to
// TPACKET_V3 (PACKET_VERSION). retireTimeout is tp_retire_blk_tov in ms (0: the kernel's choice);
// features is tp_feature_req_word (TP_FT_REQ_FILL_RXHASH).
Napi::Value SetRxRing(const Napi::CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  uint32_t blockSize = ToU32(info[1], "blockSize", 1, INT32_MAX);
  uint32_t blockCount = ToU32(info[2], "blockCount", 1, kMaxBlocks);
  uint32_t frameSize = ToU32(info[3], "frameSize", 1, INT32_MAX);
  uint32_t retireTimeout = ToU32(info[4], "retireTimeout", 0, UINT32_MAX);
  uint32_t features = ToU32(info[5], "features", 0, TP_FT_REQ_FILL_RXHASH);
  CheckGeometry(info.Env(), blockSize, blockCount, frameSize);
  tpacket_req3 req = {};
  req.tp_block_size = blockSize;
  req.tp_block_nr = blockCount;
  req.tp_frame_size = frameSize;
  req.tp_frame_nr = (blockSize / frameSize) * blockCount;
  req.tp_retire_blk_tov = retireTimeout;
  req.tp_sizeof_priv = 0;
  req.tp_feature_req_word = features;
  return Result(info.Env(), setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0 ? -errno : 0);
}

// ringMap(fd, blockSize, blockCount) -> handle | -errno: mmap(2) of the RX ring that setRxRing gave
// the socket (the kernel checks that the length is exactly the ring's).
Napi::Value RingMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  uint32_t blockSize = ToU32(info[1], "blockSize", 1, INT32_MAX);
  uint32_t blockCount = ToU32(info[2], "blockCount", 1, kMaxBlocks);
  CheckGeometry(env, blockSize, blockCount, TPACKET_ALIGN(TPACKET3_HDRLEN));
  struct stat st;
  if (fstat(fd, &st) != 0) return Result(env, -errno);
  if (!S_ISSOCK(st.st_mode)) return Result(env, -ENOTSOCK);
  size_t length = static_cast<size_t>(blockSize) * blockCount;
  void* map = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return Result(env, -errno);
  Ring* ring = new Ring();
  ring->env = env;
  ring->fd = fd;
  ring->dev = st.st_dev;
  ring->ino = st.st_ino;
  ring->map = static_cast<uint8_t*>(map);
  ring->length = length;
  ring->blockSize = blockSize;
  ring->blockCount = blockCount;
  ring->slots.resize(blockCount);
  napi_value handle;
  if (napi_create_external(env, ring, FinalizeHandle, nullptr, &handle) != napi_ok) {
    munmap(map, length);
    delete ring;
    NAPI_THROW(Napi::Error::New(env, "sockfd: could not make a ring handle"), Napi::Value());
  }
  napi_type_tag_object(env, handle, &kRingTag);
  if (napi_add_env_cleanup_hook(env, OnCleanup, ring) == napi_ok) ring->hooked = true;
  return Napi::Value(env, handle);
}

// Fields of ringNext's `info` array.
enum BlockInfo { kIndex, kStatus, kFrames, kFirstOffset, kLength, kSequence, kFirstSec, kFirstNsec, kLastSec, kLastNsec, kInfoSize };

// ringNext(ring, info) -> ArrayBuffer | -EAGAIN | -EBADF: the next block the kernel has handed over,
// in order, as an external ArrayBuffer over it (JS's until ringRelease), with its block header in
// `info` (a Float64Array of at least kInfoSize entries). -EAGAIN: the next block is still the
// kernel's, or is the one JS already holds (it has gone round the ring). -EBADF: unmapped.
Napi::Value RingNext(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  Ring* ring = ToRing(info, 0);
  napi_typedarray_type type;
  size_t count = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, info[1], &type, &count, &data, nullptr, nullptr) != napi_ok || type != napi_float64_array ||
      count < kInfoSize || data == nullptr) {
    ThrowTypeError(info.Env(), "The \"info\" argument must be a Float64Array of at least " + std::to_string(kInfoSize) + " elements. Received " +
                                   Describe(info[1]));
  }
  if (ring->map == nullptr) return Result(env, -EBADF);
  uint32_t index = ring->next;
  Slot& slot = ring->slots[index];
  if (slot.view != nullptr) return Result(env, -EAGAIN);
  tpacket_block_desc* block = Block(ring, index);
  uint32_t status = LoadStatus(block);
  if ((status & TP_STATUS_USER) == 0) return Result(env, -EAGAIN);
  const tpacket_hdr_v1& h = block->hdr.bh1;
  double* out = static_cast<double*>(data);
  out[kIndex] = index;
  out[kStatus] = status;
  out[kFrames] = h.num_pkts;
  out[kFirstOffset] = h.offset_to_first_pkt;
  out[kLength] = h.blk_len;
  out[kSequence] = static_cast<double>(h.seq_num);
  out[kFirstSec] = h.ts_first_pkt.ts_sec;
  out[kFirstNsec] = h.ts_first_pkt.ts_nsec;
  out[kLastSec] = h.ts_last_pkt.ts_sec;
  out[kLastNsec] = h.ts_last_pkt.ts_nsec;
  BlockHint* hint = new BlockHint{ring, index, slot.generation + 1};
  napi_value ab;
  napi_status s = napi_create_external_arraybuffer(env, block, ring->blockSize, FinalizeBlock, hint, &ab);
  if (s != napi_ok) {
    delete hint;
    NAPI_THROW(Napi::Error::New(env, s == napi_no_external_buffers_allowed
                                         ? "sockfd: this runtime does not allow external ArrayBuffers, which the ring's zero-copy views need"
                                         : "sockfd: could not make a view of a ring block"),
               Napi::Value());
  }
  ring->refs++;  // released by FinalizeBlock, which now runs whatever happens next
  napi_ref ref;
  if (napi_create_reference(env, ab, 0, &ref) != napi_ok) NAPI_THROW(Napi::Error::New(env, "sockfd: could not track a ring block"), Napi::Value());
  slot.view = ref;
  slot.generation++;
  ring->next = index + 1 == ring->blockCount ? 0 : index + 1;
  return Napi::Value(env, ab);
}

// ringRelease(ring, index) -> 0 | -EINVAL | -EBADF: gives a block JS holds back to the kernel, after
// detaching its ArrayBuffer (every view into it then has length 0). -EINVAL: JS does not hold that
// block (never taken, or released already); -EBADF: unmapped (every block was released then).
Napi::Value RingRelease(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  Ring* ring = ToRing(info, 0);
  uint32_t index = ToU32(info[1], "index", 0, kMaxBlocks);
  if (ring->map == nullptr) return Result(env, -EBADF);
  if (index >= ring->blockCount || ring->slots[index].view == nullptr) return Result(env, -EINVAL);
  Slot& slot = ring->slots[index];
  napi_value ab = nullptr;
  if (napi_get_reference_value(env, slot.view, &ab) == napi_ok && ab != nullptr) {
    if (napi_detach_arraybuffer(env, ab) != napi_ok) NAPI_THROW(Napi::Error::New(env, "sockfd: could not detach a ring block's views"), Napi::Value());
  }
  napi_delete_reference(env, slot.view);
  slot.view = nullptr;
  slot.generation++;
  GiveBack(Block(ring, index));
  return Result(env, 0);
}

// ringUnmap(ring) -> 0: detaches every block JS holds, unmaps the ring and frees the kernel's ring
// (the socket is a plain packet socket again). Idempotent.
Napi::Value RingUnmap(const Napi::CallbackInfo& info) {
  Unmap(ToRing(info, 0), true);
  return Result(info.Env(), 0);
}

// The layout JS walks a block by: offsets within a struct tpacket3_hdr and within the struct
// sockaddr_ll that follows it, and the sizes the option checks need.
void InitLayout(Napi::Env env, Napi::Object exports) {
  struct Entry {
    const char* name;
    double value;
  };
  const Entry entries[] = {
      {"PAGE_SIZE", static_cast<double>(PageSize())},
      {"TPACKET_ALIGNMENT", TPACKET_ALIGNMENT},
      {"TPACKET3_HDRLEN", TPACKET3_HDRLEN},
      {"MIN_FRAME_SIZE", TPACKET_ALIGN(TPACKET3_HDRLEN)},
      {"MAX_BLOCKS", kMaxBlocks},
      {"INFO_SIZE", kInfoSize},
      {"TPACKET_REQ3_SIZE", sizeof(tpacket_req3)},
      {"HDR_NEXT_OFFSET", offsetof(tpacket3_hdr, tp_next_offset)},
      {"HDR_SEC", offsetof(tpacket3_hdr, tp_sec)},
      {"HDR_NSEC", offsetof(tpacket3_hdr, tp_nsec)},
      {"HDR_SNAPLEN", offsetof(tpacket3_hdr, tp_snaplen)},
      {"HDR_LEN", offsetof(tpacket3_hdr, tp_len)},
      {"HDR_STATUS", offsetof(tpacket3_hdr, tp_status)},
      {"HDR_MAC", offsetof(tpacket3_hdr, tp_mac)},
      {"HDR_NET", offsetof(tpacket3_hdr, tp_net)},
      {"HDR_RXHASH", offsetof(tpacket3_hdr, hv1) + offsetof(tpacket_hdr_variant1, tp_rxhash)},
      {"HDR_VLAN_TCI", offsetof(tpacket3_hdr, hv1) + offsetof(tpacket_hdr_variant1, tp_vlan_tci)},
      {"HDR_VLAN_TPID", offsetof(tpacket3_hdr, hv1) + offsetof(tpacket_hdr_variant1, tp_vlan_tpid)},
      {"SLL_OFFSET", TPACKET_ALIGN(sizeof(tpacket3_hdr))},
      {"SLL_PROTOCOL", offsetof(sockaddr_ll, sll_protocol)},
      {"SLL_IFINDEX", offsetof(sockaddr_ll, sll_ifindex)},
      {"SLL_HATYPE", offsetof(sockaddr_ll, sll_hatype)},
      {"SLL_PKTTYPE", offsetof(sockaddr_ll, sll_pkttype)},
      {"SLL_HALEN", offsetof(sockaddr_ll, sll_halen)},
      {"SLL_ADDR", offsetof(sockaddr_ll, sll_addr)},
      {"SLL_ADDR_SIZE", sizeof(sockaddr_ll::sll_addr)},
  };
  constexpr size_t n = sizeof entries / sizeof entries[0];
  napi_property_descriptor props[n];
  for (size_t i = 0; i < n; i++) {
    props[i] = napi_property_descriptor{entries[i].name, nullptr, nullptr, nullptr, nullptr,
                                        Napi::Number::New(env, entries[i].value), napi_enumerable, nullptr};
  }
  Napi::Object layout = Napi::Object::New(env);
  NAPI_THROW_IF_FAILED_VOID(env, napi_define_properties(env, layout, n, props));
  NAPI_THROW_IF_FAILED_VOID(env, napi_object_freeze(env, layout));
  exports.Set("ringLayout", layout);
}

}  // namespace

void InitRing(Napi::Env env, Napi::Object exports) {
  exports.Set("setRxRing", Napi::Function::New(env, SetRxRing, "setRxRing"));
  exports.Set("ringMap", Napi::Function::New(env, RingMap, "ringMap"));
  exports.Set("ringNext", Napi::Function::New(env, RingNext, "ringNext"));
  exports.Set("ringRelease", Napi::Function::New(env, RingRelease, "ringRelease"));
  exports.Set("ringUnmap", Napi::Function::New(env, RingUnmap, "ringUnmap"));
  InitLayout(env, exports);
}

}  // namespace sockfd
