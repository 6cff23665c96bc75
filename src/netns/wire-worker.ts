/**
 * The wire: a worker thread that carries Ethernet frames between the two ends of each wired link and
 * impairs them on the way, as netem would (delay, jitter, loss, duplication, reordering, rate, queue
 * limit), with seeded random choices, and can cut a link (drop everything, or answer TCP with RSTs).
 *
 * Each wired link is `A:ethN <-veth-> W:wNa [this thread] W:wNb <-veth-> B:ethM`, where W is a
 * namespace of its own that holds nothing else. This thread reads the frames of wNa and wNb through
 * AF_PACKET sockets made in W with `socketIn` and sends them out of the other end. PACKET_VNET_HDR
 * carries each frame's checksum-offload state across (frames from a local stack leave their
 * TCP/UDP checksum for the hardware to fill in), and the endpoints are made with GSO limited to one
 * segment, so every frame is one real packet. Its own event loop keeps the wire running while the
 * main thread blocks in a synchronous call.
 * @internal
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import * as s from '../index.js';
import { ethernet, ipv4, ipv6, tcp } from '../packet/index.js';
import { mulberry32 } from '../random.js';
import { SIZEOF_VIRTIO_NET_HDR } from '../sizes.generated.js';
import type { NormalizedImpairment } from './impair.js';

/** struct virtio_net_hdr, in front of every frame read or written with PACKET_VNET_HDR. */
const VNET = SIZEOF_VIRTIO_NET_HDR;
/** Batches read per readiness callback before letting timers run. */
const BATCHES_PER_WAKE = 4;

/** What one direction of a wire did, as `Link.stats()` reports it. */
export interface DirectionStats {
  /** Frames that entered this direction. */
  frames: number;
  bytes: number;
  /** Frames sent out of the far end (duplicates included). */
  delivered: number;
  /** Dropped by `loss`. */
  lost: number;
  duplicated: number;
  /** Sent without the delay by `reorder`. */
  reordered: number;
  /** Dropped because `limit` frames were already waiting. */
  queueDropped: number;
  /** Dropped by a cut. */
  cutDropped: number;
  /** RSTs sent back to the sender by a 'reset' cut. */
  resets: number;
  /** Sends the kernel refused (the far end down, its queue full). */
  sendErrors: number;
  /** Frames waiting in the queue now. */
  queued: number;
  /** The seed of this direction's random choices. */
  seed: number;
}

/** What the main thread asks of the wire thread (wire.ts posts them, `handle` below answers). */
export type WireRequest =
  | { op: 'add'; id: number; netns: string; ifindexA: number; ifindexB: number }
  | { op: 'impair'; id: number; from: 'a' | 'b' | 'both'; impairment: NormalizedImpairment }
  | { op: 'cut'; id: number; from: 'a' | 'b' | 'both'; mode: 'blackhole' | 'reset' | null }
  | { op: 'stats'; id: number }
  | { op: 'remove'; id: number }
  | { op: 'shutdown' };

interface Queued {
  due: number;
  frame: Buffer;
}

const CLEAN: NormalizedImpairment = { delay: 0, jitter: 0, loss: 0, duplicate: 0, reorder: 0, rate: 0, limit: 1000, seed: undefined };

class Direction {
  config = CLEAN;
  cut: 'blackhole' | 'reset' | null = null;
  random: () => number;
  seed: number;
  queue: Queued[] = [];
  lastDeparture = 0;
  timer: NodeJS.Timeout | undefined;
  timerDue = Infinity;
  readonly stats = { frames: 0, bytes: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, queueDropped: 0, cutDropped: 0, resets: 0, sendErrors: 0 };

  constructor(
    readonly inFd: number,
    readonly outFd: number,
  ) {
    this.seed = randomBytes(4).readUInt32LE(0);
    this.random = mulberry32(this.seed);
  }

  configure(config: NormalizedImpairment): void {
    this.config = config;
    this.seed = config.seed ?? randomBytes(4).readUInt32LE(0);
    this.random = mulberry32(this.seed);
  }

