/**
 * Type-level helpers for numbers. Types only.
 * @internal
 * @packageDocumentation
 */

/** The numbers below N, as a union of literal types (`Below<3>` is `0 | 1 | 2`). @internal */
export type Below<N extends number, Acc extends number[] = []> = Acc['length'] extends N ? Acc[number] : Below<N, [...Acc, Acc['length']]>;
