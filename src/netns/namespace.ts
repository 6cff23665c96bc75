/**
 * Named network namespaces, made and removed as `ip netns add` / `ip netns del` do it.
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { invalidArgType, invalidArgValue, outOfRange } from '../argerrors.js';
import { native } from '../binding.js';
import { AF_INET, LOCK_EX, LOCK_NB, LOCK_UN, MNT_DETACH, MS_BIND, MS_PRIVATE, MS_REC, MS_SHARED } from '../constants.generated.js';
import { SystemError } from '../errors.js';
import { NETNS_RUN_DIR, netnsPathOf, netnsStepError, socketIn } from '../socketin.js';
import { track, untrack } from './cleanup.js';
import { Rtnl, parseCidr, type AddressInfo, type LinkInfo, type RouteInfo } from './rtnetlink.js';

const { EEXIST, EINVAL, EPERM, EWOULDBLOCK } = osConstants.errno;

/** Options of {@link createNamespace}. */
export interface NamespaceOptions {
  /** Bring the loopback interface `lo` up (`ip netns add` leaves it down). Default true. */
  loopback?: boolean;
}

/** An address of a namespace, with the name of its link. */
export interface NamespaceAddress extends AddressInfo {
  /** The link's name ('lo', 'eth0', ...). */
  link: string;
}

/** @internal Something attached to a namespace that must go before it (a link). */
export interface Attachment {
  close(): Promise<void>;
  removeSync(): void;
}

/**
 * Makes /run/netns a shared mount point, exactly as iproute2's `ip netns add` does (ip/ipnetns.c):
 * under an exclusive flock of the directory, `mount --make-rshared`, and if it is not a mount point
 * yet (EINVAL), bind it on itself, make it private, and try again. So the namespace mounts propagate
 * to other mount namespaces, and unmounting one anywhere frees it.
 */
function prepareRunDir(): void {
  try {
    fs.mkdirSync(NETNS_RUN_DIR, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw systemErrorOf(err, 'mkdir', `cannot create ${NETNS_RUN_DIR}`);
  }
  const lock = fs.openSync(NETNS_RUN_DIR, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    takeLock(lock);
    for (let made = false; ; made = true) {
      const r = native.mount('', NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC);
      if (r === 0) return;
      if (r !== -EINVAL || made) throw mountError(r, `cannot make ${NETNS_RUN_DIR} a shared mount point (mount --make-rshared)`);
      const bound = native.mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MS_BIND | MS_REC);
      if (bound < 0) throw mountError(bound, `cannot bind ${NETNS_RUN_DIR} on itself`);
      const priv = native.mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MS_PRIVATE | MS_REC);
      if (priv < 0) throw mountError(priv, `cannot make ${NETNS_RUN_DIR} private`);
    }
  } finally {
    native.flock(lock, LOCK_UN);
    fs.closeSync(lock);
  }
}

/** How long to wait for another `ip netns add` (or sockfd) to finish with /run/netns. */
const LOCK_MS = 5000;

/**
 * flock(LOCK_EX) of /run/netns, waiting at most LOCK_MS: iproute2 blocks without limit, but as it
 * does when the lock cannot be had, the setup goes on without it (it is idempotent).
 */
function takeLock(fd: number): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const end = Date.now() + LOCK_MS;
  for (;;) {
    const r = native.flock(fd, LOCK_EX | LOCK_NB);
    if (r === 0 || r !== -EWOULDBLOCK || Date.now() >= end) return;
    Atomics.wait(pause, 0, 0, 10);
  }
}

function mountError(r: number, what: string): SystemError {
  return new SystemError(-r, 'mount', undefined, -r === EPERM ? `${what}: mounting needs CAP_SYS_ADMIN (run as root)` : what);
}

function systemErrorOf(err: unknown, syscall: string, hint: string): SystemError {
  return new SystemError(-((err as NodeJS.ErrnoException).errno ?? -EINVAL), syscall, undefined, hint);
}

/**
 * A named network namespace: `/run/netns/<name>`, as `ip netns` sees it (`ip netns exec <name> ...`
 * works on it too). Its methods act inside it through rtnetlink sockets made there with `socketIn`.
 * `close()` removes it, with the links it is part of; so does the process's exit.
 */
export class Namespace {
  /** The name under /run/netns. */
  readonly name: string;
  /** `/run/netns/<name>`: give it to `socketIn`, or to `ip netns exec`. */
  readonly path: string;
  private removed = false;
  /** @internal */
  readonly attachments = new Set<Attachment>();

  /** @internal Use {@link createNamespace}. */
  constructor(name: string, path: string) {
    this.name = name;
    this.path = path;
  }

