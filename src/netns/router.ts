/**
 * A router: a namespace that forwards IPv4 and IPv6 between hosts, each host on a link of its own.
 * @packageDocumentation
 */
import { invalidArgType, invalidArgValue } from '../argerrors.js';
import type { Impairment } from './impair.js';
import { createLink, type CutMode, type Link } from './link.js';
import { Namespace, createNamespace } from './namespace.js';
import type { WireStats } from './wire.js';

/** Options of {@link createRouter}. */
export interface RouterOptions {
  /** The router namespace's name; default `sockfd-<pid>-<random>`. */
  name?: string;
  /** The MTU of every link; default 1500. */
  mtu?: number;
  /** Run the links through the wire (default true; see `LinkOptions.wire`). */
  wire?: boolean;
}

/**
 * A router namespace with one link per host. Host `i` (from 0) is on `10.0.<i+1>.0/24` and
 * `fd00:0:0:<i+1>::/64`: the router is `.1` / `::1` there, the host `.2` / `::2`, and the host's
 * default routes (IPv4 and IPv6) go through the router, which forwards both families.
 */
export class Router {
  /** @internal Use {@link createRouter}. */
  constructor(
    /** The router's own namespace. */
    readonly namespace: Namespace,
    /** The link to each host, in the order the hosts were given; `a` is the router's end. */
    readonly links: readonly Link[],
    private readonly hosts: readonly Namespace[],
  ) {}

  private linkOf(host: Namespace): Link {
    const i = this.hosts.indexOf(host);
    if (i < 0) throw invalidArgValue('host', 'is not a host of this router', host instanceof Namespace ? host.name : host);
    return this.links[i]!;
  }

  /** The host's address on its link to the router: `10.0.<i+1>.2`, or with family 6 `fd00:0:0:<i+1>::2`. */
  address(host: Namespace, family: 4 | 6 = 4): string {
    const end = this.linkOf(host).b;
    return (family === 6 ? end.address6 : end.address)!;
  }

  /** The router's address facing the host (the host's gateway). */
  gateway(host: Namespace, family: 4 | 6 = 4): string {
    const end = this.linkOf(host).a;
    return (family === 6 ? end.address6 : end.address)!;
  }

  /**
   * Impairs what the router sends out of each of its links (or only towards `host`): a packet from
   * one host to another is impaired once, on its way out of the router, as `tc ... netem` on the
   * router's interfaces would do. Replaces the previous impairment (`{}` clears it).
   */
  async impair(impairment: Impairment, options: { host?: Namespace } = {}): Promise<void> {
    const links = options.host === undefined ? this.links : [this.linkOf(options.host)];
    for (const link of links) await link.impair(impairment, { from: this.namespace });
  }

  /** Cuts the link to `host` (or every link) both ways; see `Link.cut`. */
  async cut(mode: CutMode, options: { host?: Namespace } = {}): Promise<void> {
    const links = options.host === undefined ? this.links : [this.linkOf(options.host)];
    for (const link of links) await link.cut(mode);
  }

  /** Ends every impairment and cut. */
  async restore(): Promise<void> {
    for (const link of this.links) await link.restore();
  }

  /** The wire counters of the link to each host (`aToB` is router to host). */
  async stats(): Promise<WireStats[]> {
    return Promise.all(this.links.map((l) => l.stats()));
  }

  /** Removes the router namespace and its links (the hosts stay, without their routes through it). */
  async close(): Promise<void> {
    await this.namespace.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates a router namespace and links it to each host (see {@link Router} for the addresses), with
 * forwarding on (`net.ipv4.ip_forward` and `net.ipv6.conf.all.forwarding`, set inside the router's
 * namespace) and a default route in each host through it. A host can be behind one router only
 * (its default route); give it no default route of its own.
 * @example
 * const client = createNamespace(), server = createNamespace();
 * const router = await createRouter([client, server]);
 * await router.impair({ delay: 20, jitter: 5, loss: 2 });
 * // a socket made in `client` reaches router.address(server) through the router
 */
export async function createRouter(hosts: readonly Namespace[], options: RouterOptions = {}): Promise<Router> {
  if (!Array.isArray(hosts) || hosts.length === 0 || hosts.length > 254) throw invalidArgType('hosts', 'an array of 1 to 254 Namespaces', hosts);
  hosts.forEach((h, i) => {
    if (!(h instanceof Namespace)) throw invalidArgType(`hosts[${i}]`, 'a Namespace (from createNamespace)', h);
  });
  if (new Set(hosts).size !== hosts.length) throw invalidArgValue('hosts', 'lists a namespace twice', hosts.map((h) => h.name));
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  for (const key of Object.keys(options)) if (!['name', 'mtu', 'wire'].includes(key)) throw invalidArgValue('options', `has an unknown field '${key}' (known: name, mtu, wire)`, options);
  const router = createNamespace(options.name);
  try {
    router.sysctl('net/ipv4/ip_forward', '1');
    router.sysctl('net/ipv6/conf/all/forwarding', '1');
    const links: Link[] = [];
    for (const [i, host] of hosts.entries()) {
      const net = i + 1;
      const link = await createLink(router, host, {
        names: [`eth${i}`, undefined],
        addresses: [
          [`10.0.${net}.1/24`, `fd00:0:0:${net}::1/64`],
          [`10.0.${net}.2/24`, `fd00:0:0:${net}::2/64`],
        ],
        ...(options.mtu === undefined ? {} : { mtu: options.mtu }),
        ...(options.wire === undefined ? {} : { wire: options.wire }),
      });
      links.push(link);
      host.addRoute('default', { via: `10.0.${net}.1` });
      host.addRoute('default', { via: `fd00:0:0:${net}::1` });
    }
    return new Router(router, links, [...hosts]);
  } catch (err) {
    await router.close();
    throw err;
  }
}
