/**
 * The argument errors of sockfd's TypeScript layer, in the words and with the codes of the native
 * argument checks (native/args.cc) and of Node itself. No native code here: sockfd/packet uses these
 * too and must load without the addon.
 * @internal
 * @packageDocumentation
 */
import { inspect } from 'node:util';

/**
 * A RangeError in the words and with the code (`ERR_OUT_OF_RANGE`) of sockfd's argument checks.
 * @internal
 */
export function outOfRange(name: string, rule: string, received: unknown): RangeError {
  const err = new RangeError(`The value of "${name}" is out of range. It must be ${rule}. Received ${String(received)}`);
  (err as RangeError & { code: string }).code = 'ERR_OUT_OF_RANGE';
  return err;
}

/**
 * A TypeError with Node's code for a value of the right type but unusable content (`ERR_INVALID_ARG_VALUE`).
 * @internal
 */
export function invalidArgValue(name: string, rule: string, received: unknown): TypeError {
  const err = new TypeError(`The "${name}" argument ${rule}. Received ${inspect(received)}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

/**
 * A TypeError with Node's code for an argument of the wrong type (`ERR_INVALID_ARG_TYPE`).
 * @internal
 */
export function invalidArgType(name: string, expected: string, received: unknown): TypeError {
  const what = received === null ? 'null' : typeof received;
  const err = new TypeError(`The "${name}" argument must be ${expected}. Received type ${what}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_ARG_TYPE';
  return err;
}
