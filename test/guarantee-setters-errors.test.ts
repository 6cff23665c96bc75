// Guarantee: a SystemError's fields (code, errno, syscall, address, port) are its own data properties
// and survive setters on Object.prototype and Array.prototype for every name a result or an error has
// (issue 12, item 1, errors' half; the results' half is test/guarantee-setters.test.ts). Each failing
// call is made without traps, under swallowing setters and under throwing ones (array indices left
// out: these calls may wait on the event loop, whose queues are arrays in Node itself), and the
// error's own fields must be the same each time; a unix path is named in `address`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as s from '../src/index.js';
import * as P from '../src/promises.js';
import { checkFdLeaks } from './helpers/fds.js';
import { installTraps } from './helpers/traps.js';

checkFdLeaks();

const { AF_INET, AF_UNIX, SOCK_STREAM } = s;
const LO4 = { family: AF_INET, address: '127.0.0.1', port: 0 };
const dir = mkdtempSync(path.join(tmpdir(), 'sockfd-setters-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The fields of errors and of the addresses they are built from. */
const NAMES = ['code', 'errno', 'syscall', 'address', 'port', 'family', 'path', 'flowinfo', 'scopeId', 'message', 'cause', 'hint'];
interface Run {
  call(): unknown;
  cleanup(): void;
}
const closeAll = (...fds: number[]): void => fds.forEach((fd) => s.close(fd));

describe('SystemError fields under the same setters', () => {
  const FIELDS = ['code', 'errno', 'syscall', 'address', 'port'] as const;
  const own = (err: unknown): Record<string, unknown> =>
    Object.fromEntries(FIELDS.map((k) => [k, Object.getOwnPropertyDescriptor(err as object, k)?.value]));

  /** The own fields of the error `call` gives, without traps and under each kind of trap. */
  async function errors(prepare: () => Run): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const mode of [null, 'swallowing', 'throwing'] as const) {
      const run = prepare();
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('did not settle within 3 s')), 3000)));
      const restore = mode ? installTraps(NAMES, mode) : () => undefined;
      let err: unknown;
      try {
        await Promise.race([run.call(), bound]);
      } catch (e) {
        err = e;
      } finally {
        restore();
        clearTimeout(timer);
        run.cleanup();
      }
      expect(err, `${mode ?? 'no'} traps`).toBeInstanceOf(s.SystemError);
      out[mode ?? 'none'] = own(err);
    }
    return out;
  }

  /** A socket and a port that is bound but not listening: a connect there is refused. */
  function refused(connect: (fd: number, to: s.SockAddr) => unknown): Run {
    const holder = s.socket(AF_INET, SOCK_STREAM);
    s.bind(holder, LO4);
    const fd = s.socket(AF_INET, SOCK_STREAM);
    const to = s.getsockname(holder);
    return { call: () => connect(fd, to), cleanup: () => closeAll(fd, holder) };
  }

  it.each([
    ['connect ECONNREFUSED', (fd: number, to: s.SockAddr) => s.connect(fd, to)],
    // No timeout option: a timer made under array-index traps would corrupt Node's own timer heap.
    ['promises.connect ECONNREFUSED', (fd: number, to: s.SockAddr) => P.connect(fd, to)],
  ])('%s keeps code, errno, syscall, address and port as own fields', async (_, connect) => {
    const e = await errors(() => refused(connect));
    // Each run refuses at a new port: the port is compared by kind.
    const expected = { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: expect.any(Number) };
    expect(e.none).toEqual(expected);
    expect(e.swallowing).toEqual(expected);
    expect(e.throwing).toEqual(expected);
  });

  it('a refused bind of a unix path names the path in err.address under setters for "address" and "port"', async () => {
    const p = path.join(dir, 'bound');
    const first = s.socket(AF_UNIX, SOCK_STREAM);
    s.bind(first, { family: AF_UNIX, path: p });
    try {
      const e = await errors(() => {
        const second = s.socket(AF_UNIX, SOCK_STREAM);
        return { call: () => s.bind(second, { family: AF_UNIX, path: p }), cleanup: () => s.close(second) };
      });
      expect(e.none).toEqual({ code: 'EADDRINUSE', errno: -98, syscall: 'bind', address: p, port: undefined });
      expect(e.swallowing).toEqual(e.none);
      expect(e.throwing).toEqual(e.none);
    } finally {
      s.close(first);
    }
  });
});
