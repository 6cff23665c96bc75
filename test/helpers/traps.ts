// Hostile prototypes for the output-layer tests: accessors on Object.prototype and Array.prototype
// for the names a result's fields have, so that a result built by assignment (instead of own data
// properties) runs user code after its fds exist. Also a canonical form of a result made of own
// properties only (an accessor found through the prototype is not a field), for deep comparison.
import { openFds } from './fds.js';

export type TrapMode = 'throwing' | 'swallowing';

/**
 * How many values a swallowing trap was handed, by name. A Map, since the traps' own bookkeeping
 * must not assign to arrays or objects while they are installed.
 */
export const swallowed = new Map<string, number>();

/**
 * Names no trap may take: the fields of property descriptors (an accessor for `value` or `get` on
 * Object.prototype changes what every `Object.defineProperty` call means), names the prototypes
 * already have, and `stack`/`then` (read by every error printer and every `await`).
 */
const UNTRAPPABLE = new Set(['value', 'get', 'set', 'writable', 'enumerable', 'configurable', 'stack', 'then']);

export function trappable(name: string): boolean {
  return !UNTRAPPABLE.has(name) && !(name in Object.prototype) && !(name in Array.prototype);
}

/**
 * Installs an accessor for each name on Object.prototype and Array.prototype: its getter returns
 * undefined (so reading an absent field still reads undefined), its setter throws ('throwing') or
 * records and drops the value ('swallowing'). Returns the function that removes them all; call it in
 * a finally block.
 */
export function installTraps(names: Iterable<string>, mode: TrapMode): () => void {
  const installed = new Map<string, readonly object[]>();
  const remove = (): void => {
    for (const [name, protos] of installed) for (const proto of protos) delete (proto as Record<string, unknown>)[name];
    installed.clear();
  };
  try {
    for (const name of names) {
      if (!trappable(name)) continue;
      const protos = [Object.prototype, Array.prototype];
      installed.set(name, protos);
      for (const proto of protos) {
        Object.defineProperty(proto, name, {
          configurable: true,
          enumerable: false,
          get: () => undefined,
          set(v: unknown) {
            if (mode === 'throwing') throw new Error(`trap: a setter for "${name}" on a prototype ran`);
            void v;
            swallowed.set(name, (swallowed.get(name) ?? 0) + 1);
          },
        });
      }
    }
  } catch (err) {
    remove();
    throw err;
  }
  return remove;
}

/** Every own key of a value, recursively (array indices included), for the names to trap. */
export function collectNames(value: unknown, into: Set<string>, seen = new Set<unknown>()): Set<string> {
  if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return into;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== 'string' || key === 'length') continue;
    into.add(key);
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    if ('value' in d) collectNames(d.value, into, seen);
  }
  return into;
}

/**
 * A result as JSON-able data made of own properties only: an accessor (own, or a prototype's that
 * stands in for a missing field) is shown as '<accessor>'; views as their bytes; the values under
 * `volatile` keys (fds, ephemeral ports, inode numbers, TCP_INFO counters) as their type only, since
 * they differ from run to run while the shape must not.
 */
export function canonical(value: unknown, volatile: ReadonlySet<string>, hide = false): unknown {
  if (value === null || typeof value !== 'object') return hide && value !== null && value !== undefined ? `<${typeof value}>` : value;
  if (Buffer.isBuffer(value)) return { Buffer: hide ? `<${value.length} bytes>` : value.toString('hex') };
  if (ArrayBuffer.isView(value)) return { [value.constructor.name]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') };
  const out: Record<string, unknown> = Array.isArray(value) ? { '<array length>': value.length } : {};
  if (!Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype) out['<prototype>'] = Object.getPrototypeOf(value)?.constructor?.name;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== 'string' || (Array.isArray(value) && key === 'length')) continue;
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    out[key] = 'value' in d ? canonical(d.value, volatile, hide || volatile.has(key)) : '<accessor>';
  }
  return out;
}

/** The fds a result hands to the caller: numbers under `fd` keys, in `fds` lists, or the result itself. */
export function fdsIn(value: unknown, top = true, out = new Set<number>()): Set<number> {
  if (typeof value === 'number' && top) out.add(value);
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return out;
  if (Array.isArray(value) && top && value.every((v) => typeof v === 'number')) for (const v of value) out.add(v);
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (key === 'fd' && typeof v === 'number') {
      out.add(v);
    } else if (key === 'fds' && Array.isArray(v)) {
      for (const fd of v) if (typeof fd === 'number') out.add(fd);
    } else {
      fdsIn(v, false, out);
    }
  }
  return out;
}

/** The sockets this process has open: fd -> 'socket:[inode]'. */
export function socketFds(): Map<number, string> {
  return new Map([...openFds()].filter(([, target]) => target.startsWith('socket:')));
}

/** The socket fds in `after` that were not open (as the same socket) in `before`. */
export function newSockets(before: Map<number, string>, after: Map<number, string>): number[] {
  return [...after].filter(([fd, target]) => before.get(fd) !== target).map(([fd]) => fd);
}