  /** One frame read from the near end (a view into the shared batch: copied if it has to wait). */
  take(frame: Uint8Array): void {
    const st = this.stats;
    st.frames++;
    st.bytes += frame.byteLength - VNET;
    if (this.cut !== null) {
      st.cutDropped++;
      if (this.cut === 'reset') {
        const rst = resetFor(frame);
        if (rst && this.transmit(this.inFd, rst)) st.resets++;
      }
      return;
    }
    const c = this.config;
    if (c.loss > 0 && this.random() * 100 < c.loss) {
      st.lost++;
      return;
    }
    let copies = 1;
    if (c.duplicate > 0 && this.random() * 100 < c.duplicate) {
      copies = 2;
      st.duplicated++;
    }
    const now = performance.now();
    for (let i = 0; i < copies; i++) {
      let due = now;
      if (c.reorder > 0 && this.random() * 100 < c.reorder) {
        st.reordered++;
      } else if (c.delay > 0 || c.jitter > 0) {
        due = now + Math.max(0, c.delay + (c.jitter > 0 ? (this.random() * 2 - 1) * c.jitter : 0));
      }
      if (c.rate > 0) {
        // Serialization: a frame starts when the one before it has left.
        due = Math.max(due, this.lastDeparture) + ((frame.byteLength - VNET) * 8 * 1000) / c.rate;
        this.lastDeparture = due;
      }
      if (due <= now) {
        if (this.transmit(this.outFd, frame)) st.delivered++;
        continue;
      }
      if (this.queue.length >= c.limit) {
        st.queueDropped++;
        continue;
      }
      this.enqueue({ due, frame: Buffer.from(frame) });
    }
    this.schedule();
  }

  private enqueue(q: Queued): void {
    // Due times mostly grow: search from the end, and keep equal times in arrival order.
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.due > q.due) i--;
    this.queue.splice(i, 0, q);
  }

  private schedule(): void {
    const head = this.queue[0];
    if (!head) return;
    if (this.timer !== undefined && this.timerDue <= head.due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = head.due;
    this.timer = setTimeout(() => this.flush(), Math.max(0, head.due - performance.now()));
  }

  flush(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = performance.now();
    // Node's timers count whole milliseconds: a frame due within half of one goes now.
    while (this.queue.length > 0 && this.queue[0]!.due <= now + 0.5) {
      const { frame } = this.queue.shift()!;
      if (this.transmit(this.outFd, frame)) this.stats.delivered++;
    }
    this.schedule();
  }

  transmit(fd: number, frame: Uint8Array): boolean {
    try {
      s.send(fd, frame, undefined, s.MSG_DONTWAIT);
      return true;
    } catch {
      this.stats.sendErrors++;
      return false;
    }
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
  }

  report(): DirectionStats {
    return { ...this.stats, queued: this.queue.length, seed: this.seed };
  }
}

const mac = (b: Uint8Array, o: number): string => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

/**
 * The RST a firewall's "reject with tcp-reset" sends back for a TCP segment (RFC 9293 3.10.7.1):
 * with ACK set, seq = the segment's ack; otherwise seq 0 and ack = the segment's seq + its length.
 * Null for anything that is not TCP over IPv4/IPv6 (without extension headers), and for RSTs.
 */
function resetFor(frame: Uint8Array): Buffer | null {
  const eth = Buffer.from(frame.buffer, frame.byteOffset + VNET, frame.byteLength - VNET);
  if (eth.length < 14) return null;
  const etherType = eth.readUInt16BE(12);
  let source: string, destination: string, segment: Buffer;
  if (etherType === ethernet.ETHERTYPE_IPV4 && eth.length >= 34) {
    const ihl = (eth[14]! & 0xf) * 4;
    if (eth[23] !== tcp.PROTOCOL) return null;
    const end = Math.min(eth.length, 14 + eth.readUInt16BE(16));
    source = `${eth[26]}.${eth[27]}.${eth[28]}.${eth[29]}`;
    destination = `${eth[30]}.${eth[31]}.${eth[32]}.${eth[33]}`;
    segment = eth.subarray(14 + ihl, end);
  } else if (etherType === ethernet.ETHERTYPE_IPV6 && eth.length >= 54) {
    if (eth[20] !== tcp.PROTOCOL) return null;
    source = s.inet_ntop(s.AF_INET6, eth.subarray(22, 38));
    destination = s.inet_ntop(s.AF_INET6, eth.subarray(38, 54));
    segment = eth.subarray(54, Math.min(eth.length, 54 + eth.readUInt16BE(18)));
  } else {
    return null;
  }
  if (segment.length < 20) return null;
  const flags = segment[13]!;
  const FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;
  if (flags & RST) return null;
  const seq = segment.readUInt32BE(4);
  const ack = segment.readUInt32BE(8);
  const length = segment.length - (segment[12]! >> 4) * 4 + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
  const pseudo = { source: destination, destination: source };
  const reply = tcp.encode(
    {
      sourcePort: segment.readUInt16BE(2),
      destinationPort: segment.readUInt16BE(0),
      sequenceNumber: flags & ACK ? ack : 0,
      acknowledgmentNumber: flags & ACK ? 0 : (seq + length) >>> 0,
      flags: flags & ACK ? { rst: true } : { rst: true, ack: true },
      window: 0,
    },
    undefined,
    pseudo,
  );
  const packet =
    etherType === ethernet.ETHERTYPE_IPV4
      ? ipv4.encode({ protocol: tcp.PROTOCOL, ...pseudo, dontFragment: true }, reply)
      : ipv6.encode({ nextHeader: tcp.PROTOCOL, ...pseudo }, reply);
  return Buffer.concat([Buffer.alloc(VNET), ethernet.encode({ destination: mac(eth, 6), source: mac(eth, 0), etherType }, packet)]);
}

