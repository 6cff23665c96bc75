/**
 * The IPv6 Fragment header (next header 44), and the fragmentation helpers of IPv4 and IPv6:
 * `split(packet, mtu)` cuts a whole packet into fragments, `reassemble(fragments)` puts them back.
 * @packageDocumentation
 */
export * from './fragment.js';
export { split, reassemble } from './fragmentation.js';
export type { FragmentOptions } from './fragmentation.js';
