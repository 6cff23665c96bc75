/**
 * Socket options: getsockopt and setsockopt. Integer options are numbers; the structured options
 * listed in `optcodecs.ts` (SO_LINGER, SO_RCVTIMEO, TCP_INFO, IP_ADD_MEMBERSHIP, ...) are objects;
 * any option at all can also be read and written as raw bytes.
 * @packageDocumentation
 */
import * as os from 'node:os';
import { native } from './binding.js';
import { SOL_SOCKET, SO_ATTACH_FILTER, SO_ATTACH_REUSEPORT_CBPF } from './constants.generated.js';
import { check, invalidArgType, invalidArgValue, outOfRange } from './errors.js';
import { isRevokedProxy } from './argerrors.js';
import { optCodec } from './optcodecs.js';
import type { AnySockOptSet, ReadableName, SockOptGet, SockOptSet, WritableName } from './optiontypes.js';

// One scratch int per environment for integer options: no allocation per call.
const scratch = new Int32Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/**
 * Reads a socket option; corresponds to `getsockopt(2)`.
 *
 * - `getsockopt(fd, level, name)` returns the option's value: a number for a C `int` option
 *   (boolean options give 0 or 1), or an object for the structured options sockfd knows (see the
 *   README's table: SO_LINGER → `{ onoff, linger }`, SO_RCVTIMEO → `{ sec, usec }`, SO_PEERCRED →
 *   `{ pid, uid, gid }`, TCP_INFO → `TcpInfo`, SO_BINDTODEVICE → an interface name, ...). The type
 *   follows from the level and name ({@link SocketOptionTypes}): `getsockopt(fd, IPPROTO_TCP,
 *   TCP_INFO).stateName` needs no annotation, and an option with no value to decode (SO_COOKIE, an
 *   option that can only be set) does not compile in this form.
 * - `getsockopt(fd, level, name, buflen)` reads up to `buflen` raw bytes and returns them as a Buffer
 *   of the length the kernel reported.
 * - `getsockopt(fd, level, name, out)` reads into `out` (any ArrayBufferView) and returns the number
 *   of bytes written, allocating nothing.
 * @throws SystemError `getsockopt` (ENOPROTOOPT for an unknown option, ...)
 * @example
 * getsockopt(fd, SOL_SOCKET, SO_TYPE) === SOCK_STREAM;
 * getsockopt(fd, IPPROTO_TCP, TCP_INFO).stateName; // 'ESTABLISHED'
 * getsockopt(fd, SOL_SOCKET, SO_COOKIE, 8).readBigUInt64LE(); // an option read as bytes
 */
