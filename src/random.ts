/**
 * A small seedable generator of uniform numbers, for what must be repeatable from a seed: the wire's
 * impairments (sockfd/netns) and the tests' generated cases.
 * @internal
 * @packageDocumentation
 */

/** mulberry32: a small, fast, seedable 32-bit generator of uniform numbers in [0, 1). @internal */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
