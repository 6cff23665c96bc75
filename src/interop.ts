/**
 * Neighbours: the real fd behind Node's own sockets. The other direction needs no helper: Node
 * takes a sockfd fd as it is (`new net.Socket({ fd })`, `server.listen({ fd })`,
 * `dgram.createSocket(...).bind({ fd })`); call `release(fd)` first if `sockfd/promises` or `watch`
 * used it, and let Node close it from then on.
 * @packageDocumentation
 */
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import { invalidArgType, isRevokedProxy } from './argerrors.js';

interface WithHandle {
  _handle?: { fd?: number } | null;
}

/** dgram keeps its handle behind a symbol; reading `socket._handle` would print DEP0112. */
function dgramHandle(socket: object): { fd?: number } | null | undefined {
  for (const sym of Object.getOwnPropertySymbols(socket)) {
    if (sym.description === 'state symbol') {
      const state = (socket as Record<symbol, { handle?: { fd?: number } | null }>)[sym];
      return state?.handle;
    }
  }
  return undefined;
}

/**
 * The kernel's fd of a `net.Socket`, `net.Server` or `dgram.Socket`, to inspect it or set options
 * `net` does not expose (TCP_KEEPCNT, SO_BINDTODEVICE, ...). Node still owns the fd: do not close it.
 * @throws Error with code `ERR_SOCKET_NO_FD` when the socket has no fd yet (not yet connected, bound
 *   or listening) or no longer (destroyed); TypeError for anything else.
 * @example
 * const server = net.createServer().listen(0, () => {
 *   console.log(getsockopt(fdOf(server), SOL_SOCKET, SO_ACCEPTCONN)); // 1
 * });
 */
export function fdOf(socket: net.Socket | net.Server | dgram.Socket): number {
  if (isRevokedProxy(socket)) throw invalidArgType('socket', 'a net.Socket, net.Server or dgram.Socket', socket);
  const isDgram = typeof socket === 'object' && socket !== null && typeof (socket as dgram.Socket).setBroadcast === 'function';
  const isNet = typeof socket === 'object' && socket !== null && '_handle' in socket;
  if (!isDgram && !isNet) {
    throw invalidArgType('socket', 'a net.Socket, net.Server or dgram.Socket', socket);
  }
  const handle = isDgram ? dgramHandle(socket) : (socket as WithHandle)._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    const kind = isDgram ? 'dgram.Socket' : 'listen' in socket ? 'net.Server' : 'net.Socket';
    const err = new Error(`fdOf: this ${kind} has no fd (it is not yet connected, bound or listening, or it was closed)`);
    (err as Error & { code: string }).code = 'ERR_SOCKET_NO_FD';
    throw err;
  }
  return fd;
}
