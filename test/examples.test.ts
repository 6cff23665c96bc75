// The seed's programs rewritten with sockfd (examples/), run as a user runs them, against each other,
// against the seed's Python client and against Node's `net`.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const root = path.join(__dirname, '..');
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill();
      await new Promise((r) => c.once('exit', r));
    }
  }
});

interface Run {
  child: ChildProcess;
  /** Resolves with the first stdout line. */
  firstLine: Promise<string>;
  /** Resolves with all of stdout once the process exits with code 0. */
  done: Promise<string>;
}

function run(command: string, args: string[]): Run {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  let resolveFirst: (line: string) => void;
  const firstLine = new Promise<string>((r) => (resolveFirst = r));
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('\n')) resolveFirst(out.split('\n')[0]!);
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not finish: ${out}${err}`)), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
    });
  });
  return { child, firstLine, done };
}

const node = (file: string, ...args: string[]): Run => run(process.execPath, [path.join('examples', file), ...args]);
const portOf = (line: string): number => Number(line.match(/(\d+)/)![1]);

describe('examples/udp-server.js and udp-client.js (the seed\'s UDP echo)', () => {
  it('the client prints Hello, Michael!, Hello, Tracy!, Hello, Sarah!', async () => {
    const server = node('udp-server.js', '0', '3');
    const port = portOf(await server.firstLine);
    const client = node('udp-client.js', String(port));
    expect(await client.done).toBe('Hello, Michael!\nHello, Tracy!\nHello, Sarah!\n');
    const log = (await server.done).trim().split('\n');
    expect(log[0]).toBe(`Bind UDP on ${port}...`);
    expect(log.slice(1)).toHaveLength(3);
    for (const line of log.slice(1)) expect(line).toMatch(/^Received from 127\.0\.0\.1:\d+\.$/);
  });

  it('serves the seed\'s own Python client', async () => {
    const server = node('udp-server.js', '0', '3');
    const port = portOf(await server.firstLine);
    const client = run('python3', [path.join('test', 'peers', 'udp_client.py'), String(port)]);
    expect(await client.done).toBe('Hello, Michael!\nHello, Tracy!\nHello, Sarah!\n');
    await server.done;
  });
});

describe('examples/tcp-server.js (the seed\'s Python TCP server) and tcp-client.js', () => {
  it('the client is welcomed and sees the server close', async () => {
    const server = node('tcp-server.js', '0', '1');
    const port = portOf(await server.firstLine);
    const client = node('tcp-client.js', String(port));
    expect(await client.done).toBe('已连接到服务器\n欢迎访问TCP服务器！\r\n已从服务器断开\n');
    expect((await server.done).split('\n')[1]).toMatch(/^连接地址：\('127\.0\.0\.1', \d+\)$/);
  });
});

describe('examples/greeting-server.js (the seed\'s net server)', () => {
  it('greets the sockfd client and prints what it sent', async () => {
    const server = node('greeting-server.js', '0', '1');
    const port = portOf(await server.firstLine);
    const client = node('tcp-client.js', String(port));
    expect(await client.done).toBe('已连接到服务器\n你好，来自服务器的问候!\n已从服务器断开\n');
    expect((await server.done).split('\n').slice(1, 4)).toEqual(['客户端已连接', '收到客户端数据: 你好，这是客户端!', '客户端已断开连接']);
  });

  it('greets the seed\'s own net client', async () => {
    const server = node('greeting-server.js', '0', '1');
    const port = portOf(await server.firstLine);
    const received = await new Promise<string>((resolve, reject) => {
      // The seed's client, as written there: write on connect, print the data, end.
      const client = net.createConnection({ port, host: '127.0.0.1' }, () => client.write('你好，这是客户端!'));
      let got = '';
      client.on('data', (data) => {
        got += data.toString();
        client.end();
      });
      client.on('end', () => resolve(got));
      client.on('error', reject);
      setTimeout(() => reject(new Error('no greeting')), 5000).unref();
    });
    expect(received).toBe('你好，来自服务器的问候!\n');
    expect(await server.done).toContain('收到客户端数据: 你好，这是客户端!');
  });
});
