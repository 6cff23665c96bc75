// Every ```js example in the README runs as a new user would run it (`node example.js` inside the
// package, so require('sockfd') resolves through the package's own exports), exits cleanly, and
// prints each line its `//=>` comments promise, in order. Every ```js and ```ts example also
// type-checks, as `// @ts-check` JavaScript (or TypeScript) against the package's types, under the
// flags strict users compile with: strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawUnavailable } from './helpers/netns.js';
import { netnsCapsMissing } from './helpers/caps.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const root = path.join(__dirname, '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);

function run(code: string): string {
  return execFileSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', timeout: 15_000 });
}

describe('README examples', () => {
  it('has examples to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(15);
  });

  it('the first-screen example prints what the README shows, with real fds', () => {
    const shown = readme.match(/```text\n([\s\S]*?)```/)![1]!.trim().split('\n');
    const out = run(blocks[0]!).trim().split('\n');
    expect(out).toHaveLength(shown.length);
    shown.forEach((line, i) => {
      // Numbers (fds, ports, inodes) differ from run to run; the words do not.
      const pattern = new RegExp('^' + line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\d+/g, '\\d+') + '$');
      expect(out[i]).toMatch(pattern);
    });
  });

  // Examples that open SOCK_RAW sockets need CAP_NET_RAW; without it they are skipped, saying so.
  const rawSkip = rawUnavailable();
  // Examples that make network namespaces (sockfd/netns) need CAP_SYS_ADMIN and CAP_NET_ADMIN.
  const netnsSkip = netnsCapsMissing();
  blocks.slice(1).forEach((code, i) => {
    const title = code.split('\n').find((l) => l.includes('//=>'))?.split('//=>')[1]?.trim() ?? code.split('\n')[0];
    const why = code.includes('SOCK_RAW') && rawSkip !== null ? rawSkip : code.includes('sockfd/netns') && netnsSkip !== null ? netnsSkip : null;
    const skip = why !== null;
    if (skip) console.log(`skipping README example ${i + 2}: ${why}`);
    it.skipIf(skip)(`example ${i + 2} prints ${JSON.stringify(title)}`, () => {
      const expected = [...code.matchAll(/\/\/=> (.*)$/gm)].map((m) => m[1]!.trim());
      expect(expected.length).toBeGreaterThan(0);
      const lines = run(code).split('\n').map((l) => l.trim());
      let at = 0;
      for (const want of expected) {
        const found = lines.indexOf(want, at);
        expect(found, `"${want}" in:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
    });
  });
});

describe('README examples type-check', () => {
  const typed = [...readme.matchAll(/```(js|ts)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
  const errors = new Map<number, string[]>();
  let dir: string;
  beforeAll(() => {
    // A project of its own, with sockfd installed as a link to this checkout (its dist/ types) and
    // Node's types from the checkout's @types/node.
    dir = mkdtempSync(path.join(os.tmpdir(), 'sockfd-readme-types-'));
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(root, path.join(dir, 'node_modules', 'sockfd'));
    const files = typed.map(({ lang, code }, i) => {
      const name = `example${i + 1}.${lang === 'ts' ? 'ts' : 'js'}`;
      writeFileSync(path.join(dir, name), lang === 'js' ? `// @ts-check\n${code}` : code);
      return name;
    });
    const compilerOptions = {
      allowJs: true,
      checkJs: true,
      noEmit: true,
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      module: 'node16',
      moduleResolution: 'node16',
      target: 'es2022',
      lib: ['es2022'],
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules/@types')],
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    for (const line of r.stdout.split('\n')) {
      const m = /^example(\d+)\.[jt]s\((\d+),\d+\): (error TS\d+: .*)$/.exec(line);
      if (m) errors.set(Number(m[1]) - 1, [...(errors.get(Number(m[1]) - 1) ?? []), `line ${Number(m[2]) - (typed[Number(m[1]) - 1]!.lang === 'js' ? 1 : 0)}: ${m[3]}`]);
    }
    // Anything else tsc said (a broken config, a missing file) fails every example below.
    if (r.status !== 0 && errors.size === 0) errors.set(-1, [r.stdout + r.stderr]);
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tsc ran on the examples', () => {
    expect(errors.get(-1) ?? []).toEqual([]);
    expect(typed.length).toBe(blocks.length + typed.filter((t) => t.lang === 'ts').length);
  });

  typed.forEach(({ lang, code }, i) => {
    const first = code.split('\n').find((l) => l.includes('//=>'))?.split('//=>')[1]?.trim() ?? code.split('\n')[0];
    it(`${lang} example ${i + 1} (${JSON.stringify(first)}) compiles with no error`, () => {
      expect(errors.get(i) ?? []).toEqual([]);
    });
  });
});
