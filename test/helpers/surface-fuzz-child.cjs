// The child process of test/guarantee-surface-fuzz.test.ts (`node surface-fuzz-worker.cjs <dist dir>
// <from> <step>`): calls every exported function of sockfd, sockfd/promises and sockfd/packet (nested
// namespaces, constructors and class methods included) with hostile values in each argument position,
// the other arguments being a sound call's, for functions from, from + step, ... of the enumeration.
// It loads the compiled package (dist/). Before each call it writes a heartbeat line (`B <index>
// <call>`) to stdout, so that the test can kill it and name the call if one hangs; each function's
// report follows as `R <json>`, and `D <json>` ends the run.
//
// Nothing blocks or leaves loopback: fds in fd positions are non-blocking sockets this worker owns
// (or throwaway ones made for the call), numbers given as hostile values are never small integers
// that could be open fds, poll's base fds are always ready, and the only addresses are 127.0.0.1 and
// unix names; sockets a call creates are closed at once, and pending promise calls are settled by
// closing their fds at the end of each function.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The error a hostile getter or valueOf throws: the caller's own, passed through as it is. */
class HostileError extends Error {}

/** `module.name`, `module.ns.name`, `new module.Class`, `module.Class#method`: every callable of the surface. */
function enumerate(modules) {
  const out = [];
  for (const [mod, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (typeof value === 'function') {
        const isClass = /^class\b/.test(Function.prototype.toString.call(value));
        if (isClass) {
          out.push({ key: `new ${mod}.${name}`, mod, path: [name], kind: 'new' });
          for (const m of Object.getOwnPropertyNames(value.prototype).sort()) {
            const d = Object.getOwnPropertyDescriptor(value.prototype, m);
            if (m !== 'constructor' && !m.startsWith('_') && typeof d.value === 'function') out.push({ key: `${mod}.${name}#${m}`, mod, path: [name, m], kind: 'method' });
          }
        } else out.push({ key: `${mod}.${name}`, mod, path: [name], kind: 'call' });
      } else if (value && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value)) {
        for (const [inner, f] of Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) {
          if (typeof f !== 'function') continue;
          if (/^class\b/.test(Function.prototype.toString.call(f))) out.push({ key: `new ${mod}.${name}.${inner}`, mod, path: [name, inner], kind: 'new' });
          else out.push({ key: `${mod}.${name}.${inner}`, mod, path: [name, inner], kind: 'call' });
        }
      }
    }
  }
  return out;
}

