/**
 * The argument errors of sockfd's TypeScript layer, in the words and with the codes of the native
 * argument checks (native/args.cc) and of Node itself, and the argument readers that use them: fds,
 * integers, lists and options objects, each read once. No native code here: sockfd/packet uses these
 * too and must load without the addon.
 * @internal
 * @packageDocumentation
 */
import { inspect } from 'node:util';

/**
 * A value as Node's argument errors describe it after "Received": `undefined`, `null`,
 * `type string ('17')`, `type number (1.5)`, `an instance of Object`, `function f`.
 * @internal
 */
export function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (isRevokedProxy(value)) return 'a revoked Proxy';
  switch (typeof value) {
    case 'function': {
      let name: unknown;
      try {
        name = value.name;
      } catch {
        name = undefined; // a throwing getter: describe it without asking again
      }
      return typeof name === 'string' && name !== '' ? `function ${name}` : 'function';
    }
    case 'object': {
      let name: unknown;
      try {
        name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      } catch {
        name = undefined; // a revoked Proxy, a throwing getter: describe it without asking again
      }
      return typeof name === 'string' && name !== '' ? `an instance of ${name}` : inspect(value, { depth: -1 });
    }
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return `type string (${inspect(shown)})`;
    }
    case 'symbol':
      return `type symbol (${String(value)})`;
    default:
      return `type ${typeof value} (${inspect(value)})`;
  }
}

/**
 * Whether `value` is a Proxy that can no longer be used (revoked), or one whose getPrototypeOf trap
 * throws: any operation on it throws a TypeError of the engine's, so sockfd refuses it as an argument
 * of the wrong type instead, with a code, before touching it.
 * @internal
 */
export function isRevokedProxy(value: unknown): boolean {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  try {
    Object.getPrototypeOf(value);
    return false;
  } catch {
    return true;
  }
}

/**
 * An address argument that the native layer can read: a revoked Proxy is refused here, with a code,
 * since reading any field of it throws the engine's own TypeError. Anything else passes on for the
 * native layer to check field by field.
 * @internal
 */
export function addrArg<T>(addr: T, name = 'addr'): T {
  if (isRevokedProxy(addr)) throw invalidArgType(name, 'a SockAddr object or a binary sockaddr', addr);
  return addr;
}

/**
 * A RangeError in the words and with the code (`ERR_OUT_OF_RANGE`) of sockfd's argument checks.
 * @internal
 */
