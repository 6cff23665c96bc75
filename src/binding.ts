/**
 * The typed surface of the native addon, loaded once per environment (each worker_thread loads its
 * own instance; the addon is context-aware). Every I/O function returns a non-negative result or a
 * negative errno: errors become JS exceptions in one place, `errors.ts`. Argument errors (TypeError,
 * RangeError) are thrown by the native side itself, before any system call.
 *
 * The loader takes `SOCKFD_ADDON` (a path to a `.node` file, e.g. the cmake-js build) when set, and
 * otherwise asks node-gyp-build for a prebuild or a local build under the package root; code bundled
 * out of the package (esbuild, webpack) loads `sockfd.node` from beside the bundle, or says what to do.
 * @internal
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnySockAddr, SockAddr } from './sockaddr.js';

/** A binding result: the value, or a negative errno. */
type Res<T> = T | number;

/** @internal The native poll watcher: one libuv uv_poll_t on this environment's loop. */
export interface NativeWatcher {
  /** uv_poll_init (sets O_NONBLOCK on the fd): 0 or a negative errno. */
  init(): number;
  /** uv_poll_start with UV_* events: 0 or a negative errno. */
  start(events: number): number;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

/** @internal The layout of TPACKET_V3 frames and the ring limits (native/ring.cc), from <linux/if_packet.h>. */
export type RingLayout = Readonly<Record<
    'PAGE_SIZE'
  | 'TPACKET_ALIGNMENT'
  | 'TPACKET3_HDRLEN'
  | 'MIN_FRAME_SIZE'
  | 'MAX_BLOCKS'
  | 'INFO_SIZE'
  | 'TPACKET_REQ3_SIZE'
  | 'HDR_NEXT_OFFSET'
  | 'HDR_SEC'
  | 'HDR_NSEC'
  | 'HDR_SNAPLEN'
  | 'HDR_LEN'
  | 'HDR_STATUS'
  | 'HDR_MAC'
  | 'HDR_NET'
  | 'HDR_RXHASH'
  | 'HDR_VLAN_TCI'
  | 'HDR_VLAN_TPID'
  | 'SLL_OFFSET'
  | 'SLL_PROTOCOL'
  | 'SLL_IFINDEX'
  | 'SLL_HATYPE'
  | 'SLL_PKTTYPE'
  | 'SLL_HALEN'
  | 'SLL_ADDR'
  | 'SLL_ADDR_SIZE',
  number
>>;

/** @internal An mmap'd RX ring (native/ring.cc): an opaque, type-tagged external. */
export interface NativeRingHandle {
  readonly __ring: unique symbol;
}

/** @internal A failed step of a native call that makes several system calls: which one, and its negative errno. */

/**
 * @internal The bindings the event-loop layer calls, which also exist as validation-only twins
 * (`validate.<name>`): the same argument checks, the address recorded in `lastAddress`, and 0 instead
 * of the system call. A call that must queue behind others is checked through its twin when it is made.
 */
export type ValidatedCalls = Pick<
  NativeBinding,
  | 'accept'
  | 'connect'
  | 'read'
  | 'write'
  | 'send'
  | 'recv'
  | 'sendto'
  | 'recvfrom'
  | 'sendmsg'
  | 'recvmsg'
  | 'sendmmsg'
  | 'recvmmsg'
  | 'sendmmsgPacked'
  | 'recvmmsgPacked'
>;
/** @internal A failed step of a native call that makes several system calls: which one, and its negative errno. */
export interface NativeFailure {
  errno: number;
  syscall: string;
}

/** @internal */
export interface NativeBinding {
  /** The validation-only twins of the calls the event-loop layer makes. */
  readonly validate: ValidatedCalls;
  /**
   * This environment's record of the address (binary form) the last address-taking call was given,
   * written whenever that call did not complete: what its error names, and what a waiting call keeps.
   */
  readonly lastAddress: Buffer;
  /** Opens the process's spare fd for accept under EMFILE: 0 or a negative errno. */
  reserveFd(): number;
  /** Closes the connections queued on a listener with the spare fd: how many, or -EMFILE with no spare. */
  shedConnections(fd: number): number;
  Watcher: new (fd: number, callback: (status: number, events: number) => void) => NativeWatcher;
  readonly constants: Readonly<Record<string, number>>;
  /** sizeof(struct NAME) for the structs of native/constants.txt's `sizeof` lines, by struct name. */
  readonly sizes: Readonly<Record<string, number>>;
  socket(domain: number, type: number, protocol: number): number;
  socketpair(domain: number, type: number, protocol: number): Res<[number, number]>;
  close(fd: number): number;
  shutdown(fd: number, how: number): number;
  fcntl(fd: number, cmd: number, arg?: number): number;
  ioctl(fd: number, request: number): number;
  poll(fds: ReadonlyArray<{ fd: number; events: number }>, timeout: number): Res<{ fd: number; revents: number }[]>;
  bind(fd: number, addr: AnySockAddr): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number, flags: number): Res<{ fd: number; address: SockAddr | null }>;
  connect(fd: number, addr: AnySockAddr): number;
  getsockname(fd: number): Res<SockAddr>;
  getpeername(fd: number): Res<SockAddr>;
  read(fd: number, buf: ArrayBufferView, length: number | undefined): number;
  write(fd: number, buf: ArrayBufferView, length: number | undefined): number;
  send(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number): number;
  recv(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number): number;
  sendto(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number, addr: AnySockAddr): number;
  recvfrom(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number): Res<{ bytes: number; address: SockAddr | null }>;
  recvfrom(fd: number, buf: ArrayBufferView, length: number | undefined, flags: number, from: Uint8Array): number;
  getsockopt(fd: number, level: number, name: number, out: ArrayBufferView): number;
  setsockopt(fd: number, level: number, name: number, value: number | boolean | ArrayBufferView): number;
  setsockoptprog(fd: number, level: number, name: number, program: ArrayBufferView): number;
  sendmsg(
    fd: number,
    buffers: readonly ArrayBufferView[],
    control: readonly { level: number; type: number; data: ArrayBufferView }[] | undefined,
    flags: number,
    addr: AnySockAddr | undefined,
  ): number;
  recvmsg(
    fd: number,
    buffers: readonly ArrayBufferView[],
    controlLength: number,
    flags: number,
  ): Res<{ bytes: number; flags: number; address: SockAddr | null; control: { level: number; type: number; data: Buffer }[] }>;
  sendmmsg(fd: number, buffers: readonly ArrayBufferView[], addrs: readonly (AnySockAddr | undefined)[] | undefined, flags: number): number;
  recvmmsg(
    fd: number,
    buffers: readonly ArrayBufferView[],
    flags: number,
    timeout: number,
    lengths: Uint32Array,
    wantAddresses: boolean,
  ): Res<{ bytes: number; flags: number; address: SockAddr | null }[]>;
  sendmmsgPacked(
    fd: number,
    data: Uint8Array,
    size: number,
    lengths: Uint32Array,
    addrs: Uint8Array | undefined,
    start: number,
    count: number,
    flags: number,
  ): number;
  recvmmsgPacked(
    fd: number,
    data: Uint8Array,
    size: number,
    lengths: Uint32Array,
    addrs: Uint8Array | undefined,
    start: number,
    count: number,
    flags: number,
    timeout: number,
    msgFlags: Uint32Array | undefined,
  ): number;
  decodeSockaddr(binary: ArrayBufferView): SockAddr | null;
  decodeRawSockaddr(bytes: ArrayBufferView): SockAddr | null;
  encodeSockaddr(addr: AnySockAddr): Buffer;
  if_nametoindex(name: string): number;
  if_indextoname(index: number): Res<string>;
  inet_pton(af: number, src: string): Res<Buffer | null>;
  inet_ntop(af: number, src: ArrayBufferView): Res<string>;
  /** socket(2) inside the network namespace `nsfd` (setns in, socket, setns back, in one call). */
  socketIn(nsfd: number, domain: number, type: number, protocol: number): number | NativeFailure;
  /** open(2) inside the network namespace `nsfd` (for its /proc/sys/net files). */
  openIn(nsfd: number, path: string, flags: number): number | NativeFailure;
  /** A new network namespace bind-mounted on `target`, made on a helper thread. */
  unshareNetnsAt(target: string): 0 | NativeFailure;
  mount(source: string, target: string, fstype: string, flags: number): number;
  umount2(target: string, flags: number): number;
  flock(fd: number, operation: number): number;
  /** ioctl(NS_GET_NSTYPE): a CLONE_NEW* value, or a negative errno. */
  nsType(fd: number): number;
  /** ioctl(SIOCGSKNS): a new fd of the socket's network namespace, or a negative errno. */
  socketNetns(fd: number): number;
  /** setsockopt(PACKET_RX_RING) with a struct tpacket_req3: 0 or a negative errno. */
  setRxRing(fd: number, blockSize: number, blockCount: number, frameSize: number, retireTimeout: number, features: number): number;
  /** mmap(2) of the socket's RX ring: a handle, or a negative errno. */
  ringMap(fd: number, blockSize: number, blockCount: number): NativeRingHandle | number;
  /** The next block the kernel handed over (an external ArrayBuffer over it) with its header in `info`, or -EAGAIN / -EBADF. */
  ringNext(ring: NativeRingHandle, info: Float64Array): ArrayBuffer | number;
  /** Detaches a held block's ArrayBuffer and gives the block back to the kernel: 0, -EINVAL (not held) or -EBADF (unmapped). */
  ringRelease(ring: NativeRingHandle, index: number): number;
  /** Detaches every held block, munmaps the ring and frees the kernel's ring. Idempotent. */
  ringUnmap(ring: NativeRingHandle): number;
  /** getsockopt(PACKET_STATISTICS) into out: packets, drops, freeze_q_cnt. 0 or a negative errno. */
  packetStatistics(fd: number, out: Uint32Array): number;
  /** setsockopt(PACKET_FANOUT): an int, or a struct fanout_args when maxMembers > 0. 0 or a negative errno. */
  packetFanout(fd: number, id: number, typeFlags: number, maxMembers: number): number;
  /** Offsets within TPACKET_V3 frame headers, and the ring's size limits. */
  readonly ringLayout: RingLayout;
}

