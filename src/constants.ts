/**
 * Constants with their C names and the values the running system's headers give them. Only
 * constants the headers define exist here; `constantName` turns a number back into its name.
 * @packageDocumentation
 */
import { invalidArgType } from './argerrors.js';
import { native } from './binding.js';

/** Every constant sockfd knows that the system defines, by C name. */
export const constants: Readonly<Record<string, number>> = Object.freeze({ ...native.constants });

const byPrefix = new Map<string, Map<number, string>>();

/**
 * The C name of a constant's value within a group, e.g. `constantName(2, 'AF_')` is `'AF_INET'` and
 * `constantName(6, 'IPPROTO_')` is `'IPPROTO_TCP'`. Where several names share a value, the usual
 * one wins (`AF_UNIX` over `AF_LOCAL`). Returns undefined for a value with no name in the group.
 * @param value - the number to name.
 * @param prefix - the group: the names' common prefix, such as `'AF_'`, `'SOCK_'`, `'SO_'`, `'TCP_'`.
 */
export function constantName(value: number, prefix: string): string | undefined {
  if (typeof value !== 'number') throw invalidArgType('value', 'of type number', value);
  if (typeof prefix !== 'string') throw invalidArgType('prefix', 'of type string', prefix);
  let names = byPrefix.get(prefix);
  if (!names) {
    names = new Map();
    for (const [name, v] of Object.entries(constants)) {
      if (name.startsWith(prefix) && !names.has(v)) names.set(v, name);
    }
    byPrefix.set(prefix, names);
  }
  return names.get(value);
}