  /** Whether `close()` has removed it. */
  get closed(): boolean {
    return this.removed;
  }

  private check(): void {
    if (this.removed) {
      const err = new Error(`sockfd/netns: the namespace ${this.name} was closed`);
      (err as Error & { code: string }).code = 'ERR_NETNS_CLOSED';
      throw err;
    }
  }

  /** @internal Runs `fn` with an rtnetlink socket inside this namespace. */
  rtnl<T>(fn: (r: Rtnl) => T): T {
    this.check();
    const r = new Rtnl(this.path, `namespace ${this.name}`);
    try {
      return fn(r);
    } finally {
      r.close();
    }
  }

  /** A socket inside this namespace: `socketIn(this.path, domain, type, protocol)`. */
  socket(domain: number, type: number, protocol = 0): number {
    this.check();
    return socketIn(this.path, domain, type, protocol);
  }

  /** Its links (RTM_GETLINK), as `ip link` lists them. */
  links(): LinkInfo[] {
    return this.rtnl((r) => r.links());
  }

  /** Its addresses (RTM_GETADDR), as `ip addr` lists them. */
  addresses(): NamespaceAddress[] {
    return this.rtnl((r) => {
      const names = new Map(r.links().map((l) => [l.index, l.name]));
      return r.addresses().map((a) => ({ ...a, link: names.get(a.index) ?? '' }));
    });
  }

  /** The routes of its main table (RTM_GETROUTE), as `ip route` / `ip -6 route` list them. */
  routes(): RouteInfo[] {
    return this.rtnl((r) => r.routes());
  }

  /**
   * Sets a link of this namespace up or down, or its MTU (`ip link set LINK up|down mtu N`).
   * @throws SystemError `RTM_NEWLINK` (EINVAL for an MTU the link cannot take, ...).
   */
  setLink(link: string, changes: { up?: boolean; mtu?: number }): void {
    if (typeof changes !== 'object' || changes === null) throw invalidArgType('changes', 'of type object', changes);
    for (const key of Object.keys(changes)) if (key !== 'up' && key !== 'mtu') throw invalidArgValue('changes', `has an unknown field '${key}' (known: up, mtu)`, changes);
    if (changes.up !== undefined && typeof changes.up !== 'boolean') throw invalidArgType('changes.up', 'of type boolean', changes.up);
    if (changes.mtu !== undefined) checkMtu(changes.mtu, 'changes.mtu');
    this.rtnl((r) => r.setLink(r.index(link), changes, `setting ${link}`));
  }

  /**
   * Adds an address to a link of this namespace (`ip addr add CIDR dev LINK`); IPv6 addresses are
   * usable at once (no duplicate address detection).
   * @param cidr - `'10.0.0.1/24'`, `'fd00::1/64'`.
   */
  addAddress(link: string, cidr: string): void {
    const c = parseCidr(cidr, 'cidr');
    this.rtnl((r) => r.addAddress(r.index(link), c, `adding ${cidr} to ${link}`));
  }

  /**
   * Adds a route (`ip route add DESTINATION [via GATEWAY] [dev LINK]`).
   * @param destination - `'default'` (of the family of `via`; IPv4 without one), or `'10.1.0.0/16'`.
   * @throws SystemError `RTM_NEWROUTE` (ENETUNREACH: the gateway is on no link; EEXIST: there is one already).
   */
  addRoute(destination: string, options: { via?: string; dev?: string } = {}): void {
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
    const { via, dev } = options;
    if (via === undefined && dev === undefined) throw invalidArgValue('options', "needs 'via' (a gateway) or 'dev' (a link)", options);
    const dest = destination === 'default' ? null : parseCidr(destination, 'destination');
    if (via !== undefined && (typeof via !== 'string' || via.includes('/'))) throw invalidArgValue('options.via', 'must be an address without a prefix length', via);
    const gw = via === undefined ? undefined : parseCidr(via, 'options.via');
    const family = dest?.family ?? gw?.family ?? AF_INET;
    if (gw && gw.family !== family) throw invalidArgValue('options.via', 'must be of the family of the destination', via);
    this.rtnl((r) =>
      r.addRoute(family, dest, gw?.address, dev === undefined ? undefined : r.index(dev), `adding the route ${destination}${via ? ` via ${via}` : ''}${dev ? ` dev ${dev}` : ''}`),
    );
  }

