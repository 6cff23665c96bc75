/**
 * Sockets in other network namespaces: `socketIn`.
 *
 * A socket belongs for its whole life to the network namespace it was created in, whatever thread or
 * namespace later uses it. So a socket created inside another namespace and handed to `net`, `http` or
 * `dgram` is a real socket on another "host" — its own interfaces, addresses, routes and port space —
 * in the same process, without a container or a child process.
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { native, type NativeFailure } from './binding.js';
import { invalidArgType, invalidArgValue, isRevokedProxy, outOfRange } from './argerrors.js';
import { SystemError, check } from './errors.js';
import { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS } from './constants.generated.js';
import { RAW_HINT, needsRaw } from './socket.js';

const { EACCES, EBADF, EINVAL, ENOENT, ENOTTY, EPERM } = osConstants.errno;

/** Where `ip netns` and `sockfd/netns` keep named network namespaces. */
export const NETNS_RUN_DIR = '/run/netns';

/**
 * A network namespace, as `socketIn` and `sockfd/netns` take it: a name under `/run/netns` (as
 * `ip netns add NAME` makes), a path to a namespace file (`/proc/1234/ns/net`, a bind mount
 * elsewhere), an open fd of one (which is not closed), or `{ pid }` for the namespace of a process.
 */
export type NetnsRef = string | number | { readonly pid: number };

/** @internal An opened namespace: its fd, whether it is ours to close, and how to name it in messages. */
export interface OpenedNetns {
  fd: number;
  owned: boolean;
  label: string;
}

const NS_TYPE_NAMES: ReadonlyArray<[number, string]> = [
  [CLONE_NEWNS, 'mount'],
  [CLONE_NEWUTS, 'uts'],
  [CLONE_NEWIPC, 'ipc'],
  [CLONE_NEWUSER, 'user'],
  [CLONE_NEWPID, 'pid'],
  [CLONE_NEWCGROUP, 'cgroup'],
];

/** @internal The file a name or `{ pid }` stands for; a string with a `/` is a path already. */
export function netnsPathOf(netns: string | { readonly pid: number }, argName = 'netns'): string {
  if (typeof netns === 'string') {
    if (netns === '') throw invalidArgValue(argName, 'must be a namespace name, a path, an fd or { pid }, not an empty string', netns);
    if (netns.includes('\0')) throw invalidArgValue(argName, 'must not contain NUL bytes', netns);
    if (netns.includes('/')) return netns;
    if (netns === '.' || netns === '..') throw invalidArgValue(argName, 'is not a namespace name', netns);
    if (Buffer.byteLength(netns) > 255) throw invalidArgValue(argName, 'is longer than a file name can be (255 bytes)', netns);
    return `${NETNS_RUN_DIR}/${netns}`;
  }
  const pid = netns.pid;
  if (typeof pid !== 'number') throw invalidArgType(`${argName}.pid`, 'of type number', pid);
  if (!Number.isInteger(pid) || pid < 1 || pid > 2 ** 31 - 1) throw outOfRange(`${argName}.pid`, 'an integer >= 1 and <= 2147483647', pid);
  return `/proc/${pid}/ns/net`;
}

/**
 * Opens (O_RDONLY | O_CLOEXEC: libuv adds the flag to every open) and checks a network namespace.
 * The caller closes it with {@link closeNetns}.
 * @internal
 */
export function openNetns(netns: NetnsRef, argName = 'netns'): OpenedNetns {
  let opened: OpenedNetns;
  if (typeof netns === 'number') {
    if (!Number.isInteger(netns) || netns < 0 || netns > 2 ** 31 - 1) throw outOfRange(argName, 'an integer >= 0 and <= 2147483647', netns);
    opened = { fd: netns, owned: false, label: `fd ${netns}` };
  } else if (typeof netns === 'string' || (typeof netns === 'object' && netns !== null && !isRevokedProxy(netns) && 'pid' in netns)) {
    const path = netnsPathOf(netns, argName);
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY);
    } catch (err) {
      const errno = -((err as NodeJS.ErrnoException).errno ?? -EINVAL);
      let hint = `cannot open the network namespace ${path}`;
      if (errno === ENOENT && typeof netns === 'string' && !netns.includes('/')) {
        hint = `there is no network namespace named '${netns}' (no ${path}): create it with createNamespace('${netns}') from sockfd/netns, or \`ip netns add ${netns}\``;
      } else if (errno === ENOENT && typeof netns === 'object') {
        hint = `there is no process ${netns.pid} (no ${path})`;
      } else if (errno === ENOENT) {
        hint = `there is no ${path}`;
      }
      throw new SystemError(errno, 'open', undefined, hint);
    }
    opened = { fd, owned: true, label: path };
  } else {
    throw invalidArgType(argName, 'a namespace name or path (string), an fd (number) or { pid }', netns);
  }
  try {
    checkNetns(opened);
  } catch (err) {
    closeNetns(opened);
    throw err;
  }
  return opened;
}

