/**
 * Netlink exchanges over sockfd's own AF_NETLINK sockets, for every netlink client of sockfd: one
 * request, then its replies until the kernel's ack (a request) or NLMSG_DONE (a dump), each reply
 * datagram read whole (MSG_PEEK | MSG_TRUNC gives its length first) and waited for at most 5 s
 * (SO_RCVTIMEO). The kernel's refusals (NLMSG_ERROR, an NLMSG_DONE carrying an error) become
 * SystemErrors here, with its extended-ack text when it gives one. The framing is netlink.ts.
 * @internal
 * @packageDocumentation
 */
import {
  AF_NETLINK,
  EAGAIN,
  EBADMSG,
  EPROTO,
  MSG_PEEK,
  MSG_TRUNC,
  NETLINK_EXT_ACK,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVTIMEO,
  SO_SNDBUF,
} from './constants.generated.js';
import { bind, getsockname } from './connection.js';
import { SystemError } from './errors.js';
import { recv } from './io.js';
import { sendmsg } from './msg.js';
import { encodeMessage, messageOutcome, parseMessages, type Attr, type NlMessage } from './netlink.js';
import { close, socket } from './socket.js';
import { socketIn, type NetnsRef } from './socketin.js';
import { setsockopt } from './sockopt.js';
import { append } from './own.js';

/** How long an exchange may wait for each reply datagram before it is abandoned (EAGAIN). */
const ANSWER_MS = 5000;
const KERNEL = { family: AF_NETLINK, pid: 0, groups: 0 };

/** One request to the kernel, and how its errors are named. @internal */
export interface NetlinkRequest {
  /** nlmsg_type: RTM_NEWLINK, SOCK_DIAG_BY_FAMILY, ... */
  type: number;
  /** NLM_F_* flags; NLM_F_REQUEST is always added, and NLM_F_ACK unless NLM_F_DUMP is set. */
  flags: number;
  /** The fixed header that starts the body (struct ifinfomsg, struct inet_diag_req_v2, ...). */
  header: Uint8Array;
  /** The attributes after it. */
  attrs?: readonly Attr[];
  /** Names the request in messages: 'RTM_NEWLINK', 'SOCK_DIAG_BY_FAMILY AF_INET IPPROTO_TCP'. */
  what: string;
  /** The `syscall` of the SystemErrors the kernel's answers become; `what` when absent. */
  syscall?: string;
  /** What the request was for, which then leads each message ('creating the veth pair a/b in namespace x'). */
  context?: string;
}

/**
 * A netlink socket of one protocol, optionally inside another network namespace (made there with
 * `socketIn`, so the kernel answers for that namespace): close-on-exec, bound (so its port id is
 * known), with extended acks asked for. Synchronous: each exchange sends one request and reads its
 * answer, waiting at most 5 s for each reply datagram.
 * @internal
 */
export class NetlinkSocket {
  readonly fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private buf = Buffer.allocUnsafe(32768);
  private portId = 0;

  constructor(protocol: number, netns?: NetnsRef) {
    this.fd = netns === undefined ? socket(AF_NETLINK, SOCK_RAW, protocol) : socketIn(netns, AF_NETLINK, SOCK_RAW, protocol);
    try {
      setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, ANSWER_MS);
      setsockopt(this.fd, SOL_SOCKET, SO_SNDBUF, 1 << 20);
      try {
        setsockopt(this.fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      } catch {
        // Kernels before 4.12 have no extended acks: errors then come without the kernel's text.
      }
      bind(this.fd, KERNEL);
      const name = getsockname(this.fd);
      this.portId = 'pid' in name && typeof name.pid === 'number' ? name.pid : 0;
    } catch (err) {
      close(this.fd);
      throw err;
    }
  }

