/**
 * `openRxRing`: a capture ring on an interface in one call — the AF_PACKET socket (in another network
 * namespace if asked), its filter, the ring, the binding, the fanout group and promiscuous mode.
 * @packageDocumentation
 */
import { integerArg, invalidArgType, invalidArgValue, optionsArg, outOfRange } from './argerrors.js';
import { bind } from './connection.js';
import { AF_PACKET, ETH_P_ALL, PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC, SOCK_DGRAM, SOCK_RAW, SOL_PACKET, SOL_SOCKET, SO_ATTACH_FILTER } from './constants.generated.js';
import { htons, if_nametoindex } from './inet.js';
import { type PacketFanoutOptions, packetFanout } from './packetopts.js';
import { RING_FIELDS, RxRing, type RxRingOptions, ringOptions } from './ring.js';
import { close, socket } from './socket.js';
import { type NetnsRef, socketIn } from './socketin.js';
import { type BpfInstruction, setsockopt } from './sockopt.js';

/** Options of {@link openRxRing}: the ring's, and the socket's. */
export interface OpenRxRingOptions extends RxRingOptions {
  /** The EtherType to capture, in host byte order (ETH_P_IP, ...); default ETH_P_ALL. */
  protocol?: number;
  /** SOCK_RAW (the default: frames from the link-layer header on) or SOCK_DGRAM (from the network header). */
  type?: number;
  /** Create the socket inside this network namespace (`socketIn`); the interface must then be given by its index there. */
  netns?: NetnsRef;
  /** A classic BPF program attached before the socket is bound (SO_ATTACH_FILTER), so nothing unfiltered gets in. */
  filter?: readonly BpfInstruction[];
  /** Put the interface in promiscuous mode while the socket is open (PACKET_ADD_MEMBERSHIP PACKET_MR_PROMISC). */
  promiscuous?: boolean;
  /** Join a fanout group once bound ({@link packetFanout}). */
  fanout?: PacketFanoutOptions;
}

/**
 * Opens a capture ring on an interface: an AF_PACKET socket (close-on-exec, in `options.netns` when
 * given) with the filter attached, its RX ring mapped, bound to the interface and protocol, in the
 * fanout group when asked. The ring owns the socket: `ring.close()` closes it.
 * @param iface - an interface name (resolved in this thread's namespace), its index, or 0 / 'any' for every interface.
 * @throws TypeError/RangeError for bad options; SystemError from the call that failed (the socket is closed then).
 * @example
 * using ring = openRxRing('eth0', { blockSize: 1 << 20, blockCount: 16 });
 */
export function openRxRing(iface: string | number, options: OpenRxRingOptions = {}): RxRing {
  const o = optionsArg(options, 'options', {
    ...RING_FIELDS,
    protocol: 'number',
    type: 'number',
    netns: (v: unknown) => v,
    filter: 'object',
    promiscuous: 'boolean',
    fanout: 'object',
  });
  const ringOpts = ringOptions(Object.fromEntries(Object.entries(o).filter(([k]) => k in RING_FIELDS)));
  const protocol = integerArg(o.protocol ?? ETH_P_ALL, 'options.protocol', 0, 0xffff);
  const type = o.type ?? SOCK_RAW;
  if (type !== SOCK_RAW && type !== SOCK_DGRAM) throw outOfRange('options.type', 'SOCK_RAW or SOCK_DGRAM', type);
  let ifindex: number;
  if (typeof iface === 'number') ifindex = integerArg(iface, 'iface', 0, 2 ** 31 - 1);
  else if (typeof iface === 'string') {
    if (o.netns !== undefined && iface !== 'any') {
      throw invalidArgValue('iface', 'must be an interface index when options.netns is given (names resolve in this thread\'s namespace)', iface);
    }
    ifindex = iface === 'any' ? 0 : if_nametoindex(iface);
  } else throw invalidArgType('iface', 'of type string or number', iface);
  const fd = o.netns !== undefined ? socketIn(o.netns as NetnsRef, AF_PACKET, type, 0) : socket(AF_PACKET, type, 0);
  let ring: RxRing | undefined;
  try {
    if (o.filter !== undefined) setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, o.filter as readonly BpfInstruction[]);
    ring = new RxRing(fd, ringOpts);
    ring.adoptFd();
    bind(fd, { family: AF_PACKET, protocol: htons(protocol), ifindex });
    if (o.fanout !== undefined) packetFanout(fd, o.fanout as PacketFanoutOptions);
    if (o.promiscuous === true) {
      if (ifindex === 0) throw invalidArgValue('options.promiscuous', 'needs one interface, not all of them', true);
      setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, { ifindex, type: PACKET_MR_PROMISC });
    }
    return ring;
  } catch (err) {
    if (ring !== undefined) ring.close();
    else close(fd);
    throw err;
  }
}

