/**
 * Socket options: getsockopt and setsockopt.
 * @packageDocumentation
 */
import * as os from 'node:os';
import { native } from './binding.js';
import {
  PACKET_ADD_MEMBERSHIP,
  PACKET_DROP_MEMBERSHIP,
  SOL_PACKET,
  SOL_SOCKET,
  SO_ATTACH_FILTER,
  SO_ATTACH_REUSEPORT_CBPF,
} from './constants.generated.js';
import { check, invalidArgValue, outOfRange } from './errors.js';

// One scratch int per environment for integer options: no allocation per call.
const scratch = new Int32Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/**
 * Reads a socket option; corresponds to `getsockopt(2)`.
 *
 * - `getsockopt(fd, level, name)` reads a C `int` option and returns it as a number (boolean options
 *   give 0 or 1).
 * - `getsockopt(fd, level, name, buflen)` reads up to `buflen` raw bytes and returns them as a Buffer
 *   of the length the kernel reported (for structured options such as TCP_INFO).
 * - `getsockopt(fd, level, name, out)` reads into `out` (any ArrayBufferView) and returns the number
 *   of bytes written, allocating nothing.
 * @throws SystemError `getsockopt` (ENOPROTOOPT for an unknown option, ...)
 * @example
 * getsockopt(fd, SOL_SOCKET, SO_TYPE) === SOCK_STREAM;
 */
export function getsockopt(fd: number, level: number, name: number): number;
export function getsockopt(fd: number, level: number, name: number, buflen: number): Buffer;
export function getsockopt(fd: number, level: number, name: number, out: ArrayBufferView): number;
export function getsockopt(fd: number, level: number, name: number, out?: number | ArrayBufferView): number | Buffer {
  if (out === undefined) {
    scratch[0] = 0;
    const n = check(native.getsockopt(fd, level, name, scratch), 'getsockopt');
    // A few options (IP_MULTICAST_TTL, IP_MULTICAST_LOOP) may answer with a single byte.
    return n === 1 ? scratchBytes[0]! : scratch[0]!;
  }
  if (typeof out === 'number') {
    if (!Number.isInteger(out) || out < 0 || out > 65536) {
      throw outOfRange('buflen', 'an integer >= 0 and <= 65536', out);
    }
    const buf = Buffer.alloc(out);
    return buf.subarray(0, check(native.getsockopt(fd, level, name, buf), 'getsockopt'));
  }
  return check(native.getsockopt(fd, level, name, out), 'getsockopt');
}

/** One classic BPF instruction, as `tcpdump -dd` prints it: `{ 0x28, 0, 0, 0x0000000c }`. */
export interface BpfInstruction {
  /** The opcode (BPF_LD | BPF_H | BPF_ABS, ...), 16 bits. */
  code: number;
  /** Instructions to skip when a jump is taken, 0–255. */
  jt: number;
  /** Instructions to skip when a jump is not taken, 0–255. */
  jf: number;
  /** The generic field (a constant, an offset), 32 bits unsigned. */
  k: number;
}

/** `struct packet_mreq`, for PACKET_ADD_MEMBERSHIP / PACKET_DROP_MEMBERSHIP at SOL_PACKET. */
export interface PacketMreq {
  /** The interface's index (see if_nametoindex). */
  ifindex: number;
  /** PACKET_MR_PROMISC, PACKET_MR_MULTICAST, PACKET_MR_ALLMULTI or PACKET_MR_UNICAST. */
  type: number;
  /** The hardware address, for PACKET_MR_MULTICAST and PACKET_MR_UNICAST (up to 8 bytes). */
  address?: Uint8Array;
}

/** The values `setsockopt` understands; see there. */
export type SockOptValue = number | boolean | ArrayBufferView | string | readonly BpfInstruction[] | PacketMreq;

const BPF_MAXINSNS = 4096;

// C structs are in host byte order.
const littleEndian = os.endianness() === 'LE';
function writeU16(buf: Buffer, v: number, offset: number): void {
  if (littleEndian) buf.writeUInt16LE(v, offset);
  else buf.writeUInt16BE(v, offset);
}
function writeU32(buf: Buffer, v: number, offset: number): void {
  if (littleEndian) buf.writeUInt32LE(v, offset);
  else buf.writeUInt32BE(v, offset);
}

