/**
 * `sockfd ss`: the sockets of the network namespace, or of one process (`--pid N`, found through
 * `/proc/N/fd`), listed with {@link listSockets} and printed the way `ss -tuxwanpiem` prints them, or as
 * JSON (`--json`).
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { type Command, usageError } from './command.js';
import { AF_INET, AF_INET6, AF_PACKET, AF_UNIX, IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM } from '../constants.generated.js';
import type { SocketEntry } from '../diagtypes.js';
import { socketUsers, type SocketUser } from '../procfd.js';
import { SOCKET_STATES, listSockets, type SocketFilter } from '../sockdiag.js';
import { formatTable, ssStateName } from '../ssformat.js';

const details = `  The sockets of this network namespace, as \`ss -tuxwanpiem\` prints them, read with NETLINK_SOCK_DIAG
  (sockfd's listSockets): TCP (SYN-RECV and TIME-WAIT included), UDP, raw, unix and packet sockets.

  --pid N     only the sockets held by process N's fds (/proc/N/fd); without it, every process
              holding a socket is named in the Process column, as ss -p does
  --json      the entries as JSON (listSockets' fields, a \`users\` list added; 64-bit values as strings)
  -4, -6      IPv4 or IPv6 sockets only
  tcp, udp, raw, unix, packet
              these kinds only (any number of them; all five by default)
  state S     sockets in state S: the kernel's name (ESTABLISHED, TIME_WAIT, ...) or ss's (ESTAB,
              TIME-WAIT, UNCONN, ...); may be repeated
  port N      IP sockets whose local or peer port is N
`;

const KINDS = ['tcp', 'udp', 'raw', 'unix', 'packet'] as const;
type Kind = (typeof KINDS)[number];

interface Options {
  pid?: number;
  json: boolean;
  families: number[];
  kinds: Kind[];
  states: string[];
  port?: number;
}

/** The kernel's state name for a name as the kernel or as ss spells it, or undefined. */
function stateOf(word: string): string | undefined {
  const upper = word.toUpperCase();
  return SOCKET_STATES.find((k) => k === upper || ssStateName(k) === upper);
}

/** Parses the arguments; a string is a usage error. */
function parse(args: string[]): Options | string {
  const o: Options = { json: false, families: [AF_INET, AF_INET6], kinds: [], states: [] };
  const number = (flag: string, text: string | undefined, min: number, max: number): number | string => {
    const v = Number(text);
    return text !== undefined && /^\d+$/.test(text) && v >= min && v <= max ? v : `sockfd ss: ${flag} needs an integer from ${min} to ${max}, not ${text ?? '(nothing)'}`;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') o.json = true;
    else if (a === '--pid') {
      const v = number('--pid', args[++i], 1, 2 ** 31 - 1);
      if (typeof v === 'string') return v;
      o.pid = v;
    } else if (a === '-4') o.families = [AF_INET];
    else if (a === '-6') o.families = [AF_INET6];
    else if ((KINDS as readonly string[]).includes(a)) {
      if (!o.kinds.includes(a as Kind)) o.kinds.push(a as Kind);
    } else if (a === 'state') {
      const name = args[++i];
      const state = name === undefined ? undefined : stateOf(name);
      if (!state) return `sockfd ss: unknown state ${name ?? '(nothing)'} (one of ${SOCKET_STATES.join(', ')}, or ss's names)`;
      o.states.push(state);
    } else if (a === 'port') {
      const v = number('port', args[++i], 0, 65535);
      if (typeof v === 'string') return v;
      o.port = v;
    } else return `sockfd ss: unknown argument ${a}`;
  }
  if (o.kinds.length === 0) o.kinds = o.families.length === 2 ? [...KINDS] : ['tcp', 'udp', 'raw'];
  return o;
}

/** The listSockets filters for the kinds asked for, in listSockets' own order. */
function filters(o: Options): SocketFilter[] {
  const common: SocketFilter = {};
  if (o.pid !== undefined) common.pid = o.pid;
  if (o.states.length) common.states = o.states;
  if (o.port !== undefined) common.port = o.port;
  const out: SocketFilter[] = [];
  for (const kind of KINDS) {
    if (!o.kinds.includes(kind)) continue;
    if (kind === 'unix') out.push({ ...common, family: AF_UNIX });
    else if (kind === 'packet') out.push({ ...common, family: AF_PACKET });
    else {
      const narrow: SocketFilter =
        kind === 'tcp' ? { protocol: IPPROTO_TCP, type: SOCK_STREAM } : kind === 'udp' ? { protocol: IPPROTO_UDP, type: SOCK_DGRAM } : { type: SOCK_RAW };
      for (const family of o.families) out.push({ ...common, ...narrow, family });
    }
  }
  // A port names IP sockets only.
  return o.port === undefined ? out : out.filter((f) => f.family === AF_INET || f.family === AF_INET6);
}

/** JSON for an entry: 64-bit values as decimal strings, byte strings as hex. */
function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    function (key, v: unknown) {
      if (typeof v === 'bigint') return v.toString();
      const raw = (this as Record<string, unknown>)[key];
      if (Buffer.isBuffer(raw)) return raw.toString('hex');
      return v;
    },
    2,
  );
}

/** `sockfd ss`: resolves to the exit code (0, 1 for a failure of the kernel or /proc, 2 for a usage error). */
export const ssCommand: Command = {
  name: 'ss',
  summary: "list sockets as `ss -tuxwanpiem` does, from sock_diag (all, or one process's)",
  usage: '[--pid N] [--json] [-4|-6] [tcp|udp|raw|unix|packet ...] [state STATE ...] [port N]',
  details,
  run,
};

async function run(args: string[]): Promise<number> {
  const o = parse(args);
  if (typeof o === 'string') return usageError(ssCommand, o.replace(/^sockfd ss: /, ''));
  let entries: SocketEntry[];
  let usersOf: (e: SocketEntry) => SocketUser[];
  try {
    entries = filters(o).flatMap((f) => listSockets(f));
    if (o.pid !== undefined) {
      const pid = o.pid;
      let name = String(pid);
      try {
        name = readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
      } catch {
        // The process exited after its fds were read: its number stands for its name.
      }
      usersOf = (e) => e.fds.map((fd) => ({ name, pid, fd }));
    } else {
      const users = socketUsers();
      usersOf = (e) => (e.inode ? (users.get(e.inode) ?? []) : []);
    }
  } catch (err) {
    process.stderr.write(`sockfd ss: ${(err as Error).message}\n`);
    return 1;
  }
  if (o.json) process.stdout.write(toJson(entries.map((e) => ({ ...e, users: usersOf(e) }))) + '\n');
  else process.stdout.write(formatTable(entries, usersOf));
  return 0;
}