/**
 * @internal The directory holding sockfd's package.json, found from this file (src/ or dist/cjs/); undefined when
 * this code is not inside sockfd's package, as when an application bundled it.
 */
export function packageRoot(): string | undefined {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'sockfd') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The addon's file name beside a bundle that has sockfd in it. */
const BUNDLED_ADDON = 'sockfd.node';

/**
 * Where the addon comes from: SOCKFD_ADDON; node-gyp-build's choice (a prebuild or build/Release) in
 * sockfd's package; or, for code bundled out of the package, `sockfd.node` beside the bundle.
 */
function locate(): string {
  const explicit = process.env.SOCKFD_ADDON;
  if (explicit) return path.resolve(explicit);
  const root = packageRoot();
  if (root === undefined) {
    const beside = path.join(__dirname, BUNDLED_ADDON);
    if (fs.existsSync(beside)) return beside;
    throw new Error(
      `sockfd: cannot find the native addon: this copy of sockfd's JavaScript is not inside sockfd's package` +
        ` (no package.json of sockfd above ${__dirname}), as when an application is bundled.\n` +
        `  fix: keep sockfd out of the bundle and install it beside it (esbuild --external:sockfd;` +
        ` webpack externals: { sockfd: 'commonjs sockfd' }),\n` +
        `       or copy the addon to ${beside}` +
        ` (node_modules/sockfd/prebuilds/${process.platform}-${process.arch}/sockfd.glibc.node, or build/Release/sockfd.node),\n` +
        `       or set SOCKFD_ADDON to the path of a sockfd.node.`,
    );
  }
  try {
    return (require('node-gyp-build') as { resolve(dir: string): string }).resolve(root);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(
      `sockfd: could not find the native addon.\n` +
        `  tried: prebuilds/${process.platform}-${process.arch}/ and build/Release/ under ${root}\n` +
        `  cause: ${detail}\n` +
        `  fix:   install a C++ compiler, python3 and make, then run \`npm rebuild sockfd\`` +
        ` (or set SOCKFD_ADDON to a built sockfd.node).`,
      { cause: err },
    );
  }
}

/** @internal The path of the loaded addon. */
export const addonPath: string = locate();

/** @internal The addon instance of this environment. */
export const native: NativeBinding = require(addonPath) as NativeBinding;