/** The hostile values, made fresh for each call. */
function hostiles(s) {
  const detached = () => {
    const u = new Uint8Array(new ArrayBuffer(16));
    structuredClone(u.buffer, { transfer: [u.buffer] });
    return u;
  };
  const sparse = () => {
    const a = [];
    a.length = 2 ** 32 - 1;
    return a;
  };
  const lying = (length) => new Proxy([], { get: (t, k) => (k === 'length' ? length : Reflect.get(t, k)) });
  const revoked = (target) => {
    const r = Proxy.revocable(target, {});
    r.revoke();
    return r.proxy;
  };
  const throwing = () =>
    new Proxy({}, { get: (_, k) => { if (typeof k === 'symbol') return undefined; throw new HostileError(`getter ${String(k)}`); } });
  const everything = () => new Proxy({}, { get: (_, k) => (typeof k === 'symbol' ? undefined : 2 ** 32 - 1), has: () => true });
  return [
    ['undefined', () => undefined], ['null', () => null], ["''", () => ''], ["'abc'", () => 'abc'], ["'17'", () => '17'],
    ["'a' x 300", () => 'a'.repeat(300)], ['-1', () => -1], ['1.5', () => 1.5], ['17.5', () => 17.5], ['NaN', () => NaN],
    ['Infinity', () => Infinity], ['-Infinity', () => -Infinity], ['2**31', () => 2 ** 31], ['2**32+3', () => 2 ** 32 + 3],
    ['2**53+2', () => 2 ** 53 + 2], ['-(2**63)', () => -(2 ** 63)], ['1e308', () => 1e308], ['-0', () => -0], ['17n', () => 17n],
    ['2n**64n', () => 2n ** 64n], ['Symbol()', () => Symbol('hostile')], ['true', () => true], ['{}', () => ({})], ['[]', () => []],
    ['{ valueOf: 3 }', () => ({ valueOf: () => 3 })], ['{ toString: "3", valueOf throws }', () => ({ toString: () => '3', valueOf: () => { throw new HostileError('valueOf'); } })],
    ['Proxy with throwing getters', throwing], ['Proxy answering 2**32-1 to everything', everything],
    ['revoked Proxy of {}', () => revoked({})], ['revoked Proxy of []', () => revoked([])], ['revoked Proxy of a function', () => revoked(() => {})],
    ['sparse array of length 2**32-1', sparse], ['Proxy of [] with length 2**32-1', () => lying(2 ** 32 - 1)], ['Proxy of [] with length 1.5', () => lying(1.5)],
    ['Proxy of [] with length "x"', () => lying('x')], ['array of 5000 holes', () => new Array(5000)], ['[null]', () => [null]], ['[undefined]', () => [undefined]],
    ['[{}]', () => [{}]], ['frozen {}', () => Object.freeze({})], ['frozen []', () => Object.freeze([])],
    ['frozen 127.0.0.1:0', () => Object.freeze({ family: s.AF_INET, address: '127.0.0.1', port: 0 })],
    ['{ family: AF_UNIX, path: 200 bytes }', () => ({ family: s.AF_UNIX, path: 'x'.repeat(200) })], ['{ family: -1 }', () => ({ family: -1 })],
    ['detached Uint8Array', detached], ['Uint8Array(0)', () => new Uint8Array(0)], ['DataView at offset 3', () => new DataView(new ArrayBuffer(64), 3, 5)],
    ['Float64Array(3)', () => new Float64Array(3)], ['function', () => function hostile() {}], ['Date', () => new Date(0)], ['Object.create(null)', () => Object.create(null)],
    ['{ length: 2**32-1 }', () => ({ length: 2 ** 32 - 1 })], ['{ then: throws }', () => ({ get then() { throw new HostileError('then'); } })],
  ];
}

/** A ring on lo holding one block with at least one frame, or null without CAP_NET_RAW (or a frame within 2 s). */
function ringFixture(s) {
  let fd = -1;
  let ring;
  const udp = s.socket(s.AF_INET, s.SOCK_DGRAM | s.SOCK_NONBLOCK);
  try {
    fd = s.socket(s.AF_PACKET, s.SOCK_RAW | s.SOCK_NONBLOCK, s.htons(s.ETH_P_ALL));
    s.bind(fd, { family: s.AF_PACKET, protocol: s.htons(s.ETH_P_ALL), ifindex: s.if_nametoindex('lo') });
    ring = new s.RxRing(fd, { blockSize: 1 << 16, blockCount: 2, retireTimeout: 1 });
    s.bind(udp, { family: s.AF_INET, address: '127.0.0.1', port: 0 });
    s.sendto(udp, Buffer.from('ring'), undefined, 0, s.getsockname(udp));
    for (let tries = 0; tries < 20; tries++) {
      s.poll([{ fd, events: s.POLLIN }], 100);
      const block = ring.nextBlock();
      const frame = block && block.nextFrame();
      if (frame) return { ring, fd, block, frame };
    }
  } catch {
    // no CAP_NET_RAW: the methods are called on what `new` gives (an ERR_ILLEGAL_CONSTRUCTOR)
  } finally {
    s.close(udp);
  }
  if (ring) ring.close();
  if (fd >= 0) s.close(fd);
  return null;
}

