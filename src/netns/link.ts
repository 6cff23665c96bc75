/**
 * Links between namespaces: a veth pair, either straight (`wire: false`) or through the wire, a
 * userspace relay that can impair and cut it.
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import { invalidArgType, invalidArgValue } from '../argerrors.js';
import { AF_INET, AF_INET6 } from '../constants.generated.js';
import { track, untrack } from './cleanup.js';
import { normalizeImpairment, netemArgs, type Impairment } from './impair.js';
import { Namespace, checkMtu } from './namespace.js';
import { parseCidr, type Cidr } from './rtnetlink.js';
import { tc } from './tc.js';
import { WireHost, type WireStats } from './wire.js';

/** The MTU of a link's ends unless told otherwise (Ethernet's). */
const DEFAULT_MTU = 1500;
/** The wire's own ends take any frame the endpoints may send (veth's largest MTU). */
const WIRE_MTU = 65535;

/** One end of a {@link Link}. */
export interface Endpoint {
  /** The namespace this end is in. */
  readonly namespace: Namespace;
  /** The interface's name there ('eth0', ...). */
  readonly name: string;
  /** The interface's index there. */
  readonly index: number;
  /** The addresses given to it, with their prefix length ('10.0.0.1/24'). */
  readonly cidrs: readonly string[];
  /** Its first IPv4 address, without the prefix length (undefined when it has none). */
  readonly address: string | undefined;
  /** Its first IPv6 address, without the prefix length. */
  readonly address6: string | undefined;
}

/** Options of {@link createLink}. */
export interface LinkOptions {
  /** The interface names in `a` and in `b`; by default the first free `eth<N>` of each. */
  names?: [string | undefined, string | undefined];
  /** Addresses for the `a` and `b` ends ('10.0.0.1/24', or several of either family). */
  addresses?: [string | readonly string[] | undefined, string | readonly string[] | undefined];
  /** The MTU of both ends; default 1500. */
  mtu?: number;
  /**
   * Run the link through the wire (the default): a relay in a worker thread of this process that
   * can impair and cut it without kernel support (seedable, with counters: see {@link Link.stats}).
   * `false` makes a plain veth pair, faster, whose impairments use the kernel's netem through `tc`
   * (which must be installed and the kernel must have sch_netem), and which cannot `cut('reset')`.
   */
  wire?: boolean;
  /**
   * IPv6 on the two ends (default true). `false` disables it there (`disable_ipv6`), which also
   * silences the link-local chatter (duplicate address detection, MLD, router solicitations) a new
   * IPv6 interface sends for its first seconds: useful when a test counts frames.
   */
  ipv6?: boolean;
}

/** How a link is cut: every frame dropped, or TCP answered with RSTs (as a firewall's tcp-reset). */
export type CutMode = 'blackhole' | 'reset';

/** A link between two namespaces, with an interface at each end. */
export class Link {
  private removed = false;

  /** @internal Use {@link createLink}. */
  constructor(
    readonly a: Endpoint,
    readonly b: Endpoint,
    /** Whether the link runs through the wire (see {@link LinkOptions.wire}). */
    readonly wired: boolean,
    private readonly host: WireHost | undefined,
    private readonly wireId: number,
    private readonly wireEnds: [number, number] | undefined,
  ) {}

  private check(): void {
    if (this.removed) {
      const err = new Error(`sockfd/netns: the link ${this.a.name}—${this.b.name} was closed`);
      (err as Error & { code: string }).code = 'ERR_NETNS_CLOSED';
      throw err;
    }
  }

  /** Which ends `from` picks: the end in that namespace, or both when undefined. */
  private side(from: Namespace | undefined): 'a' | 'b' | 'both' {
    if (from === undefined) return 'both';
    if (!(from instanceof Namespace)) throw invalidArgType('options.from', 'a Namespace', from);
    if (this.a.namespace === this.b.namespace) throw invalidArgValue('options.from', 'cannot pick an end of a link whose two ends are in one namespace', from.name);
    if (from === this.a.namespace) return 'a';
    if (from === this.b.namespace) return 'b';
    throw invalidArgValue('options.from', `is not an end of this link (${this.a.namespace.name}—${this.b.namespace.name})`, from.name);
  }

