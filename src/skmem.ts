/**
 * A socket's memory, as the kernel accounts for it: the `u32[SK_MEMINFO_VARS]` array of
 * <linux/sock_diag.h> that `getsockopt(SO_MEMINFO)` and the sock_diag attributes INET_DIAG_SKMEMINFO,
 * UNIX_DIAG_MEMINFO and PACKET_DIAG_MEMINFO all carry (`ss -m` prints it as `skmem:(r…,rb…,t…,tb…,f…,
 * w…,o…,bl…,d…)`). Each entry's index is its SK_MEMINFO_* constant.
 * @packageDocumentation
 */
import {
  SK_MEMINFO_BACKLOG,
  SK_MEMINFO_DROPS,
  SK_MEMINFO_FWD_ALLOC,
  SK_MEMINFO_OPTMEM,
  SK_MEMINFO_RCVBUF,
  SK_MEMINFO_RMEM_ALLOC,
  SK_MEMINFO_SNDBUF,
  SK_MEMINFO_VARS,
  SK_MEMINFO_WMEM_ALLOC,
  SK_MEMINFO_WMEM_QUEUED,
} from './constants.generated.js';
import { outOfRange } from './argerrors.js';
import { u32 } from './netlink.js';

/**
 * The kernel's memory accounting of one socket, in bytes (`SO_MEMINFO`; `ss -m`'s `skmem:`). Every
 * figure counts `sk_buff` truesize: the buffer the kernel allocated for a packet, headers and
 * bookkeeping included, not just the payload. So 25 bytes waiting to be read typically hold well over
 * 700 bytes of `rmemAlloc`, and that is what counts against `rcvbuf`.
 */
export interface SkMemInfo {
  /** `SK_MEMINFO_RMEM_ALLOC` (ss `r`): memory of the sk_buffs in the receive queue. */
  rmemAlloc: number;
  /** `SK_MEMINFO_RCVBUF` (ss `rb`): the receive buffer limit (SO_RCVBUF as the kernel holds it). */
  rcvbuf: number;
  /** `SK_MEMINFO_WMEM_ALLOC` (ss `t`): memory of sk_buffs sent by this socket and not yet freed by the layers below (qdisc, driver, a local peer's queue for loopback/unix). */
  wmemAlloc: number;
  /** `SK_MEMINFO_SNDBUF` (ss `tb`): the send buffer limit (SO_SNDBUF as the kernel holds it). */
  sndbuf: number;
  /** `SK_MEMINFO_FWD_ALLOC` (ss `f`): memory charged to the socket ahead of use (forward allocation). */
  fwdAlloc: number;
  /** `SK_MEMINFO_WMEM_QUEUED` (ss `w`): memory of the write queue (TCP: data written and not yet acknowledged). */
  wmemQueued: number;
  /** `SK_MEMINFO_OPTMEM` (ss `o`): option memory (filters, multicast lists, ancillary data). */
  optmem: number;
  /** `SK_MEMINFO_BACKLOG` (ss `bl`): sk_buffs waiting in the backlog while the socket was locked. Absent from kernels before 3.12. */
  backlog?: number;
  /** `SK_MEMINFO_DROPS` (ss `d`): packets dropped for this socket (full receive buffer, filter, ...). Absent from kernels before 4.7. */
  drops?: number;
}

const FIELDS: [keyof SkMemInfo, number][] = [
  ['rmemAlloc', SK_MEMINFO_RMEM_ALLOC],
  ['rcvbuf', SK_MEMINFO_RCVBUF],
  ['wmemAlloc', SK_MEMINFO_WMEM_ALLOC],
  ['sndbuf', SK_MEMINFO_SNDBUF],
  ['fwdAlloc', SK_MEMINFO_FWD_ALLOC],
  ['wmemQueued', SK_MEMINFO_WMEM_QUEUED],
  ['optmem', SK_MEMINFO_OPTMEM],
  ['backlog', SK_MEMINFO_BACKLOG],
  ['drops', SK_MEMINFO_DROPS],
];

/** Bytes of the whole array: what to give `getsockopt(fd, SOL_SOCKET, SO_MEMINFO, n)`. @internal */
export const SK_MEMINFO_BYTES = SK_MEMINFO_VARS * 4;

/**
 * Decodes the `u32[SK_MEMINFO_VARS]` array (host byte order); entries beyond what the kernel returned
 * are left out.
 * @throws RangeError when fewer than the 7 entries every kernel returns are there.
 * @internal
 */
export function decodeSkMemInfo(b: Buffer): SkMemInfo {
  if (b.length < (SK_MEMINFO_OPTMEM + 1) * 4) throw outOfRange('skmeminfo', `at least ${(SK_MEMINFO_OPTMEM + 1) * 4} bytes`, b.length);
  // From entries (defined, never assigned): no setter a program put on Object.prototype drops a field.
  return Object.fromEntries(FIELDS.filter(([, index]) => (index + 1) * 4 <= b.length).map(([name, index]) => [name, u32(b, index * 4)])) as unknown as SkMemInfo;
}