/** @internal */
export function closeNetns(opened: OpenedNetns): void {
  if (opened.owned) fs.closeSync(opened.fd);
}

/** The device of nsfs, the filesystem every namespace file lives on (found once). */
let nsfsDev: number | undefined;

/** Refuses anything but a network namespace, with a message saying what it is instead. */
function checkNetns({ fd, label }: OpenedNetns): void {
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(fd);
  } catch (err) {
    const errno = -((err as NodeJS.ErrnoException).errno ?? -EBADF);
    throw new SystemError(errno, 'fstat', undefined, `${label} is not an open file descriptor`);
  }
  nsfsDev ??= fs.statSync('/proc/self/ns/net').dev;
  if (stat.dev !== nsfsDev) {
    throw new SystemError(EINVAL, 'setns', undefined, `${label} is not a namespace file (nsfs), so not a network namespace`);
  }
  const type = native.nsType(fd);
  if (type === -ENOTTY) return; // a kernel older than 4.11: setns itself will tell
  if (type < 0) throw new SystemError(-type, 'ioctl', undefined, `cannot read the namespace type of ${label}`);
  if (type !== CLONE_NEWNET) {
    const name = NS_TYPE_NAMES.find(([flag]) => flag === type)?.[1] ?? `type ${type}`;
    throw new SystemError(EINVAL, 'setns', undefined, `${label} is a ${name} namespace, not a network namespace`);
  }
}

/** @internal The SystemError for a failed step of socketIn/openIn. */
export function netnsStepError(failure: NativeFailure, label: string, domain?: number, type?: number): SystemError {
  const errno = -failure.errno;
  let hint: string | undefined;
  switch (failure.syscall) {
    case 'setns':
      hint =
        errno === EPERM
          ? `entering the network namespace ${label} needs CAP_SYS_ADMIN (run as root)`
          : errno === EINVAL
            ? `${label} is not a network namespace`
            : `cannot enter the network namespace ${label}`;
      break;
    case 'socket':
      if ((errno === EPERM || errno === EACCES) && domain !== undefined && type !== undefined && needsRaw(domain, type)) hint = RAW_HINT;
      break;
    default:
      hint = `in the network namespace ${label}`;
  }
  return new SystemError(errno, failure.syscall, undefined, hint);
}

/**
 * Creates a socket inside another network namespace; corresponds to `socket(2)` made after
 * `setns(2)`. Returns the kernel's fd, usable from any thread like any other: the socket stays in
 * that namespace for its whole life (its binds, routes, interfaces and port space are the
 * namespace's), so it can be handed to `net`/`http`/`dgram` ({@link toNetServer}, {@link toNetSocket},
 * {@link toDgram}) to put a Node server or client on another "host" of the same process.
 *
 * The calling thread enters the namespace, creates the socket (close-on-exec, like {@link socket})
 * and returns to its own namespace inside one native call: no JS runs in between, so no other code
 * and no new thread ever sees the thread in the other namespace. Should the way back fail, the
 * process is aborted with a message (a thread left in the wrong namespace would put every later
 * socket there). Works from worker threads: each thread enters and leaves on its own.
 *
 * The namespace file is opened close-on-exec and closed before returning (an fd given as `netns`
 * is left open). Entering a namespace needs CAP_SYS_ADMIN.
 * @param netns - a name under `/run/netns` (`'blue'`, as `ip netns add blue` or `createNamespace`
 *   from `sockfd/netns` make), a path (`'/proc/1234/ns/net'`), an open fd of a namespace file, or
 *   `{ pid }` for the network namespace of that process.
 * @throws SystemError `open` (ENOENT: no such namespace), `setns` (EINVAL: not a network namespace,
 *   the message says what it is instead; EPERM: CAP_SYS_ADMIN missing) or `socket` (as {@link socket}).
 * @example
 * const fd = socketIn('blue', AF_INET, SOCK_STREAM);
 * bind(fd, { family: AF_INET, address: '10.0.0.2', port: 80 }); // an address of 'blue'
 */
export function socketIn(netns: NetnsRef, domain: number, type: number, protocol = 0): number {
  const opened = openNetns(netns);
  try {
    const r = native.socketIn(opened.fd, domain, type, protocol);
    if (typeof r !== 'number') throw netnsStepError(r, opened.label, domain, type);
    return check(r, 'socket');
  } finally {
    closeNetns(opened);
  }
}
