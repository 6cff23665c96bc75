/**
 * `sockfd capture IFACE -w FILE [-c N] [filter]`: what an AF_PACKET socket sees on an interface,
 * written as pcapng (or classic pcap for a `.pcap` file) with nanosecond timestamps. Frames come
 * through a TPACKET_V3 ring (`openRxRing`: read in place, written with `Writer.writePacket`), or, where
 * the kernel gives no ring, through recvmsg with SO_TIMESTAMPNS.
 * The filter is a classic BPF program attached with SO_ATTACH_FILTER before the socket is bound (so
 * nothing unfiltered slips in): a tcpdump expression, compiled by `tcpdump -ddd` when tcpdump is
 * installed, or a program given with `--bpf` in the form `tcpdump -ddd` prints.
 * @packageDocumentation
 * @internal
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import * as s from '../index.js';
import * as p from '../promises.js';
import { pcap } from '../packet/index.js';
import { type Command, interruptible, numberArg, usageError } from './command.js';

/** A program as `tcpdump -ddd` prints it (a count, then "code jt jf k" per line; commas may stand for newlines). @internal */
export function parseBpf(text: string): s.BpfInstruction[] | string {
  const lines = text.split(/[\n,]/).map((l) => l.trim()).filter((l) => l !== '');
  const count = Number(lines[0]);
  if (!Number.isInteger(count) || count < 1 || count !== lines.length - 1) return `a BPF program starts with its instruction count (${lines[0] ?? 'none'}), then one "code jt jf k" per instruction`;
  const out: s.BpfInstruction[] = [];
  for (const l of lines.slice(1)) {
    const f = l.split(/\s+/).map(Number);
    if (f.length !== 4 || f.some((x) => !Number.isInteger(x) || x < 0)) return `not a "code jt jf k" instruction: ${l}`;
    out.push({ code: f[0]!, jt: f[1]!, jf: f[2]!, k: f[3]! >>> 0 });
  }
  return out;
}