  /**
   * Impairs the frames that leave the end in `from` (both ends when omitted), replacing what was set
   * before for them (`{}` clears it), as `tc qdisc replace dev IF root netem ...` would on that end's
   * interface. On a wired link the wire applies it (see {@link Impairment}); on a direct link, netem.
   * @throws TypeError/RangeError for an unknown field or a value out of range; Error
   *   `ERR_NETNS_TOOL_MISSING` / `ERR_NETNS_NETEM_UNAVAILABLE` on a direct link without tc or netem.
   * @example
   * await link.impair({ delay: 20, jitter: 5, loss: 2 }, { from: router });
   */
  async impair(impairment: Impairment, options: { from?: Namespace } = {}): Promise<void> {
    this.check();
    const n = normalizeImpairment(impairment);
    const side = this.side(options.from);
    if (this.host) return void (await this.host.request({ op: 'impair', id: this.wireId, from: side, impairment: n }));
    if (n.seed !== undefined) throw invalidArgValue('impairment.seed', 'needs a wired link: the kernel\'s netem cannot be seeded', n.seed);
    const clean = n.delay === 0 && n.jitter === 0 && n.loss === 0 && n.duplicate === 0 && n.reorder === 0 && n.rate === 0;
    for (const end of this.ends(side)) {
      if (clean) await this.clearNetem(end);
      else await tc(end.namespace, ['qdisc', 'replace', 'dev', end.name, 'root', 'netem', ...netemArgs(n)], `impairing ${end.name} in ${end.namespace.name}`);
    }
  }

  /**
   * Cuts the link for the frames leaving `from` (both directions when omitted): `'blackhole'` drops
   * every frame silently, so TCP retransmits until it gives up (set TCP_USER_TIMEOUT to bound it);
   * `'reset'` drops them and answers every TCP segment with an RST to its sender, as a firewall's
   * `reject with tcp-reset` does (wired links only), so the sender sees ECONNRESET at once.
   * `restore()` or a new `cut` ends it.
   */
  async cut(mode: CutMode, options: { from?: Namespace } = {}): Promise<void> {
    this.check();
    if (mode !== 'blackhole' && mode !== 'reset') throw invalidArgValue('mode', "must be 'blackhole' or 'reset'", mode);
    const side = this.side(options.from);
    if (this.host) return void (await this.host.request({ op: 'cut', id: this.wireId, from: side, mode }));
    if (mode === 'reset') throw invalidArgValue('mode', "'reset' needs a wired link (the wire sends the RSTs)", mode);
    for (const end of this.ends(side)) await tc(end.namespace, ['qdisc', 'replace', 'dev', end.name, 'root', 'netem', 'loss', '100%'], `cutting ${end.name}`);
  }

  /** Ends any impairment and cut, both ways. */
  async restore(): Promise<void> {
    this.check();
    if (this.host) {
      await this.host.request({ op: 'cut', id: this.wireId, from: 'both', mode: null });
      await this.host.request({ op: 'impair', id: this.wireId, from: 'both', impairment: normalizeImpairment({}) });
      return;
    }
    for (const end of this.ends('both')) await this.clearNetem(end);
  }

  /**
   * What the wire did to each direction: frames in, delivered, lost, duplicated, reordered, dropped by
   * the queue limit or a cut, RSTs sent, and the seed of its random choices. Wired links only.
   */
  async stats(): Promise<WireStats> {
    this.check();
    if (!this.host) throw invalidArgValue('link', 'has no wire (created with wire: false): its counters are netem\'s, `tc -s qdisc`', `${this.a.name}—${this.b.name}`);
    return this.host.request<WireStats>({ op: 'stats', id: this.wireId });
  }

  /** Sets the MTU of both ends (`ip link set ... mtu`). */
  setMtu(mtu: number): void {
    this.check();
    checkMtu(mtu, 'mtu');
    for (const end of [this.a, this.b]) end.namespace.rtnl((r) => r.setLink(end.index, { mtu }, `setting the MTU of ${end.name}`));
  }

  private ends(side: 'a' | 'b' | 'both'): Endpoint[] {
    return side === 'a' ? [this.a] : side === 'b' ? [this.b] : [this.a, this.b];
  }