/**
 * Packs a classic BPF program into `struct sock_filter` entries, checking every field before use.
 * @throws TypeError/RangeError naming the instruction and field (`program[3].jt`).
 */
export function packBpf(program: readonly BpfInstruction[]): Buffer {
  if (!Array.isArray(program) || program.length === 0 || program.length > BPF_MAXINSNS) {
    throw outOfRange('program.length', `an array of 1 to ${BPF_MAXINSNS} instructions`, Array.isArray(program) ? program.length : typeof program);
  }
  const out = Buffer.alloc(program.length * 8);
  const field = (insn: BpfInstruction, i: number, key: keyof BpfInstruction, max: number): number => {
    const v = insn?.[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      throw outOfRange(`program[${i}].${key}`, `an integer >= 0 and <= ${max}`, v);
    }
    return v;
  };
  program.forEach((insn, i) => {
    writeU16(out, field(insn, i, 'code', 0xffff), i * 8);
    out.writeUInt8(field(insn, i, 'jt', 0xff), i * 8 + 2);
    out.writeUInt8(field(insn, i, 'jf', 0xff), i * 8 + 3);
    writeU32(out, field(insn, i, 'k', 0xffffffff), i * 8 + 4);
  });
  return out;
}

function packMreq(mreq: PacketMreq): Buffer {
  const address = mreq.address ?? new Uint8Array(0);
  if (!(address instanceof Uint8Array) || address.length > 8) throw outOfRange('value.address', 'a Uint8Array of at most 8 bytes', address?.length);
  if (!Number.isInteger(mreq.ifindex) || mreq.ifindex < 0 || mreq.ifindex > 0x7fffffff) throw outOfRange('value.ifindex', 'an integer >= 0 and <= 2147483647', mreq.ifindex);
  if (!Number.isInteger(mreq.type) || mreq.type < 0 || mreq.type > 0xffff) throw outOfRange('value.type', 'an integer >= 0 and <= 65535', mreq.type);
  const out = Buffer.alloc(16); // int mr_ifindex; u16 mr_type; u16 mr_alen; u8 mr_address[8]
  writeU32(out, mreq.ifindex, 0);
  writeU16(out, mreq.type, 4);
  writeU16(out, address.length, 6);
  out.set(address, 8);
  return out;
}

/**
 * Sets a socket option; corresponds to `setsockopt(2)`.
 * @param value -
 *   - a number: passed as a C `int`; a boolean: 1 or 0;
 *   - an ArrayBufferView: raw bytes, for any structured option;
 *   - a string: its UTF-8 bytes (SO_BINDTODEVICE `'eth0'`, TCP_CONGESTION `'cubic'`);
 *   - an array of {@link BpfInstruction}: a classic BPF program for SO_ATTACH_FILTER or
 *     SO_ATTACH_REUSEPORT_CBPF (detach with `setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, 0)`);
 *   - a {@link PacketMreq}: for PACKET_ADD_MEMBERSHIP / PACKET_DROP_MEMBERSHIP (e.g. promiscuous mode).
 * @throws SystemError `setsockopt`; TypeError/RangeError for a value of the wrong shape.
 * @example
 * setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, true);
 * setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, 5);
 * setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, [{ code: 0x06, jt: 0, jf: 0, k: 0 }]); // drop everything
 */
export function setsockopt(fd: number, level: number, name: number, value: SockOptValue): void {
  if (Array.isArray(value)) {
    if (level !== SOL_SOCKET || (name !== SO_ATTACH_FILTER && name !== SO_ATTACH_REUSEPORT_CBPF)) {
      throw invalidArgValue('value', 'may be an array of BPF instructions only for SO_ATTACH_FILTER and SO_ATTACH_REUSEPORT_CBPF', value);
    }
    check(native.setsockoptprog(fd, level, name, packBpf(value)), 'setsockopt');
    return;
  }
  let raw: number | boolean | ArrayBufferView;
  if (typeof value === 'string') raw = Buffer.from(value, 'utf8');
  else if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    if (level !== SOL_PACKET || (name !== PACKET_ADD_MEMBERSHIP && name !== PACKET_DROP_MEMBERSHIP)) {
      throw invalidArgValue('value', 'must be a number, boolean, string or ArrayBufferView for this option', value);
    }
    raw = packMreq(value as PacketMreq);
  } else raw = value as number | boolean | ArrayBufferView;
  check(native.setsockopt(fd, level, name, raw), 'setsockopt');
}
