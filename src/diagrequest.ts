/**
 * sock_diag requests, byte for byte: what `listSockets` sends for each family (a dump, asking for
 * everything `ss -tuxwanpiem` shows) and what the hand-off helpers send for one unix socket. The
 * replies are read in diagparse.ts. Everything is in host byte order except ports and addresses.
 *
 * Layouts (from the uapi headers named; the sizes are the headers' own, from sizes.generated.ts):
 * - `struct inet_diag_req_v2` (<linux/inet_diag.h>, 56 bytes): u8 sdiag_family, u8 sdiag_protocol,
 *   u8 idiag_ext (a bit per INET_DIAG_* attribute wanted: 1 << (attr - 1)), u8 pad (`sdiag_raw_protocol`
 *   of `struct inet_diag_req_raw`), u32 idiag_states (a bit per TCP state), then `struct inet_diag_sockid`.
 * - `struct inet_diag_sockid` (48 bytes): be16 idiag_sport, be16 idiag_dport, be32 idiag_src[4],
 *   be32 idiag_dst[4], u32 idiag_if, u32 idiag_cookie[2] (INET_DIAG_NOCOOKIE when not matching one).
 * - `struct unix_diag_req` (<linux/unix_diag.h>, 24 bytes): u8 sdiag_family, u8 sdiag_protocol, u16 pad,
 *   u32 udiag_states, u32 udiag_ino, u32 udiag_show (UDIAG_SHOW_* bits), u32 udiag_cookie[2].
 * - `struct packet_diag_req` (<linux/packet_diag.h>, 20 bytes): u8 sdiag_family, u8 sdiag_protocol (must
 *   be 0), u16 pad, u32 pdiag_ino, u32 pdiag_show (PACKET_SHOW_* bits), u32 pdiag_cookie[2].
 * @internal
 * @packageDocumentation
 */
import {
  AF_PACKET,
  AF_UNIX,
  INET_DIAG_CONG,
  INET_DIAG_INFO,
  INET_DIAG_NOCOOKIE,
  INET_DIAG_SKMEMINFO,
  INET_DIAG_TCLASS,
  INET_DIAG_TOS,
  INET_DIAG_VEGASINFO,
  PACKET_SHOW_FANOUT,
  PACKET_SHOW_FILTER,
  PACKET_SHOW_INFO,
  PACKET_SHOW_MCLIST,
  PACKET_SHOW_MEMINFO,
  PACKET_SHOW_RING_CFG,
  UDIAG_SHOW_ICONS,
  UDIAG_SHOW_MEMINFO,
  UDIAG_SHOW_NAME,
  UDIAG_SHOW_PEER,
  UDIAG_SHOW_RQLEN,
  UDIAG_SHOW_UID,
  UDIAG_SHOW_VFS,
} from './constants.generated.js';
import { w32 } from './netlink.js';
import { SIZEOF_INET_DIAG_REQ_V2, SIZEOF_PACKET_DIAG_REQ, SIZEOF_UNIX_DIAG_REQ } from './sizes.generated.js';

const bit = (attr: number): number => 1 << (attr - 1);
/** The idiag_ext bits of what `ss -tuwiem --tos` asks for. */
const INET_EXT = bit(INET_DIAG_INFO) | bit(INET_DIAG_VEGASINFO) | bit(INET_DIAG_CONG) | bit(INET_DIAG_TOS) | bit(INET_DIAG_TCLASS) | bit(INET_DIAG_SKMEMINFO);

/** `struct inet_diag_req_v2` for a dump of `protocol` sockets of `family` in `states`. @internal */
export function inetRequest(family: number, protocol: number, states: number): Buffer {
  const r = Buffer.alloc(SIZEOF_INET_DIAG_REQ_V2);
  r[0] = family;
  r[1] = protocol;
  r[2] = INET_EXT;
  r[3] = 0; // sdiag_raw_protocol: raw dumps list every protocol (raw_diag_dump ignores it)
  w32(r, states, 4);
  w32(r, INET_DIAG_NOCOOKIE, 48);
  w32(r, INET_DIAG_NOCOOKIE, 52);
  return r;
}

/** Everything `ss -xem` shows of a unix socket: the UDIAG_SHOW_* bits of a dump. */
const UNIX_SHOW = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN | UDIAG_SHOW_MEMINFO | UDIAG_SHOW_UID;

/**
 * `struct unix_diag_req` for unix sockets in `states`: a dump of all of them with everything ss -xem
 * shows, or, with `ino`, the one socket of that inode and the `show` bits given. @internal
 */
export function unixRequest(states: number, { ino = 0, show = UNIX_SHOW }: { ino?: number; show?: number } = {}): Buffer {
  const r = Buffer.alloc(SIZEOF_UNIX_DIAG_REQ);
  r[0] = AF_UNIX;
  w32(r, states, 4);
  w32(r, ino, 8);
  w32(r, show, 12);
  w32(r, INET_DIAG_NOCOOKIE, 16);
  w32(r, INET_DIAG_NOCOOKIE, 20);
  return r;
}

/** `struct packet_diag_req` for a dump of every packet socket, with everything ss -0e shows. @internal */
export function packetRequest(): Buffer {
  const r = Buffer.alloc(SIZEOF_PACKET_DIAG_REQ);
  r[0] = AF_PACKET;
  w32(r, PACKET_SHOW_INFO | PACKET_SHOW_MCLIST | PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT | PACKET_SHOW_MEMINFO | PACKET_SHOW_FILTER, 8);
  w32(r, INET_DIAG_NOCOOKIE, 12);
  w32(r, INET_DIAG_NOCOOKIE, 16);
  return r;
}
