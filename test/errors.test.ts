// sockfd's system errors beside Node's own for the same failure: same code, errno, syscall,
// address, port and message.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  SOCK_DGRAM,
  SOCK_STREAM,
  SystemError,
  bind,
  close,
  connect,
  errnoName,
  getpeername,
  getsockname,
  listen,
  socket,
} from '../src/index.js';
import { checkFdLeaks } from './helpers/fds.js';

checkFdLeaks();

const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) {
    try {
      close(fd);
    } catch {
      // already closed by the test
    }
  }
});

function open(domain: number, type: number): number {
  const fd = socket(domain, type);
  opened.push(fd);
  return fd;
}

function boundPort(fd: number): number {
  const addr = getsockname(fd);
  if (!('port' in addr)) throw new Error('no port');
  return addr.port;
}

/** What `fn` throws (failing the test when it returns). */
function thrown(fn: () => unknown): SystemError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SystemError);
    return err as SystemError;
  }
  return expect.fail('expected a SystemError');
}

type NodeError = Error & { code?: string; errno?: number; syscall?: string; address?: string; port?: number };

/** Waits for `emitter` to emit 'error' (or fails after `ms`). */
function nextError(emitter: NodeJS.EventEmitter, ms = 5000): Promise<NodeError> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'error' event within ${ms} ms`)), ms);
    emitter.once('error', (err: NodeError) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

function closeDgram(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** Destroys a net.Socket and waits for its 'close' (bounded). */
function destroyed(sock: net.Socket, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sock.closed) return resolve();
    const timer = setTimeout(() => reject(new Error(`socket not closed within ${ms} ms`)), ms);
    sock.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.destroy();
  });
}

/** Closes a net.Server (one that never listened reports ERR_SERVER_NOT_RUNNING, which is fine). */
function serverClosed(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The fields Node's system errors carry, for a field-by-field comparison. */
function fields(err: NodeError): Record<string, unknown> {
  return {
    code: err.code,
    errno: err.errno,
    syscall: err.syscall,
    address: err.address,
    port: err.port,
    message: err.message,
    hasPort: 'port' in err,
  };
}

describe('the same failure from sockfd and from Node', () => {
  it('connect ECONNREFUSED to a closed 127.0.0.1 port matches net.connect', async () => {
    // A port that is bound but not listening refuses connections, and nobody else can take it.
    const holder = open(AF_INET, SOCK_STREAM);
    bind(holder, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const port = boundPort(holder);

    const fd = open(AF_INET, SOCK_STREAM);
    const ours = thrown(() => connect(fd, { family: AF_INET, address: '127.0.0.1', port }));

    const client = net.connect(port, '127.0.0.1');
    const theirs = await nextError(client);
    await destroyed(client);

    expect(ours.code).toBe('ECONNREFUSED');
    expect(fields(ours)).toEqual(fields(theirs));
    expect(ours.message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(ours.stack!.split('\n')[0]).toBe(theirs.stack!.split('\n')[0]);
  });

  it('connect ECONNREFUSED to a closed ::1 port matches net.connect (no brackets in the message)', async () => {
    const holder = open(AF_INET6, SOCK_STREAM);
    bind(holder, { family: AF_INET6, address: '::1', port: 0 });
    const port = boundPort(holder);

    const fd = open(AF_INET6, SOCK_STREAM);
    const ours = thrown(() => connect(fd, { family: AF_INET6, address: '::1', port }));

    const client = net.connect(port, '::1');
    const theirs = await nextError(client);
    await destroyed(client);

    expect(ours.code).toBe('ECONNREFUSED');
    expect(fields(ours)).toEqual(fields(theirs));
    expect(ours.message).toBe(`connect ECONNREFUSED ::1:${port}`);
  });

  it('UDP bind EADDRINUSE matches dgram bind', async () => {
    const holder = open(AF_INET, SOCK_DGRAM);
    bind(holder, { family: AF_INET, address: '127.0.0.1', port: 0 });
    const port = boundPort(holder);

    const sock = dgram.createSocket('udp4');
    const failed = nextError(sock);
    sock.bind(port, '127.0.0.1');
    const theirs = await failed;
    await closeDgram(sock);

    const fd = open(AF_INET, SOCK_DGRAM);
    const ours = thrown(() => bind(fd, { family: AF_INET, address: '127.0.0.1', port }));

    expect(ours.code).toBe('EADDRINUSE');
    expect(fields(ours)).toEqual(fields(theirs));
    expect(ours).toMatchObject({ errno: -98, syscall: 'bind', address: '127.0.0.1', port });
    expect(ours.message).toBe(`bind EADDRINUSE 127.0.0.1:${port}`);
  });

  it('TCP bind EADDRINUSE has the code and errno of net listen (whose syscall is "listen")', async () => {
    const holder = open(AF_INET, SOCK_STREAM);
    bind(holder, { family: AF_INET, address: '127.0.0.1', port: 0 });
    listen(holder);
    const port = boundPort(holder);

    const server = net.createServer();
    const failed = nextError(server);
    server.listen(port, '127.0.0.1');
    const theirs = await failed;
    await serverClosed(server);

    const fd = open(AF_INET, SOCK_STREAM);
    const ours = thrown(() => bind(fd, { family: AF_INET, address: '127.0.0.1', port }));

    expect(ours.code).toBe(theirs.code);
    expect(ours.errno).toBe(theirs.errno);
    expect(ours.code).toBe('EADDRINUSE');
    expect(ours.address).toBe(theirs.address);
    expect(ours.port).toBe(theirs.port);
    // libuv's uv_tcp_bind() defers a bind(2) failure (EADDRINUSE) and reports it from uv_listen(),
    // so Node's error says syscall 'listen'. sockfd makes the bind(2) call itself and reports the
    // call that failed: 'bind'. This difference is deliberate and expected.
    expect(theirs.syscall).toBe('listen');
    expect(ours.syscall).toBe('bind');
  });

  it('UDP6 bind EADDRNOTAVAIL to an address not on this host matches dgram bind', async () => {
    // 2001:db8::/32 is the documentation prefix: never assigned here. Binding sends no traffic.
    const sock = dgram.createSocket('udp6');
    const failed = nextError(sock);
    sock.bind(0, '2001:db8::1');
    const theirs = await failed;
    await closeDgram(sock);

    const fd = open(AF_INET6, SOCK_DGRAM);
    const ours = thrown(() => bind(fd, { family: AF_INET6, address: '2001:db8::1', port: 0 }));

    expect(ours.code).toBe('EADDRNOTAVAIL');
    expect(ours.code).toBe(theirs.code);
    expect(ours.errno).toBe(theirs.errno);
    expect(ours.syscall).toBe(theirs.syscall);
    expect(fields(ours)).toEqual(fields(theirs)); // port 0: neither carries a port
    expect(ours.message).toBe('bind EADDRNOTAVAIL 2001:db8::1');
  });

  it('connect ENOENT to a missing unix path matches net.connect', async () => {
    const missing = path.join(os.tmpdir(), `sockfd-no-such-dir-${process.pid}-${Date.now()}`, 'x.sock');
    const fd = open(AF_UNIX, SOCK_STREAM);
    const ours = thrown(() => connect(fd, { family: AF_UNIX, path: missing }));

    const client = net.connect(missing);
    const theirs = await nextError(client);
    await destroyed(client);

    expect(ours.code).toBe('ENOENT');
    expect(fields(ours)).toEqual(fields(theirs));
  });
});

describe('errnoName', () => {
  it("names 95 as Node does: 'ENOTSUP'", () => {
    expect(util.getSystemErrorName(-95)).toBe('ENOTSUP');
    expect(errnoName(95)).toBe('ENOTSUP');
    expect(errnoName(-95)).toBe('ENOTSUP');
  });

  it("names 115, which Node does not know, by its C name 'EINPROGRESS'", () => {
    expect(errnoName(115)).toBe('EINPROGRESS');
    expect(errnoName(-115)).toBe('EINPROGRESS');
  });

  it('agrees with util.getSystemErrorName for every errno 1..133 Node knows', () => {
    let known = 0;
    for (let n = 1; n <= 133; n++) {
      const node = util.getSystemErrorName(-n);
      if (node.startsWith('Unknown')) continue;
      known++;
      expect(errnoName(n), `errno ${n}`).toBe(node);
    }
    expect(known).toBeGreaterThan(50);
  });

  // The Linux <errno.h> names of the errnos 1..133 that util.getSystemErrorName cannot name (Node 20)
  // and that os.constants.errno does not list either (41 and 58 are unassigned on Linux).
  const linuxOnlyNames: Record<number, string> = {
    15: 'ENOTBLK', 44: 'ECHRNG', 45: 'EL2NSYNC', 46: 'EL3HLT', 47: 'EL3RST', 48: 'ELNRNG', 50: 'ENOCSI',
    51: 'EL2HLT', 52: 'EBADE', 53: 'EBADR', 54: 'EXFULL', 55: 'ENOANO', 56: 'EBADRQC', 57: 'EBADSLT',
    59: 'EBFONT', 65: 'ENOPKG', 66: 'EREMOTE', 68: 'EADV', 69: 'ESRMNT', 70: 'ECOMM', 73: 'EDOTDOT',
    76: 'ENOTUNIQ', 77: 'EBADFD', 78: 'EREMCHG', 79: 'ELIBACC', 80: 'ELIBBAD', 81: 'ELIBSCN', 82: 'ELIBMAX',
    83: 'ELIBEXEC', 85: 'ERESTART', 86: 'ESTRPIPE', 87: 'EUSERS', 96: 'EPFNOSUPPORT', 109: 'ETOOMANYREFS',
    117: 'EUCLEAN', 118: 'ENOTNAM', 119: 'ENAVAIL', 120: 'EISNAM', 123: 'ENOMEDIUM', 124: 'EMEDIUMTYPE',
    126: 'ENOKEY', 127: 'EKEYEXPIRED', 128: 'EKEYREVOKED', 129: 'EKEYREJECTED', 130: 'EOWNERDEAD',
    131: 'ENOTRECOVERABLE', 132: 'ERFKILL', 133: 'EHWPOISON',
  };

  it('names the errnos Node cannot name that os.constants.errno lists by that C name', () => {
    const byValue = new Map<number, string[]>();
    for (const [name, value] of Object.entries(os.constants.errno)) byValue.set(value, [...(byValue.get(value) ?? []), name]);
    let checked = 0;
    for (let n = 1; n <= 133; n++) {
      if (!util.getSystemErrorName(-n).startsWith('Unknown') || !byValue.has(n)) continue;
      checked++;
      expect(byValue.get(n), `errno ${n}`).toContain(errnoName(n));
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('names the socket errnos Node cannot name by their C names: EPFNOSUPPORT, ETOOMANYREFS, EBADFD', () => {
    expect(util.getSystemErrorName(-96)).toMatch(/^Unknown/);
    expect(errnoName(96)).toBe('EPFNOSUPPORT');
    expect(errnoName(109)).toBe('ETOOMANYREFS');
    expect(errnoName(77)).toBe('EBADFD');
  });

  it('names every other errno in 1..133 Node cannot name by its Linux C name', () => {
    const wrong: string[] = [];
    for (const [n, name] of Object.entries(linuxOnlyNames)) {
      expect(util.getSystemErrorName(-Number(n)), `errno ${n}`).toMatch(/^Unknown/);
      if (errnoName(Number(n)) !== name) wrong.push(`${n}: ${errnoName(Number(n))} (want ${name})`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('SystemError', () => {
  it('is an Error named "Error" whose stack starts with the message line', () => {
    const fd = open(AF_INET, SOCK_STREAM);
    const err = thrown(() => getpeername(fd));
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(SystemError);
    expect(err.name).toBe('Error');
    expect(String(err)).toBe(`Error: ${err.message}`);
    expect(err.stack!.split('\n')[0]).toBe(`Error: ${err.message}`);
  });

  it("starts the stack at the public call, not at sockfd's internal helpers", () => {
    const fd = open(AF_INET, SOCK_STREAM);
    const err = thrown(() => getpeername(fd));
    const frames = err.stack!.split('\n').slice(1);
    expect(frames[0]).toMatch(/getpeername/);
    expect(frames.some((f) => /at (Object\.)?(check|value) /.test(f))).toBe(false);
  });

  it('for a call without an address has no address or port, and a bare message', () => {
    const fd = open(AF_INET, SOCK_STREAM);
    const err = thrown(() => getpeername(fd));
    expect(err).toMatchObject({ code: 'ENOTCONN', errno: -107, syscall: 'getpeername', message: 'getpeername ENOTCONN' });
    expect('address' in err).toBe(false);
    expect('port' in err).toBe(false);
  });

  it('for a unix path carries address = the path and no port', () => {
    const missing = path.join(os.tmpdir(), `sockfd-no-such-dir-${process.pid}-${Date.now()}`, 'bound.sock');
    const fd = open(AF_UNIX, SOCK_STREAM);
    const err = thrown(() => bind(fd, { family: AF_UNIX, path: missing }));
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'bind', address: missing });
    expect('port' in err).toBe(false);
    expect(err.message).toBe(`bind ENOENT ${missing}`);
    expect(fs.existsSync(path.dirname(missing))).toBe(false);
  });

  it('for a unix path given as a Buffer carries the path as a string', () => {
    const missing = path.join(os.tmpdir(), `sockfd-no-such-dir-${process.pid}-${Date.now()}`, 'buf.sock');
    const fd = open(AF_UNIX, SOCK_STREAM);
    const err = thrown(() => connect(fd, { family: AF_UNIX, path: Buffer.from(missing) }));
    expect(err).toMatchObject({ code: 'ENOENT', syscall: 'connect', address: missing });
    expect('port' in err).toBe(false);
  });

  it('for an IP address with port 0 carries the address but no port', () => {
    const fd = open(AF_INET6, SOCK_DGRAM);
    const err = thrown(() => bind(fd, { family: AF_INET6, address: '2001:db8::2', port: 0 }));
    expect(err.address).toBe('2001:db8::2');
    expect('port' in err).toBe(false);
    expect(err.message).toBe('bind EADDRNOTAVAIL 2001:db8::2');
  });

  it('accepts a negative or positive errno alike', () => {
    const a = new SystemError(111, 'connect', { family: AF_INET, address: '127.0.0.1', port: 1 });
    const b = new SystemError(-111, 'connect', { family: AF_INET, address: '127.0.0.1', port: 1 });
    expect(a).toMatchObject({ code: 'ECONNREFUSED', errno: -111, message: 'connect ECONNREFUSED 127.0.0.1:1' });
    expect(fields(b)).toEqual(fields(a));
  });
});