interface Wire {
  fds: [number, number];
  watches: s.FdWatch[];
  /** [a to b, b to a] */
  dirs: [Direction, Direction];
}

const wires = new Map<number, Wire>();
// One batch for every socket: frames are handled as soon as they are read, one socket at a time.
const batch = new s.MMsgBatch(32, 65535 + 14 + 4 + VNET);

function drain(fd: number, dir: Direction): void {
  for (let round = 0; round < BATCHES_PER_WAKE; round++) {
    let n: number;
    try {
      n = s.recvmmsgInto(fd, batch, { flags: s.MSG_DONTWAIT });
    } catch {
      return; // EAGAIN: drained (or the link went away: its removal closes the socket)
    }
    for (let i = 0; i < n; i++) dir.take(batch.message(i));
    if (n < batch.slots) return;
  }
}

function packetSocket(netns: string, ifindex: number): number {
  // Protocol 0: the socket receives nothing until it is bound to its interface below.
  const fd = s.socketIn(netns, s.AF_PACKET, s.SOCK_RAW | s.SOCK_NONBLOCK, 0);
  try {
    s.setsockopt(fd, s.SOL_PACKET, s.PACKET_VNET_HDR, 1);
    s.setsockopt(fd, s.SOL_PACKET, s.PACKET_IGNORE_OUTGOING, 1);
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_RCVBUFFORCE, 4 << 20);
    s.setsockopt(fd, s.SOL_SOCKET, s.SO_SNDBUFFORCE, 4 << 20);
    s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_ALL), ifindex });
  } catch (err) {
    s.close(fd);
    throw err;
  }
  return fd;
}

function removeWire(id: number): void {
  const w = wires.get(id);
  if (!w) return;
  wires.delete(id);
  for (const d of w.dirs) d.clear();
  for (const watch of w.watches) watch.close();
  for (const fd of w.fds) s.close(fd);
}


function wire(id: number): Wire {
  const w = wires.get(id);
  if (!w) throw new Error(`sockfd/netns wire ${id} does not exist`);
  return w;
}

function directions(w: Wire, from: 'a' | 'b' | 'both'): Direction[] {
  return from === 'a' ? [w.dirs[0]] : from === 'b' ? [w.dirs[1]] : w.dirs;
}

function handle(req: WireRequest): unknown {
  switch (req.op) {
    case 'add': {
      const a = packetSocket(req.netns, req.ifindexA);
      let b: number;
      try {
        b = packetSocket(req.netns, req.ifindexB);
      } catch (err) {
        s.close(a);
        throw err;
      }
      const dirs: [Direction, Direction] = [new Direction(a, b), new Direction(b, a)];
      const w: Wire = { fds: [a, b], dirs, watches: [] };
      wires.set(req.id, w);
      w.watches.push(s.watch(a, s.POLLIN, () => drain(a, dirs[0])));
      w.watches.push(s.watch(b, s.POLLIN, () => drain(b, dirs[1])));
      return { fds: [a, b] };
    }
    case 'impair':
      for (const d of directions(wire(req.id), req.from)) d.configure(req.impairment);
      return null;
    case 'cut':
      for (const d of directions(wire(req.id), req.from)) d.cut = req.mode;
      return null;
    case 'stats': {
      const w = wire(req.id);
      return { aToB: w.dirs[0].report(), bToA: w.dirs[1].report() };
    }
    case 'remove':
      removeWire(req.id);
      return null;
    case 'shutdown':
      for (const id of [...wires.keys()]) removeWire(id);
      return null;
  }
}

parentPort!.on('message', (message: { seq: number; request: WireRequest }) => {
  try {
    parentPort!.postMessage({ seq: message.seq, value: handle(message.request) });
  } catch (err) {
    const e = err as Error & { code?: string; errno?: number; syscall?: string };
    parentPort!.postMessage({ seq: message.seq, error: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall } });
  }
  if (message.request.op === 'shutdown') parentPort!.close();
});
