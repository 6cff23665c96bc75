/**
 * sockfd/netns: real networks on one machine, for tests and tools. Named network namespaces (as
 * `ip netns add` makes them), links between them (veth pairs) with addresses, routes and MTU, a
 * router namespace that forwards, and link impairments — delay, jitter, loss, duplication,
 * reordering, rate, a cut that drops or resets — so that a test can put a Node server on one "host"
 * and its clients on another, with a bad network between them, inside one process.
 *
 * Sockets go into a namespace with `socketIn` (or `namespace.socket()`), and to Node with
 * `toNetServer` / `toNetSocket` / `toDgram` (all from `sockfd`).
 *
 * How it is done: links, addresses, routes, up/down and MTU through rtnetlink, over sockfd's own
 * AF_NETLINK sockets opened inside each namespace with `socketIn` (no `ip` needed); forwarding through
 * the namespace's own /proc/sys/net files, opened from inside it. Impairments by default through the
 * wire, a relay of sockfd AF_PACKET sockets in a worker thread, which needs no kernel module, can be
 * seeded, counts what it did and can answer with RSTs; on a direct link (`wire: false`) through the
 * kernel's netem with iproute2's `tc` (netem's parameters are tc's own language: time units,
 * distribution tables, psched ticks), which then
 * must be installed (Debian package iproute2) and the kernel must have sch_netem.
 *
 * Everything created is removed by `close()` / `await using`, and on process exit. Needs root
 * (CAP_SYS_ADMIN and CAP_NET_ADMIN).
 * @packageDocumentation
 * @example
 * import { createNamespace, createRouter } from 'sockfd/netns';
 * await using client = createNamespace(), server = createNamespace();
 * await using router = await createRouter([client, server]);
 * await router.impair({ delay: 20, jitter: 5, loss: 2 });
 */
export { createNamespace, Namespace } from './namespace.js';
export type { NamespaceOptions, NamespaceAddress } from './namespace.js';
export { createLink, Link } from './link.js';
export type { Endpoint, LinkOptions, CutMode } from './link.js';
export { createRouter, Router } from './router.js';
export type { RouterOptions } from './router.js';
export type { Impairment } from './impair.js';
export type { WireStats } from './wire.js';
export type { DirectionStats } from './wire-worker.js';
export type { LinkInfo, AddressInfo, RouteInfo } from './rtnetlink.js';
export { NETNS_RUN_DIR } from '../socketin.js';