  private async clearNetem(end: Endpoint): Promise<void> {
    try {
      await tc(end.namespace, ['qdisc', 'del', 'dev', end.name, 'root'], `clearing ${end.name}`);
    } catch (err) {
      // No qdisc of ours there: nothing to clear.
      if (!/No such file|Cannot delete qdisc with handle of zero|Invalid handle/i.test((err as Error).message)) throw err;
    }
  }

  /** Deletes the link's interfaces (both ends go) and stops its wire. Idempotent. */
  async close(): Promise<void> {
    if (this.removed) return;
    if (this.host) {
      try {
        await this.host.request({ op: 'remove', id: this.wireId });
      } catch {
        // The wire thread is gone already: its sockets went with it.
      }
    }
    this.deleteInterfaces();
    this.detach();
    await this.host?.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal The synchronous removal, at exit or when a namespace is removed synchronously. */
  removeSync(): void {
    if (this.removed) return;
    this.host?.notify({ op: 'remove', id: this.wireId });
    this.deleteInterfaces();
    this.detach();
    this.host?.releaseSync();
  }

  private detach(): void {
    this.removed = true;
    this.a.namespace.attachments.delete(this);
    this.b.namespace.attachments.delete(this);
    untrack(this);
  }

  private deleteInterfaces(): void {
    const gone = (err: unknown): boolean => ['ENODEV', 'ERR_NETNS_CLOSED'].includes((err as { code?: string }).code ?? '');
    try {
      if (this.host && this.wireEnds) {
        // A veth goes with its peer: deleting the wire's two ends deletes the endpoints as well.
        const ends = this.wireEnds;
        this.host.ns.rtnl((r) => ends.forEach((index) => r.deleteLink(index, 'deleting a wire end')));
      } else {
        this.a.namespace.rtnl((r) => r.deleteLink(this.a.index, `deleting ${this.a.name}`));
      }
    } catch (err) {
      if (!gone(err)) throw err;
    }
  }
}

/** The first `eth<N>` not in `taken`. */
function freeName(taken: Set<string>): string {
  for (let i = 0; ; i++) if (!taken.has(`eth${i}`)) return `eth${i}`;
}

function checkName(name: unknown, arg: string): string {
  if (typeof name !== 'string') throw invalidArgType(arg, 'of type string', name);
  if (name === '' || Buffer.byteLength(name) > 15 || /[\s/:\0]/.test(name)) throw invalidArgValue(arg, 'must be an interface name of 1 to 15 bytes without spaces, "/" or ":"', name);
  return name;
}

function cidrList(value: string | readonly string[] | undefined, arg: string): Cidr[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw invalidArgType(arg, 'a string or an array of strings', value);
  return list.map((c, i) => parseCidr(c, `${arg}[${i}]`));
}

function endpoint(ns: Namespace, name: string, cidrs: Cidr[]): Endpoint {
  const index = ns.rtnl((r) => r.index(name));
  return {
    namespace: ns,
    name,
    index,
    cidrs: cidrs.map((c) => `${c.address}/${c.prefixLength}`),
    address: cidrs.find((c) => c.family === AF_INET)?.address,
    address6: cidrs.find((c) => c.family === AF_INET6)?.address,
  };
}

/** Opens a namespace file for IFLA_NET_NS_FD (close-on-exec), for the duration of `fn`. */
function withNsFd<T>(ns: Namespace, fn: (fd: number) => T): T {
  const fd = fs.openSync(ns.path, fs.constants.O_RDONLY);
  try {
    return fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Connects two namespaces with a link: an interface in each (`eth<N>` by default), with the given
 * addresses and MTU, both up. By default the link runs through the wire, so it can be impaired and
 * cut at any time, with no kernel support and reproducibly (see {@link LinkOptions.wire}). The link
 * is made with rtnetlink inside the namespaces (nothing is created in the caller's own namespace),
 * and removed by `close()`, by closing either namespace, or at exit.
 * @throws SystemError `RTM_NEWLINK` (EEXIST: an interface of that name exists), ...
 * @example
 * const link = await createLink(client, server, { addresses: ['10.0.0.1/24', '10.0.0.2/24'] });
 * await link.impair({ delay: 50, loss: 5 });
 */
export async function createLink(a: Namespace, b: Namespace, options: LinkOptions = {}): Promise<Link> {
  if (!(a instanceof Namespace)) throw invalidArgType('a', 'a Namespace (from createNamespace)', a);
  if (!(b instanceof Namespace)) throw invalidArgType('b', 'a Namespace (from createNamespace)', b);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  for (const key of Object.keys(options)) {
    if (!['names', 'addresses', 'mtu', 'wire', 'ipv6'].includes(key)) throw invalidArgValue('options', `has an unknown field '${key}' (known: names, addresses, mtu, wire, ipv6)`, options);
  }
  const mtu = options.mtu ?? DEFAULT_MTU;
  checkMtu(mtu, 'options.mtu');
  if (options.wire !== undefined && typeof options.wire !== 'boolean') throw invalidArgType('options.wire', 'of type boolean', options.wire);
  const wired = options.wire !== false;
  const addrA = cidrList(options.addresses?.[0], 'options.addresses[0]');
  const addrB = cidrList(options.addresses?.[1], 'options.addresses[1]');
  if (options.ipv6 !== undefined && typeof options.ipv6 !== 'boolean') throw invalidArgType('options.ipv6', 'of type boolean', options.ipv6);
  if (options.ipv6 === false && [...addrA, ...addrB].some((c) => c.family === AF_INET6)) {
    throw invalidArgValue('options', 'gives IPv6 addresses to a link made with ipv6: false', options.addresses);
  }
  const takenA = new Set(a.links().map((l) => l.name));
  const nameA = options.names?.[0] === undefined ? freeName(takenA) : checkName(options.names[0], 'options.names[0]');
  const takenB = a === b ? new Set([...takenA, nameA]) : new Set(b.links().map((l) => l.name));
  const nameB = options.names?.[1] === undefined ? freeName(takenB) : checkName(options.names[1], 'options.names[1]');

  let host: WireHost | undefined;
  let wireEnds: [number, number] | undefined;
  const id = WireHost.nextId();
  const cleanup: (() => void)[] = [];
  try {
    if (wired) {
      host = WireHost.acquire();
      const w = host;
      cleanup.push(() => void w.release());
      const wa = `w${id}a`, wb = `w${id}b`;
      w.ns.rtnl((r) => {
        withNsFd(a, (fd) => r.addVeth(wa, nameA, { peerNsFd: fd, mtu: WIRE_MTU, peerMtu: mtu, peerGsoMaxSegs: 1 }));
        cleanup.push(() => w.ns.rtnl((r2) => r2.deleteLink(r2.index(wa), 'undoing')));
        withNsFd(b, (fd) => r.addVeth(wb, nameB, { peerNsFd: fd, mtu: WIRE_MTU, peerMtu: mtu, peerGsoMaxSegs: 1 }));
        cleanup.push(() => w.ns.rtnl((r2) => r2.deleteLink(r2.index(wb), 'undoing')));
        wireEnds = [r.index(wa), r.index(wb)];
        for (const index of wireEnds) r.setLink(index, { addrGenModeNone: true, up: true }, 'bringing a wire end up');
      });
      await w.request({ op: 'add', id, netns: w.ns.path, ifindexA: wireEnds![0], ifindexB: wireEnds![1] });
      cleanup.push(() => w.notify({ op: 'remove', id }));
    } else {
      a.rtnl((r) => withNsFd(b, (fd) => r.addVeth(nameA, nameB, { peerNsFd: fd, mtu, peerMtu: mtu })));
      cleanup.push(() => a.rtnl((r) => r.deleteLink(r.index(nameA), 'undoing')));
    }
    for (const [ns, name, cidrs] of [[a, nameA, addrA], [b, nameB, addrB]] as const) {
      if (options.ipv6 === false) ns.sysctl(`net/ipv6/conf/${name}/disable_ipv6`, '1');
      ns.rtnl((r) => {
        const index = r.index(name);
        for (const c of cidrs) r.addAddress(index, c, `adding ${c.address}/${c.prefixLength} to ${name}`);
        r.setLink(index, { up: true }, `bringing ${name} up`);
      });
    }
    const link = new Link(endpoint(a, nameA, addrA), endpoint(b, nameB, addrB), wired, host, id, wireEnds);
    a.attachments.add(link);
    b.attachments.add(link);
    track(link);
    return link;
  } catch (err) {
    for (const undo of cleanup.reverse()) {
      try {
        undo();
      } catch {
        // Undo as much as possible; the first error is the one to report.
      }
    }
    throw err;
  }
}