export function outOfRange(name: string, rule: string, received: unknown): RangeError {
  // Numbers as Node prints them; anything else described, never converted (String() of a Proxy that
  // claims a length of 2**32-1 would join that many elements).
  const shown = typeof received === 'number' || typeof received === 'bigint' ? String(received) : typeof received === 'string' ? received : describe(received);
  const err = new RangeError(`The value of "${name}" is out of range. It must be ${rule}. Received ${shown}`);
  (err as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
  return err;
}

/**
 * A TypeError with Node's code for a value of the right type but unusable content (`ERR_INVALID_ARG_VALUE`).
 * @internal
 */
export function invalidArgValue(name: string, rule: string, received: unknown): TypeError {
  let shown: string;
  try {
    shown = inspect(received, { depth: 1 });
  } catch {
    shown = describe(received);
  }
  const err = new TypeError(`The "${name}" argument ${rule}. Received ${shown}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

/**
 * A TypeError with Node's code for an argument of the wrong type (`ERR_INVALID_ARG_TYPE`).
 * @internal
 */
export function invalidArgType(name: string, expected: string, received: unknown): TypeError {
  const err = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(received)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

/**
 * The TypeError of a class JS code may test with `instanceof` but not construct (Node's
 * `ERR_ILLEGAL_CONSTRUCTOR`, as `new Blob` internals and `new Event` targets give).
 * @internal
 */
export function illegalConstructor(name: string, madeBy: string): TypeError {
  const err = new TypeError(`Illegal constructor: ${name} objects come from ${madeBy}`);
  (err as TypeError & { code: string }).code = 'ERR_ILLEGAL_CONSTRUCTOR';
  return err;
}

/**
 * An integer in `[min, max]`, checked as the native layer checks it (a TypeError for a non-number,
 * a RangeError naming the range otherwise).
 * @internal
 */
export function integerArg(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

/**
 * A file descriptor: an integer from 0 to 2^31-1, as every native call takes it.
 * @internal
 */
export function fdArg(value: unknown, name = 'fd'): number {
  return integerArg(value, name, 0, 2 ** 31 - 1);
}

/**
 * The elements of a list argument, read once each into a new array: a TypeError for a non-array, a
 * RangeError for more than `max` entries (before any element is read, so a huge or lying `length`
 * is never walked), and holes read as `undefined` (never skipped), for the caller to refuse.
 * @internal
 */
export function listArg(value: unknown, name: string, max: number): unknown[] {
  if (isRevokedProxy(value) || !Array.isArray(value)) throw invalidArgType(name, 'an array', value);
  const length: unknown = value.length;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > max) {
    throw outOfRange(`${name}.length`, `at most ${max}`, length);
  }
  // Array.from defines its elements: an assignment could run a setter on Array.prototype.
  return Array.from({ length }, (_, i) => value[i] as unknown);
}

/** The result of reading options that were not given: shared, frozen, and empty. */
const NO_OPTIONS = Object.freeze({});

/** How one field of an options object is checked: its JS type, or a function that checks and converts it. */
export type FieldSpec = 'number' | 'boolean' | 'object' | 'function' | ((value: unknown, name: string) => unknown);

/** The type a field of `optionsArg`'s result has, from its spec. */
export type FieldType<F> = F extends 'number'
  ? number
  : F extends 'boolean'
    ? boolean
    : F extends 'object'
      ? object
      : F extends 'function'
        ? (...args: never[]) => unknown
        : F extends (value: unknown, name: string) => infer R
          ? R
          : never;

/**
 * An options object read once: `undefined` gives `{}`; anything but a plain object (null, a string,
 * a view, an array) is a TypeError; every field is read once and checked against `spec` (a field left
 * `undefined` is absent); an own field `spec` does not name is a TypeError, since sockfd never ignores an
 * option silently. Returns a new object with the fields that were given.
 * @internal
 */
export function optionsArg<S extends Record<string, FieldSpec>>(value: unknown, name: string, spec: S): { [K in keyof S]?: FieldType<S[K]> } {
  if (value === undefined) return NO_OPTIONS;
  if (typeof value !== 'object' || value === null || isRevokedProxy(value) || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw invalidArgType(name, 'of type object', value);
  }
  const known = keysOf(spec);
  for (const key in value) {
    if (!hasOwn(spec, key) && hasOwn(value, key)) {
      throw invalidArgValue(name, `has an unknown property "${key}" (it takes ${known.join(', ')})`, value);
    }
  }
  // A null-prototype object: assigning its fields can run no setter a program put on Object.prototype.
  const out = Object.create(null) as Record<string, unknown>;
  for (const key of known) {
    const v: unknown = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const check = spec[key]!;
    if (typeof check === 'function') {
      out[key] = check(v, `${name}.${key}`);
      continue;
    }
    const ok = check === 'object' ? typeof v === 'object' && v !== null : typeof v === check;
    if (!ok) throw invalidArgType(`${name}.${key}`, `of type ${check}`, v);
    out[key] = v;
  }
  return out as { [K in keyof S]?: FieldType<S[K]> };
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** The keys of an options spec, computed once per spec (they are module constants). */
const specKeys = new WeakMap<object, string[]>();
function keysOf(spec: object): string[] {
  let keys = specKeys.get(spec);
  if (keys === undefined) {
    keys = Object.keys(spec);
    specKeys.set(spec, keys);
  }
  return keys;
}
