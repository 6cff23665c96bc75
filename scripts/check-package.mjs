// `npm run check:package [-- tarball]`: what the ecosystem's checkers say about the package as packed:
// arethetypeswrong (types resolve, and are ESM or CommonJS as the JavaScript they describe, under node10,
// node16 from CommonJS and from ESM, and bundler resolution, for every entry point) and publint (the
// manifest, "exports" and the files it names), strictly: any problem, warning or suggestion fails. With
// no tarball given, it packs the checkout as it is (`npm pack --ignore-scripts`: dist/ must be built).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The problems both tools report for a tarball, as lines of text (none when the package is clean). */
export async function packageProblems(tarball) {
  const problems = [];
  const attw = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
  let out;
  try {
    out = execFileSync(process.execPath, [attw, tarball, '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch (err) {
    // attw exits 1 when it finds problems, with the JSON on stdout all the same.
    if (!err.stdout) throw err;
    out = err.stdout;
  }
  const result = JSON.parse(out);
  for (const p of result.analysis.problems ?? []) {
    problems.push(`arethetypeswrong: ${p.kind}${p.entrypoint ? ` (${p.entrypoint}, ${p.resolutionKind})` : ''}`);
  }
  const data = readFileSync(tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
    level: 'suggestion',
    strict: true,
  });
  for (const m of messages) problems.push(`publint (${m.type}): ${formatMessage(m, pkg)}`);
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let tarball = process.argv[2];
  let dir;
  if (!tarball) {
    dir = mkdtempSync(join(tmpdir(), 'sockfd-check-'));
    const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
    tarball = join(dir, name.trim().split('\n').pop());
  }
  try {
    const problems = await packageProblems(tarball);
    for (const p of problems) console.log(p);
    console.log(problems.length === 0 ? 'check:package: arethetypeswrong and publint report nothing' : `check:package: ${problems.length} problems`);
    process.exitCode = problems.length === 0 ? 0 : 1;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
