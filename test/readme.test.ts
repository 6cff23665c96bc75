// Every ```js example in the README runs as a new user would run it (`node example.js` inside the
// package, so require('sockfd') resolves through the package's own exports), exits cleanly, and
// prints each line its `//=>` comments promise, in order.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
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
