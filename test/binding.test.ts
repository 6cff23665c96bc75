// The package as users load it: the addon (node-gyp or cmake-js build), both module systems, and
// the entry points sharing one state.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonPath } from '../src/binding.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const root = path.join(__dirname, '..');

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 20_000 });
}

describe('the addon', () => {
  it('is the one SOCKFD_ADDON names when set, else the node-gyp build', () => {
    const expected = process.env.SOCKFD_ADDON
      ? path.resolve(process.env.SOCKFD_ADDON)
      : path.join(root, 'build/Release/sockfd.node');
    expect(realpathSync(addonPath)).toBe(realpathSync(expected));
  });
});

describe('entry points', () => {
  it('require("sockfd") works from CommonJS and returns a real socket fd', () => {
    const out = node([
      '-e',
      `const s = require('sockfd'); const fd = s.socket(s.AF_INET, s.SOCK_STREAM);
       console.log(require('fs').fstatSync(fd).isSocket(), typeof require('sockfd/promises').recv); s.close(fd);`,
    ]);
    expect(out.trim()).toBe('true function');
  });

  it('import "sockfd" works from ESM with named exports and a default export', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import s, { socket, close, AF_UNIX, SOCK_DGRAM } from 'sockfd';
       import { recv } from 'sockfd/promises';
       const fd = socket(AF_UNIX, SOCK_DGRAM); console.log(s.socket === socket, typeof recv); close(fd);`,
    ]);
    expect(out.trim()).toBe('true function');
  });

  it('ESM and CommonJS share one instance, so close from either entry is the one close', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       import { close as esmClose, socketpair, AF_UNIX, SOCK_STREAM } from 'sockfd';
       import * as esmPromises from 'sockfd/promises';
       const require = createRequire(import.meta.url);
       const cjs = require('sockfd');
       console.log(cjs.close === esmClose, require('sockfd/promises').recv === esmPromises.recv);
       const [a, b] = socketpair(AF_UNIX, SOCK_STREAM);
       const pending = esmPromises.recv(a, Buffer.alloc(4)).catch((e) => e.code);
       cjs.close(a);
       console.log(await pending); esmClose(b);`,
    ]);
    expect(out.trim().split('\n')).toEqual(['true true', 'ERR_SOCKET_CLOSED']);
  });

  it('the types resolve for TypeScript users of both entry points, and catch misuse', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sockfd-types-'));
    try {
      writeFileSync(
        path.join(dir, 'use.ts'),
        `import { socket, AF_INET, SOCK_STREAM, type SockAddr } from 'sockfd';
         import { recv } from 'sockfd/promises';
         const fd: number = socket(AF_INET, SOCK_STREAM);
         const addr: SockAddr = { family: AF_INET, address: '127.0.0.1', port: 1 };
         const n: Promise<number> = recv(fd, Buffer.alloc(1), { timeout: 1 });
         // @ts-expect-error recv takes a view, not a string
         recv(fd, 'text');
         void addr; void n;\n`,
      );
      const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
      const args = [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--types', 'node',
        '--typeRoots', path.join(root, 'node_modules/@types'), path.join(dir, 'use.ts')];
      // Resolve 'sockfd' through the package's own exports map, as an installed dependency would.
      mkdirSync(path.join(dir, 'node_modules'));
      symlinkSync(root, path.join(dir, 'node_modules/sockfd'));
      execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