  /** @internal Writes a sysctl of this namespace (`key` under /proc/sys, e.g. 'net/ipv4/ip_forward'). */
  sysctl(key: string, value: string): void {
    this.check();
    const fd = fs.openSync(this.path, fs.constants.O_RDONLY);
    let file: number;
    try {
      const r = native.openIn(fd, `/proc/sys/${key}`, fs.constants.O_WRONLY);
      if (typeof r !== 'number') throw netnsStepError(r, this.path);
      file = r;
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.writeSync(file, `${value}\n`);
    } catch (err) {
      throw systemErrorOf(err, 'write', `cannot set ${key.replace(/\//g, '.')} in ${this.name}`);
    } finally {
      fs.closeSync(file);
    }
  }

  /**
   * Removes the namespace: first the links it is part of, then its name (umount of
   * /run/netns/<name> and unlink, as `ip netns del`). The kernel frees the namespace once nothing
   * uses it; sockets made inside it keep working (and keep it alive) until they are closed.
   * Idempotent.
   */
  async close(): Promise<void> {
    if (this.removed) return;
    for (const a of [...this.attachments]) await a.close();
    this.removeSync();
  }

  /** `await using ns = createNamespace()` removes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal The synchronous removal, also run at process exit. */
  removeSync(): void {
    if (this.removed) return;
    for (const a of [...this.attachments]) {
      try {
        a.removeSync();
      } catch {
        // The namespace goes anyway; its links go with it once it is freed.
      }
    }
    this.removed = true;
    untrack(this);
    removeNamespaceFile(this.path);
  }
}

function removeNamespaceFile(path: string): void {
  native.umount2(path, MNT_DETACH); // EINVAL when it was not mounted: the unlink is what matters
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw systemErrorOf(err, 'unlink', `cannot remove ${path}`);
  }
}

/** @internal */
export function checkMtu(mtu: unknown, name: string): void {
  if (typeof mtu !== 'number') throw invalidArgType(name, 'of type number', mtu);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw outOfRange(name, 'an integer >= 68 and <= 65535', mtu);
}

/**
 * Creates a named network namespace, as `ip netns add NAME` does: it makes /run/netns a shared
 * mount point if it is not one (like iproute2), creates `/run/netns/<name>`, and bind-mounts on it the
 * namespace a short-lived helper thread made with `unshare(CLONE_NEWNET)` (so no JS thread ever
 * changes namespace). The loopback link is brought up unless `loopback: false`.
 *
 * The namespace is removed by `close()` (or `await using`), and at the latest when the process exits
 * (on `'exit'`, and on SIGINT/SIGTERM/SIGHUP when the program has no handler of its own).
 * Needs CAP_SYS_ADMIN (run as root).
 * @param name - the name under /run/netns; default `sockfd-<pid>-<random>`.
 * @throws SystemError `open` (EEXIST: a namespace of that name exists), `unshare`/`mount` (EPERM
 *   without CAP_SYS_ADMIN).
 * @example
 * await using blue = createNamespace('blue');
 * const fd = blue.socket(AF_INET, SOCK_STREAM);   // a socket on the host 'blue'
 */
export function createNamespace(name?: string, options: NamespaceOptions = {}): Namespace {
  if (name !== undefined) {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    if (name.includes('/')) throw invalidArgValue('name', 'must be a name, not a path (it is created under /run/netns)', name);
  }
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  for (const key of Object.keys(options)) if (key !== 'loopback') throw invalidArgValue('options', `has an unknown field '${key}' (known: loopback)`, options);
  if (options.loopback !== undefined && typeof options.loopback !== 'boolean') throw invalidArgType('options.loopback', 'of type boolean', options.loopback);
  prepareRunDir();
  let chosen = name ?? `sockfd-${process.pid}-${randomBytes(3).toString('hex')}`;
  let path = netnsPathOf(chosen, 'name');
  for (let attempt = 0; ; attempt++) {
    try {
      fs.closeSync(fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0));
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && name === undefined && attempt < 8) {
        chosen = `sockfd-${process.pid}-${randomBytes(3).toString('hex')}`;
        path = netnsPathOf(chosen, 'name');
        continue;
      }
      throw code === 'EEXIST'
        ? new SystemError(EEXIST, 'open', undefined, `a network namespace named '${chosen}' exists already (${path})`)
        : systemErrorOf(err, 'open', `cannot create the namespace file ${path}`);
    }
  }
  const r = native.unshareNetnsAt(path);
  if (r !== 0) {
    fs.unlinkSync(path);
    const errno = -r.errno;
    throw new SystemError(errno, r.syscall, undefined, errno === EPERM ? 'creating a network namespace needs CAP_SYS_ADMIN (run as root)' : `creating the network namespace ${chosen}`);
  }
  const ns = new Namespace(chosen, path);
  track(ns);
  if (options.loopback !== false) {
    try {
      ns.setLink('lo', { up: true });
    } catch (err) {
      ns.removeSync();
      throw err;
    }
  }
  return ns;
}

