/**
 * Link impairments: what `Link.impair` takes, checked once here for both engines (the userspace
 * wire and the kernel's netem through `tc`).
 * @packageDocumentation
 */
import { invalidArgType, invalidArgValue, outOfRange } from '../argerrors.js';

/**
 * What happens to the frames that leave one end of a link, as `tc qdisc ... netem` names it. Every
 * field is optional; `{}` is a clean link. Probabilities are percentages, times milliseconds.
 */
export interface Impairment {
  /** Added one-way delay, ms. */
  delay?: number;
  /**
   * Delay variation, ms: each frame's delay is drawn uniformly from `delay ± jitter` (never below 0).
   * As with netem, jitter reorders frames whose delays cross (use `rate` to keep them in order).
   */
  jitter?: number;
  /** Frames dropped at random, percent (0–100). */
  loss?: number;
  /** Frames sent twice, percent. */
  duplicate?: number;
  /**
   * Frames sent at once, without the delay, percent: they overtake the delayed ones (netem's
   * `reorder`; it needs a `delay`).
   */
  reorder?: number;
  /** Bandwidth, bits per second: frames leave one after another at this rate (serialization delay). */
  rate?: number;
  /** Frames that may wait in the link's queue; more are dropped (netem's `limit`, 1000 by default). */
  limit?: number;
  /**
   * The seed of the wire's random choices (loss, duplication, reordering, jitter), so that a run can
   * be repeated: the n-th frame of a direction gets the same fate. Default: a random seed, reported by
   * `Link.stats()`. Not available with the netem engine (the kernel's random numbers cannot be seeded).
   */
  seed?: number;
}

/** @internal An impairment with every field filled in. */
export interface NormalizedImpairment {
  delay: number;
  jitter: number;
  loss: number;
  duplicate: number;
  reorder: number;
  rate: number;
  limit: number;
  seed: number | undefined;
}

const KEYS = ['delay', 'jitter', 'loss', 'duplicate', 'reorder', 'rate', 'limit', 'seed'];

function num(options: Record<string, unknown>, key: string, min: number, max: number, fallback: number, integer = false): number {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw invalidArgType(`impairment.${key}`, 'of type number', v);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw outOfRange(`impairment.${key}`, `${integer ? 'an integer ' : ''}>= ${min} and <= ${max}`, v);
  }
  return v;
}

/** @internal Checks an impairment: unknown keys and values out of range are errors, never ignored. */
export function normalizeImpairment(impairment: unknown): NormalizedImpairment {
  if (typeof impairment !== 'object' || impairment === null) throw invalidArgType('impairment', 'of type object', impairment);
  const o = impairment as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) throw invalidArgValue('impairment', `has an unknown field '${key}' (known: ${KEYS.join(', ')})`, impairment);
  }
  const n: NormalizedImpairment = {
    delay: num(o, 'delay', 0, 3_600_000, 0),
    jitter: num(o, 'jitter', 0, 3_600_000, 0),
    loss: num(o, 'loss', 0, 100, 0),
    duplicate: num(o, 'duplicate', 0, 100, 0),
    reorder: num(o, 'reorder', 0, 100, 0),
    rate: num(o, 'rate', 0, 1e12, 0),
    limit: num(o, 'limit', 1, 1_000_000, 1000, true),
    seed: o.seed === undefined ? undefined : num(o, 'seed', 0, 2 ** 32 - 1, 0, true),
  };
  if (n.reorder > 0 && n.delay === 0) throw invalidArgValue('impairment', "sets 'reorder' without 'delay': reordered frames are the ones sent without the delay", impairment);
  if (n.rate > 0 && n.rate < 8) throw outOfRange('impairment.rate', '0 (no limit) or >= 8 bits per second', n.rate);
  return n;
}

/**
 * @internal The `tc ... netem` arguments of an impairment (times in microseconds, rates in bit/s,
 * as tc parses them).
 */
export function netemArgs(n: NormalizedImpairment): string[] {
  const args = ['limit', String(n.limit)];
  if (n.delay > 0 || n.jitter > 0) {
    args.push('delay', `${Math.round(n.delay * 1000)}us`);
    // Without a distribution table netem draws the jitter uniformly, as the wire does.
    if (n.jitter > 0) args.push(`${Math.round(n.jitter * 1000)}us`);
  }
  if (n.loss > 0) args.push('loss', 'random', `${n.loss}%`);
  if (n.duplicate > 0) args.push('duplicate', `${n.duplicate}%`);
  if (n.reorder > 0) args.push('reorder', `${n.reorder}%`);
  if (n.rate > 0) args.push('rate', `${Math.round(n.rate)}bit`);
  return args;
}
