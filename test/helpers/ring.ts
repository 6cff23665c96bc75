// Two network namespaces joined by a plain veth pair (no addresses, IPv6 off: nothing on the link but
// what a test sends), made by sockfd/netns in this process, for the RxRing tests; frame senders on
// the `a` end (sockfd sendmmsg, or the Python peer run inside `a`); and what a process has mapped.
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import * as s from '../../src/index.js';
import { createLink, createNamespace, type Link, type Namespace } from '../../src/netns/index.js';
import { netnsCapsMissing, toolMissing } from './caps.js';

/** IEEE 802 local experimental EtherType 1: nothing else on the link speaks it. */
export const ETHERTYPE = 0x88b5;
/** Debian's python3 (the pyenv one on PATH would do too: the peer needs only the standard library). */
export const PYTHON = '/usr/bin/python3';

/** Why the Python peer cannot run here (naming the Debian package), or null. */
export function pythonUnavailable(): string | null {
  return toolMissing(PYTHON, 'python3');
}

/** Why the ring tests cannot run here, or null. */
export function ringUnavailable(): string | null {
  return netnsCapsMissing() ?? toolMissing('ip', 'iproute2');
}

export interface Wire {
  a: Namespace;
  b: Namespace;
  link: Link;
  /** A SOCK_RAW packet socket bound to the `a` end, receiving nothing (protocol 0). */
  tx: number;
  close(): Promise<void>;
}

/** Namespaces `a` and `b` with a veth between them, and a sender on `a`. */
export async function makeWire(): Promise<Wire> {
  const a = createNamespace();
  const b = createNamespace();
  const link = await createLink(a, b, { wire: false, ipv6: false });
  const tx = a.socket(s.AF_PACKET, s.SOCK_RAW, 0);
  s.bind(tx, { family: s.AF_PACKET, protocol: 0, ifindex: link.a.index });
  return {
    a,
    b,
    link,
    tx,
    async close() {
      s.close(tx);
      await link.close();
      await a.close();
      await b.close();
    },
  };
}

/** A broadcast frame of `size` bytes with EtherType `etherType`; bytes 14-17 hold `seq`. */
export function frame(seq: number, size = 64, etherType = ETHERTYPE): Buffer {
  const f = Buffer.alloc(size);
  f.fill(0xff, 0, 6);
  f.writeUInt16BE(etherType, 12);
  f.writeUInt32BE(seq >>> 0, 14);
  return f;
}

/** Sends frames `first` to `first + count - 1` out of the wire's `a` end with sendmmsg (64 per call). */
export function flood(w: Wire, first: number, count: number, size = 64): void {
  const batch = new s.MMsgBatch(64, size);
  for (let done = 0; done < count; ) {
    const n = Math.min(64, count - done);
    for (let i = 0; i < n; i++) {
      batch.slot(i).set(frame(first + done + i, size));
      batch.lengths[i] = size;
    }
    let sent = 0;
    while (sent < n) sent += s.sendmmsg(w.tx, batch, 0, n - sent, sent);
    done += n;
  }
}

/** The sequence number a frame from `frame()` carries. */
export const seqOf = (data: Uint8Array): number => Buffer.from(data.buffer, data.byteOffset, data.length).readUInt32BE(14);

export interface PythonSent {
  mac: string;
  frames: { len: number; before: string }[];
  after: string;
}

/** Runs the Python peer inside namespace `a`: `count` frames of `size` bytes out of the `a` end. */
export function pythonSend(w: Wire, count: number, size: number, vlanTci?: number): PythonSent {
  const script = path.join(__dirname, '..', 'peers', 'packet_sender.py');
  const args = ['netns', 'exec', w.a.name, PYTHON, script, w.link.a.name, String(count), String(ETHERTYPE), String(size)];
  if (vlanTci !== undefined) args.push(String(vlanTci));
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`packet_sender.py exited ${r.status ?? r.signal}: ${r.stderr}`);
  // Nanosecond times exceed 2^53: keep them as strings, for BigInt.
  return JSON.parse(r.stdout.replace(/"(before|after)": (\d+)/g, '"$1": "$2"')) as PythonSent;
}

/** The inode of socket `fd`, as /proc/self/fd names it. */
export function socketInode(fd: number): string {
  return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))![1]!;
}

/** The lines of /proc/self/maps that map the socket with this inode (its ring). */
export function ringMappings(inode: string): string[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(`socket:[${inode}]`));
}

/** Every mapping of a socket in this process. */
export function socketMappings(): string[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => /socket:\[\d+\]$/.test(l));
}