/** Compiles a tcpdump expression for a link type with `tcpdump -ddd`, or says why it cannot. @internal */
export function compileFilter(expression: string, linkName: string): s.BpfInstruction[] | string {
  const r = spawnSync('tcpdump', ['-ddd', '-y', linkName, expression], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `a filter expression needs tcpdump to compile it, and tcpdump is not installed (apt-get install tcpdump); give a classic BPF program with --bpf instead, as \`tcpdump -ddd\` prints it`;
  if (r.status !== 0) return `tcpdump could not compile the filter: ${r.stderr.trim()}`;
  return parseBpf(r.stdout);
}

/** The length of the Linux cooked v2 header that sockfd writes before each cooked packet (and a filter for LINUX_SLL2 expects). */
const SLL2_HDR_LEN = 20;

/**
 * A filter compiled for LINUX_SLL2, made to run in the kernel on a SOCK_DGRAM packet socket, which
 * sees no link-layer header (the packet starts at the network header), as libpcap's fix_program does
 * (pcap-linux.c): every load from the packet (BPF_ABS, BPF_IND, BPF_MSH) past the cooked header moves
 * back by its 20 bytes, and loads of its protocol, ifindex and packet-type fields become the kernel's
 * ancillary loads (SKF_AD_PROTOCOL, SKF_AD_IFINDEX, SKF_AD_PKTTYPE). A load of another field of the
 * header (the hardware type or address) cannot run in the kernel: a string says so.
 * @internal
 */
export function cookedProgram(program: readonly s.BpfInstruction[]): s.BpfInstruction[] | string {
  const out: s.BpfInstruction[] = [];
  for (const insn of program) {
    const cls = insn.code & 0x07;
    const mode = insn.code & 0xe0;
    const loadsPacket = (cls === s.BPF_LD || cls === s.BPF_LDX) && (mode === s.BPF_ABS || mode === s.BPF_IND || mode === s.BPF_MSH);
    // Ancillary loads (k >= SKF_AD_OFF, unsigned) and the negative SKF_NET_OFF/SKF_LL_OFF ones stay as they are.
    if (!loadsPacket || insn.k >>> 0 >= s.SKF_AD_OFF >>> 0 || (insn.k | 0) < 0) {
      out.push({ ...insn });
      continue;
    }
    let k: number;
    if (insn.k >= SLL2_HDR_LEN) k = insn.k - SLL2_HDR_LEN;
    else if (insn.k === 0) k = (s.SKF_AD_OFF + s.SKF_AD_PROTOCOL) >>> 0;
    else if (insn.k === 4) k = (s.SKF_AD_OFF + s.SKF_AD_IFINDEX) >>> 0;
    else if (insn.k === 10) k = (s.SKF_AD_OFF + s.SKF_AD_PKTTYPE) >>> 0;
    else return `the filter reads byte ${insn.k} of the cooked header, which a packet socket's kernel filter cannot see (only its protocol, ifindex and packet type)`;
    out.push({ ...insn, k });
  }
  return out;
}

const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;

/** The ARPHRD_ type of an interface, from sysfs. */
function hardwareType(iface: string): number | undefined {
  try {
    return Number(readFileSync(`/sys/class/net/${iface}/type`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** What the capture loops share: the writer, the link's shape, and the count. */
interface Job {
  out: pcap.Writer;
  cooked: boolean;
  hatype: number | undefined;
  count: number;
  captured: number;
}

/** The 20-byte Linux cooked v2 (SLL2) header of a frame, from its sockaddr_ll fields, into `head`. */
function sll2(head: Buffer, protocol: number, ifindex: number, hatype: number, pkttype: number, addr: Uint8Array, halen: number): void {
  head.fill(0, 0, 20);
  head.writeUInt16BE(s.ntohs(protocol), 0);
  head.writeUInt32BE(ifindex >>> 0, 4);
  head.writeUInt16BE(hatype, 8);
  head[10] = pkttype;
  head[11] = halen;
  head.set(addr.subarray(0, 8), 12);
}

/** A loopback device shows each packet twice, going out and coming in: keep one, as libpcap does. */
function duplicate(job: Job, pkttype: number | undefined, hatype: number | undefined): boolean {
  return pkttype === s.PACKET_OUTGOING && (hatype === ARPHRD_LOOPBACK || job.hatype === ARPHRD_LOOPBACK);
}

/** Captures from a ring: each block's frames written with writePacket (no object per frame), then flushed. */
async function captureRing(ring: s.RxRing, job: Job, signal: AbortSignal): Promise<void> {
  const scratch = Buffer.alloc(20 + (1 << 18));
  while (job.captured < job.count) {
    let block: s.RxBlock;
    try {
      block = await ring.waitBlock({ signal });
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      throw err;
    }
    try {
      for (let f = block.nextFrame(); f !== null && job.captured < job.count; f = block.nextFrame()) {
        if (duplicate(job, f.pkttype, f.hatype)) continue;
        if (job.cooked) {
          const addr = f.linkAddress();
          sll2(scratch, f.protocol, f.ifindex, f.hatype, f.pkttype, addr, addr.length);
          scratch.set(f.data.subarray(0, scratch.length - 20), 20);
          job.out.writePacket(scratch.subarray(0, 20 + Math.min(f.snaplen, scratch.length - 20)), f.sec, f.nsec, f.len + 20);
        } else job.out.writePacket(f.data, f.sec, f.nsec, f.len);
        job.captured++;
      }
    } finally {
      block.release();
    }
    if (!job.out.flushPackets()) await once(job.out, 'drain');
  }
}

/** Captures with recvmsg (SO_TIMESTAMPNS), where no ring could be made. */
async function captureRecvmsg(fd: number, job: Job, signal: AbortSignal): Promise<void> {
  const buf = Buffer.alloc(262144);
  const head = Buffer.alloc(20);
  while (job.captured < job.count) {
    let m: Awaited<ReturnType<typeof p.recvmsg>>;
    try {
      m = await p.recvmsg(fd, [buf], { controlLength: 64, flags: s.MSG_TRUNC }, { signal });
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      throw err;
    }
    const from = m.address as { pkttype?: number; ifindex?: number; protocol?: number; hatype?: number; addr?: Buffer; halen?: number } | null;
    if (duplicate(job, from?.pkttype, from?.hatype)) continue;
    const ts = m.control.find((c) => c.level === s.SOL_SOCKET && (c.type === s.SCM_TIMESTAMPNS || c.type === s.SCM_TIMESTAMP));
    const data = Buffer.from(buf.subarray(0, Math.min(m.bytes, buf.length)));
    let frame = data;
    let original = m.bytes;
    if (job.cooked) {
      const addr = from?.addr ?? Buffer.alloc(0);
      sll2(head, from?.protocol ?? 0, from?.ifindex ?? 0, from?.hatype ?? 0, from?.pkttype ?? 0, addr, from?.halen ?? addr.length);
      frame = Buffer.concat([head, data]);
      original += 20;
    }
    job.out.write({ data: frame, originalLength: original, ...(ts && 'sec' in ts ? { timestamp: { sec: ts.sec, nsec: ts.nsec } } : {}) });
    job.captured++;
  }
}

/** The capture command. @internal */
export const captureCommand: Command = {
  name: 'capture',
  summary: 'write what an AF_PACKET socket sees on IFACE (or any), through a TPACKET_V3 ring, to a pcapng file (pcap for a .pcap name), with ns timestamps; filter as a tcpdump expression (compiled by tcpdump -ddd) or --bpf PROGRAM; needs CAP_NET_RAW',
  usage: 'IFACE -w FILE [-c count] [--bpf PROGRAM | filter expression...]',
  async run(args) {
    let iface = '';
    let file = '';
    let count = Infinity;
    let bpf: string | undefined;
    const expression: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-w') file = args[++i] ?? '';
      else if (a === '-c') {
        const v = numberArg(a, args[++i], 1, 1e9);
        if (typeof v === 'string') return usageError(this, v);
        count = v;
      } else if (a === '--bpf') bpf = args[++i] ?? '';
      else if (a.startsWith('-')) return usageError(this, `unknown option ${a}`);
      else if (!iface) iface = a;
      else expression.push(a);
    }
    if (!iface) return usageError(this, 'an interface is required (a name, or any)');
    if (!file) return usageError(this, 'an output file is required (-w FILE)');
    if (bpf !== undefined && expression.length) return usageError(this, 'give either --bpf or a filter expression, not both');
    const any = iface === 'any';
    const hatype = any ? undefined : hardwareType(iface);
    if (!any && hatype === undefined) return usageError(this, `no such interface: ${iface}`);
    // Ethernet and loopback frames are kept whole; other links (and "any") cooked, with an SLL2 header.
    const cooked = any || (hatype !== ARPHRD_ETHER && hatype !== ARPHRD_LOOPBACK);
    const linkType = cooked ? pcap.LINKTYPE_LINUX_SLL2 : pcap.LINKTYPE_ETHERNET;
    let program: s.BpfInstruction[] | undefined;
    if (bpf !== undefined || expression.length) {
      const got = bpf !== undefined ? parseBpf(bpf) : compileFilter(expression.join(' '), cooked ? 'LINUX_SLL2' : 'EN10MB');
      if (typeof got === 'string') return usageError(this, got);
      // The program is for the file's link type; a cooked socket's kernel filter sees no link header.
      const fixed = cooked ? cookedProgram(got) : got;
      if (typeof fixed === 'string') return usageError(this, fixed);
      program = fixed;
    }
    const ifindex = any ? 0 : s.if_nametoindex(iface);
    const type = cooked ? s.SOCK_DGRAM : s.SOCK_RAW;
    // The ring when the kernel gives one (TPACKET_V3: frames read in place, no system call per
    // frame); a recvmsg loop with SO_TIMESTAMPNS otherwise.
    let ring: s.RxRing | undefined;
    let fd: number | undefined;
    try {
      try {
        ring = s.openRxRing(ifindex, { type, ...(program ? { filter: program } : {}), blockSize: 1 << 20, blockCount: 16, retireTimeout: 20 });
      } catch (err) {
        const e = err as s.SystemError;
        if (!(e instanceof s.SystemError) || e.syscall === 'socket' || e.syscall === 'bind') throw err;
        fd = s.socket(s.AF_PACKET, type, 0);
        if (program) s.setsockopt(fd, s.SOL_SOCKET, s.SO_ATTACH_FILTER, program);
        s.setsockopt(fd, s.SOL_SOCKET, s.SO_TIMESTAMPNS, 1);
        s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_ALL), ifindex });
      }
    } catch (err) {
      if (fd !== undefined) s.close(fd);
      process.stderr.write(`sockfd capture: ${(err as Error).message}\n`);
      return 2;
    }
    const out = pcap.createWriter({ format: file.endsWith('.pcap') ? 'pcap' : 'pcapng', interfaces: [{ linkType, name: iface }] });
    const sink = createWriteStream(file);
    out.pipe(sink);
    const job: Job = { out, cooked, hatype, count, captured: 0 };
    try {
      process.stderr.write(`sockfd capture: capturing on ${iface}, link-type ${cooked ? 'LINUX_SLL2' : 'EN10MB'}, writing ${file}${program ? ` (filter: ${program.length} BPF instructions)` : ''}\n`);
      const r = ring;
      await interruptible((signal) => (r !== undefined ? captureRing(r, job, signal) : captureRecvmsg(fd!, job, signal)));
    } catch (err) {
      process.stderr.write(`sockfd capture: ${(err as Error).message}\n`);
      return 2;
    } finally {
      ring?.close();
      if (fd !== undefined) s.close(fd);
      out.end();
      await once(sink, 'close');
    }
    const captured = job.captured;
    process.stderr.write(`${captured} packet${captured === 1 ? '' : 's'} captured\n`);
    return 0;
  },
};