export function getsockopt<L extends number, N extends number>(fd: number, level: L, name: ReadableName<L, N>): SockOptGet<L, N>;
export function getsockopt(fd: number, level: number, name: number, buflen: number): Buffer;
export function getsockopt(fd: number, level: number, name: number, out: ArrayBufferView): number;
export function getsockopt(fd: number, level: number, name: number, out?: number | ArrayBufferView): unknown {
  // level and name are numbers before any arithmetic on them (the native layer checks their range).
  if (typeof level !== 'number') throw invalidArgType('level', 'of type number', level);
  if (typeof name !== 'number') throw invalidArgType('name', 'of type number', name);
  if (out === undefined) {
    const codec = optCodec(level, name);
    if (codec?.decode) {
      const buf = Buffer.alloc(codec.size);
      return codec.decode(buf.subarray(0, check(native.getsockopt(fd, level, name, buf), 'getsockopt')));
    }
    scratch[0] = 0;
    const n = check(native.getsockopt(fd, level, name, scratch), 'getsockopt');
    // A few options (IP_MULTICAST_TTL, IP_MULTICAST_LOOP) may answer with a single byte.
    return n === 1 ? scratchBytes[0]! : scratch[0]!;
  }
  if (typeof out === 'number') {
    if (!Number.isInteger(out) || out < 0 || out > 65536) throw outOfRange('buflen', 'an integer >= 0 and <= 65536', out);
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

/** The values `setsockopt` understands for some option; {@link SockOptSet} gives those of one option. */
export type SockOptValue = AnySockOptSet;

const BPF_MAXINSNS = 4096;
const littleEndian = os.endianness() === 'LE';

/**
 * Packs a classic BPF program into `struct sock_filter` entries (host byte order), checking every
 * field before use.
 * @throws RangeError naming the instruction and field (`program[3].jt`).
 */
export function packBpf(program: readonly BpfInstruction[]): Buffer {
  if (isRevokedProxy(program) || !Array.isArray(program) || program.length === 0 || program.length > BPF_MAXINSNS) {
    throw outOfRange('program.length', `an array of 1 to ${BPF_MAXINSNS} instructions`, !isRevokedProxy(program) && Array.isArray(program) ? program.length : typeof program);
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
    const o = i * 8;
    const code = field(insn, i, 'code', 0xffff);
    const k = field(insn, i, 'k', 0xffffffff);
    if (littleEndian) out.writeUInt16LE(code, o);
    else out.writeUInt16BE(code, o);
    out.writeUInt8(field(insn, i, 'jt', 0xff), o + 2);
    out.writeUInt8(field(insn, i, 'jf', 0xff), o + 3);
    if (littleEndian) out.writeUInt32LE(k, o + 4);
    else out.writeUInt32BE(k, o + 4);
  });
  return out;
}

/**
 * Sets a socket option; corresponds to `setsockopt(2)`.
 * @param value -
 *   - a number: passed as a C `int` (for SO_RCVTIMEO/SO_SNDTIMEO: milliseconds); a boolean: 1 or 0;
 *   - an object, for the structured options (SO_LINGER `{ onoff, linger }`, SO_RCVTIMEO `{ sec, usec }`,
 *     IP_ADD_MEMBERSHIP `{ multiaddr, address?, ifindex? }`, IPV6_JOIN_GROUP `{ multiaddr, ifindex? }`,
 *     PACKET_ADD_MEMBERSHIP `{ ifindex, type, address? }`, ...: the README's table lists them);
 *   - a string: its UTF-8 bytes (SO_BINDTODEVICE `'eth0'`, TCP_CONGESTION `'cubic'`);
 *   - an array of {@link BpfInstruction}: a classic BPF program for SO_ATTACH_FILTER or
 *     SO_ATTACH_REUSEPORT_CBPF (detach with `setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, 0)`);
 *   - an ArrayBufferView: raw bytes, for any option.
 *
 *   The value's type follows from the level and name ({@link SocketOptionTypes}): a value of the wrong
 *   shape, or any value for an option that can only be read, does not compile.
 * @throws SystemError `setsockopt`; TypeError/RangeError for a value of the wrong shape.
 * @example
 * setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, true);
 * setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 }); // close() resets the connection
 * setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, [{ code: 0x06, jt: 0, jf: 0, k: 0 }]); // drop everything
 */
export function setsockopt<L extends number, N extends number>(fd: number, level: L, name: WritableName<L, N>, value: SockOptSet<L, N>): void;
export function setsockopt(fd: number, level: number, name: number, value: unknown): void {
  if (typeof level !== 'number') throw invalidArgType('level', 'of type number', level);
  if (typeof name !== 'number') throw invalidArgType('name', 'of type number', name);
  if (isRevokedProxy(value)) throw invalidArgType('value', 'a number, boolean, object or ArrayBufferView', value);
  if (Array.isArray(value)) {
    if (level !== SOL_SOCKET || (name !== SO_ATTACH_FILTER && name !== SO_ATTACH_REUSEPORT_CBPF)) {
      throw invalidArgValue('value', 'may be an array of BPF instructions only for SO_ATTACH_FILTER and SO_ATTACH_REUSEPORT_CBPF', value);
    }
    check(native.setsockoptprog(fd, level, name, packBpf(value)), 'setsockopt');
    return;
  }
  check(native.setsockopt(fd, level, name, optionBytes(level, name, value)), 'setsockopt');
}

/**
 * What `setsockopt` passes to the native call for a value: raw bytes as given (always possible, for
 * any option), the structured options through their codec (which takes only its own shape: an
 * object, or for some a number or string), and for every other option a C int from a number or a
 * boolean. Anything else is a TypeError that says what the option takes, so no value is ever
 * reinterpreted (a string's bytes as a `struct linger`) or ignored.
 */
function optionBytes(level: number, name: number, value: unknown): number | boolean | ArrayBufferView {
  if (ArrayBuffer.isView(value)) return value;
  const codec = optCodec(level, name);
  if (codec === undefined) {
    if (typeof value === 'number' || typeof value === 'boolean') return value;
    throw invalidArgType(
      'value',
      'a number or a boolean (a C int), an array of BPF instructions, or an ArrayBufferView of raw bytes (e.g. Buffer.from(string))',
      value,
    );
  }
  const kind = value === null ? 'null' : typeof value;
  const takes = codec.encode !== undefined && (codec.accepts as readonly string[] | undefined)?.includes(kind) === true;
  if (!takes) throw invalidArgType('value', `${codec.shape ?? 'its own shape'} for this option, or an ArrayBufferView of raw bytes`, value);
  return codec.encode!(value);
}