  /**
   * Sends one request and hands each message of its answer to `onMessage`, in order: for a dump,
   * every message before NLMSG_DONE; otherwise the reply messages before the ack. A message's body is
   * a view into a buffer that the next datagram reuses: `onMessage` reads it then or copies it.
   * @throws SystemError the errno of an NLMSG_ERROR answer or of an NLMSG_DONE that reports one
   *   (syscall `request.syscall`, the kernel's text in the message when it gives one); EAGAIN when no
   *   reply came for 5 s; EBADMSG for a netlink overrun or a malformed reply; or the errno of a
   *   failing sendmsg or recv. Whatever `onMessage` throws.
   */
  each(request: NetlinkRequest, onMessage: (m: NlMessage) => void): void {
    const { what, context } = request;
    const syscall = request.syscall ?? what;
    const refused = (errno: number, base: string, text?: string): SystemError => new SystemError(errno, syscall, undefined, [context ?? base, text].filter(Boolean).join(': '));
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const dump = (request.flags & NLM_F_DUMP) === NLM_F_DUMP;
    sendmsg(this.fd, [encodeMessage(request.type, request.flags | NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK), seq, request.header, request.attrs)], { addr: KERNEL });
    for (;;) {
      const n = this.receive(syscall, `${context ? `${context}: ` : ''}the kernel did not answer ${what} within ${ANSWER_MS} ms`);
      for (const m of parseMessages(this.buf.subarray(0, n))) {
        if (m.seq !== seq || (m.pid !== this.portId && m.pid !== 0) || m.type === NLMSG_NOOP) continue; // not an answer to this request
        if (m.type === NLMSG_ERROR) {
          const { errno, text } = messageOutcome(m);
          if (errno === 0) {
            if (dump) continue;
            return; // the ack
          }
          throw refused(errno, `the kernel answered ${what} with NLMSG_ERROR`, text);
        }
        if (m.type === NLMSG_DONE) {
          if (!dump) continue;
          // NLMSG_DONE carries the dump's outcome: 0, or a negative errno for a dump that failed to
          // start (ENOENT for a protocol without a sock_diag module, for one).
          const { errno, text } = messageOutcome(m);
          if (errno > 0) throw refused(errno, `the kernel ended ${what} with an error`, text);
          return;
        }
        if (m.type === NLMSG_OVERRUN) throw new SystemError(EBADMSG, syscall, undefined, `netlink overrun during ${what}`);
        onMessage(m);
      }
      if (n === 0) throw new SystemError(EPROTO, syscall, undefined, 'the netlink socket was closed');
    }
  }

  /** {@link each}, collecting the messages (copies, so they outlive the buffer). */
  request(request: NetlinkRequest): NlMessage[] {
    const replies: NlMessage[] = [];
    this.each(request, (m) => append(replies, { ...m, body: Buffer.from(m.body) }));
    return replies;
  }

  /** Reads the next datagram whole into `buf` (grown as needed); its length. */
  private receive(syscall: string, timeoutHint: string): number {
    try {
      // MSG_PEEK | MSG_TRUNC gives the datagram's whole length, so no reply is ever cut short.
      const size = recv(this.fd, this.buf, undefined, MSG_PEEK | MSG_TRUNC);
      if (size > this.buf.length) this.buf = Buffer.allocUnsafe((size + 4095) & ~4095);
      return recv(this.fd, this.buf);
    } catch (err) {
      if (err instanceof SystemError && err.errno === -EAGAIN) throw new SystemError(EAGAIN, syscall, undefined, timeoutHint);
      throw err;
    }
  }

  close(): void {
    close(this.fd);
  }
}

/**
 * One dump on a netlink socket of its own, closed before this returns or throws: the request, then
 * each reply message's type and body (a view, valid during the call) handed to `onMessage`, until
 * NLMSG_DONE. The errors are {@link NetlinkSocket.each}'s, with syscall 'recv'.
 * @param what - names the request in error messages ('SOCK_DIAG_BY_FAMILY AF_INET IPPROTO_TCP').
 * @internal
 */
export function netlinkDump(protocol: number, type: number, flags: number, header: Buffer, what: string, onMessage: (type: number, body: Buffer) => void): void {
  const nl = new NetlinkSocket(protocol);
  try {
    nl.each({ type, flags: flags | NLM_F_DUMP, header, what, syscall: 'recv' }, (m) => onMessage(m.type, m.body));
  } finally {
    nl.close();
  }
}