function run(dist, from, step) {
  const s = require(path.join(dist, 'index.js'));
  const p = require(path.join(dist, 'promises.js'));
  const pk = require(path.join(dist, 'packet/index.js'));
  const modules = { sockfd: s, promises: p, packet: pk };
  // Pipes are written synchronously on Linux: the line is out before the call starts.
  const line = (text) => fs.writeSync(1, `${text.replace(/\n/g, ' ')}\n`);
  let index = 0;
  const say = (text) => line(`B ${index} ${text.slice(0, 500)}`);
  const uncaught = [];
  let current = '';
  process.on('uncaughtException', (e) => uncaught.push(`uncaughtException after ${current}: ${e && e.stack}`));
  process.on('unhandledRejection', (e) => uncaught.push(`unhandledRejection after ${current}: ${e && e.stack}`));

  // The sockets of the worker, re-made at each function (a call may close or shut one down).
  const LO = { family: s.AF_INET, address: '127.0.0.1', port: 0 };
  const NB = s.SOCK_NONBLOCK;
  let fx;
  const throwaway = new Set();
  const fresh = (domain, type) => {
    const fd = s.socket(domain, type | NB);
    throwaway.add(fd);
    return fd;
  };
  function fixtures() {
    const udp = s.socket(s.AF_INET, s.SOCK_DGRAM | NB);
    s.bind(udp, LO);
    const sink = s.socket(s.AF_INET, s.SOCK_DGRAM | NB);
    s.bind(sink, LO);
    const conn = s.socket(s.AF_INET, s.SOCK_DGRAM | NB);
    s.connect(conn, s.getsockname(sink));
    const listener = s.socket(s.AF_INET, s.SOCK_STREAM | NB);
    s.bind(listener, LO);
    s.listen(listener, 64);
    const [ua, ub] = s.socketpair(s.AF_UNIX, s.SOCK_DGRAM | NB);
    const fds = [udp, sink, conn, listener, ua, ub];
    return { udp, sink, conn, listener, ua, ub, sinkAddr: s.getsockname(sink), listenAddr: s.getsockname(listener), fds, targets: fds.map(target) };
  }
  const target = (fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return undefined;
    }
  };
  const buf = () => Buffer.alloc(16);
  const bin = () => s.encodeSockaddr(fx.sinkAddr);
  const batch = () => new s.MMsgBatch(4, 16, { addresses: true });
  const rights = () => [{ level: s.SOL_SOCKET, type: s.SCM_RIGHTS, fds: [fx.udp] }];
  // A sound call of each function; unknown ones get no arguments (every position is then fuzzed from undefined).
  const io = {
    read: () => [fx.udp, buf()], write: () => [fx.conn, buf()], send: () => [fx.conn, buf(), undefined, 0], recv: () => [fx.udp, buf(), undefined, 0],
    sendto: () => [fx.udp, buf(), undefined, 0, fx.sinkAddr], recvfrom: () => [fx.udp, buf(), undefined, 0],
    sendmsg: () => [fx.ua, [buf()], { control: rights() }], recvmsg: () => [fx.ub, [buf()], { controlLength: 64 }],
    sendmmsg: () => [fx.conn, [buf(), { buf: buf(), addr: fx.sinkAddr }], 0], recvmmsg: () => [fx.udp, [buf(), buf()], {}],
    accept: () => [fx.listener, 0], connect: () => [fresh(s.AF_INET, s.SOCK_STREAM), fx.listenAddr],
    sendAll: () => [fx.conn, buf()], writeAll: () => [fx.conn, buf()],
  };
  const base = {
    sockfd: {
      ...io, recvfromInto: () => [fx.udp, buf(), undefined, 0, s.sockaddrHolder()], recvmmsgInto: () => [fx.udp, [buf()], new Uint32Array(4)],
      constantName: () => [s.AF_INET, 'AF_'], errnoName: () => [111], SystemError: () => [111, 'connect', fx.sinkAddr],
      encodeSockaddr: () => [fx.sinkAddr], decodeSockaddr: () => [bin()], sockaddrHolder: () => [],
      socket: () => [s.AF_INET, s.SOCK_DGRAM | NB, 0], socketpair: () => [s.AF_UNIX, s.SOCK_STREAM | NB, 0],
      close: () => [fresh(s.AF_INET, s.SOCK_DGRAM)], shutdown: () => [fresh(s.AF_INET, s.SOCK_STREAM), s.SHUT_RD],
      fcntl: () => [fx.udp, s.F_GETFL], ioctl: () => [fx.udp, s.FIONREAD], poll: () => [[{ fd: fx.udp, events: s.POLLOUT }], 0],
      bind: () => [fresh(s.AF_INET, s.SOCK_DGRAM), LO], listen: () => [fresh(s.AF_INET, s.SOCK_STREAM), 4],
      getsockname: () => [fx.udp], getpeername: () => [fx.conn], MMsgBatch: () => [4, 16, { addresses: true }],
      getsockopt: () => [fx.udp, s.SOL_SOCKET, s.SO_TYPE], setsockopt: () => [fx.udp, s.SOL_SOCKET, s.SO_RCVBUF, 65536],
      packBpf: () => [[{ code: 6, jt: 0, jf: 0, k: 0 }]], decodeTcpInfo: () => [Buffer.alloc(232)],
      if_nametoindex: () => ['lo'], if_indextoname: () => [1], inet_pton: () => [s.AF_INET, '127.0.0.1'], inet_ntop: () => [s.AF_INET, Buffer.from([127, 0, 0, 1])],
      htons: () => [1], ntohs: () => [1], htonl: () => [1], ntohl: () => [1], watch: () => [fx.udp, s.POLLIN, () => {}], release: () => [fx.udp],
      inspect: () => [fx.udp], fdOf: () => [],
    },
    promises: { ...io, recvmmsgInto: () => [fx.udp, batch(), {}], close: () => [fresh(s.AF_INET, s.SOCK_DGRAM)], AbortError: () => ['aborted'] },
    packet: {},
  };
  const methodBase = {
    'sockfd.MMsgBatch': { self: batch, slot: () => [0], message: () => [0], set: () => [0, Buffer.from('x'), fx.sinkAddr], address: () => [0], setAddress: () => [0, fx.sinkAddr] },
  };
  // A block and a frame of a real ring (a packet socket on lo that caught one loopback datagram), for
  // the methods of RxBlock and RxFrame, whose constructors only a ring may call; made before the
  // first function so that its socket is not counted as a leak, and only with CAP_NET_RAW.
  const rx = ringFixture(s);
  if (rx) {
    methodBase['sockfd.RxBlock'] = { self: () => rx.block, nextFrame: () => [], release: () => [], markReleased: () => [] };
    methodBase['sockfd.RxFrame'] = { self: () => rx.frame, timestamp: () => [], linkAddress: () => [] };
  }

  // The calls whose results hand over new fds (closed at once); any other socket a call leaves open is a leak.
  const FD_RESULTS = new Set(['sockfd.socket', 'sockfd.socketpair', 'sockfd.accept', 'promises.accept', 'sockfd.recvmsg', 'promises.recvmsg']);
  const isFd = (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  function fdsIn(v, top, out = []) {
    if (top && isFd(v)) out.push(v);
    if (!v || typeof v !== 'object' || ArrayBuffer.isView(v)) return out;
    if (top && Array.isArray(v) && v.length === 2 && v.every(isFd)) out.push(...v);
    for (const k of Object.keys(v)) {
      if (k === 'fd' && isFd(v[k])) out.push(v[k]);
      else if (k === 'fds' && Array.isArray(v[k])) out.push(...v[k].filter(isFd));
      else if (k === 'control' && Array.isArray(v[k])) for (const c of v[k]) fdsIn(c, false, out);
    }
    return out;
  }
  const sockets = () => {
    const m = new Map();
    for (const n of fs.readdirSync('/proc/self/fd')) {
      try {
        const t = fs.readlinkSync(`/proc/self/fd/${n}`);
        if (t.startsWith('socket:')) m.set(Number(n), t);
      } catch {}
    }
    return m;
  };
  function closeQuietly(fd) {
    try { s.close(fd); } catch {}
  }
  /** What a thrown value lacks: undefined when it has a string code (or is the caller's own error). */
  function fault(err) {
    if (err instanceof HostileError) return undefined;
    try {
      if ((typeof err === 'object' || typeof err === 'function') && err !== null && typeof err.code === 'string') return undefined;
      return `${err && err.constructor ? err.constructor.name : typeof err}: ${err && err.message !== undefined ? err.message : String(err)}`;
    } catch (e) {
      return `an unreadable thrown value (${e})`;
    }
  }
  const settledOf = (promise) => promise.then(() => undefined, (err) => fault(err));

  async function fuzz(entry) {
    const before = sockets();
    fx = fixtures();
    const report = { key: entry.key, calls: 0, faults: [], slow: [], pending: 0, leaked: [] };
    const pending = [];
    const owner = modules[entry.mod][entry.path[0]];
    const fn = entry.kind === 'method' ? owner.prototype[entry.path[1]] : entry.path.slice(1).reduce((o, k) => o[k], owner);
    const self = entry.kind === 'method' ? methodBase[`${entry.mod}.${entry.path[0]}`] : undefined;
    const makeBase = entry.kind === 'method' ? self?.[entry.path[1]] : base[entry.mod]?.[entry.path[entry.path.length - 1]];
    const soundLength = makeBase ? makeBase().length : 0;
    throwaway.forEach(closeQuietly);
    throwaway.clear();
    const positions = Math.max(soundLength + 1, fn.length + 1, 3);
    // -0 is the integer 0: in an fd's place it would be this process's stdin, which may block.
    const values = hostiles(s).filter(([label]) => entry.mod === 'packet' || label !== '-0');
    for (let at = 0; at < positions; at++) {
      for (const [label, make] of values) {
        const args = makeBase ? makeBase() : [];
        while (args.length <= at) args.push(undefined);
        args[at] = make();
        const what = `${entry.key}: argument ${at} = ${label}`;
        current = what;
        say(what);
        report.calls++;
        const t0 = performance.now();
        let result;
        let thrown;
        let threw = false;
        try {
          if (entry.kind === 'new') result = new fn(...args);
          else if (entry.kind === 'method') {
            const obj = self ? self.self() : new modules[entry.mod][entry.path[0]]();
            result = obj[entry.path[1]](...args);
          } else result = fn(...args);
        } catch (err) {
          threw = true;
          thrown = err;
        }
        const ms = performance.now() - t0;
        if (ms > 2000) report.slow.push(`${what} took ${Math.round(ms)} ms`);
        if (threw) {
          const f = fault(thrown);
          if (f) report.faults.push(`${what} threw ${f}`);
        } else if (result && typeof result.then === 'function' && result instanceof Promise) {
          pending.push(settledOf(result.then((v) => (FD_RESULTS.has(entry.key) && fdsIn(v, true).forEach(closeQuietly), v))).then((f) => f && report.faults.push(`${what} rejected with ${f}`)));
        } else {
          if (entry.key === 'sockfd.watch' && result && typeof result.close === 'function') result.close();
          if (FD_RESULTS.has(entry.key)) fdsIn(result, true).filter((fd) => !fx.fds.includes(fd)).forEach(closeQuietly);
        }
        throwaway.forEach(closeQuietly);
        throwaway.clear();
        // A call may have cleared O_NONBLOCK or closed a fixture: restore, or re-make them all.
        if (entry.mod !== 'packet' && !fx.fds.every((fd, i) => target(fd) === fx.targets[i])) {
          fx.fds.forEach(closeQuietly);
          fx = fixtures();
        }
      }
    }
    // Waiting calls settle once their fds are closed.
    fx.fds.forEach(closeQuietly);
    let timer;
    const all = Promise.all(pending).then(() => 'settled');
    const outcome = await Promise.race([all, new Promise((r) => (timer = setTimeout(() => r('pending'), 2000)))]);
    clearTimeout(timer);
    if (outcome === 'pending') report.pending = pending.length;
    await new Promise((r) => setImmediate(r));
    for (const [fd, t] of sockets()) {
      if (before.get(fd) !== t) {
        report.leaked.push(`fd ${fd} (${t})`);
        closeQuietly(fd);
      }
    }
    report.faultCount = report.faults.length;
    report.faults = report.faults.slice(0, 25);
    return report;
  }

  (async () => {
    const entries = enumerate(modules);
    for (index = from; index < entries.length; index += step) line(`R ${JSON.stringify(await fuzz(entries[index]))}`);
    await new Promise((r) => setTimeout(r, 50));
    line(`D ${JSON.stringify({ uncaught })}`);
    process.exit(0);
  })().catch((e) => {
    line(`D ${JSON.stringify({ uncaught: [...uncaught, `the fuzz itself failed: ${e && e.stack}`] })}`);
    process.exit(1);
  });
}

if (require.main === module) run(process.argv[2], Number(process.argv[3]), Number(process.argv[4]));

module.exports = { enumerate };
