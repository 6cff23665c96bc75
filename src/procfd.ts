/**
 * Which fds hold which sockets: a process's `/proc/<pid>/fd` links ('socket:[inode]'), the way `ss -p`
 * and `lsof` find a socket's owners. sock_diag reports sockets by inode; these maps turn inodes back
 * into fds.
 * @internal
 * @packageDocumentation
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { SystemError } from './errors.js';
import { append } from './own.js';

const SOCKET_LINK = /^socket:\[(\d+)\]$/;

/**
 * inode → the fds of process `pid` (or of this process) that hold that socket, each list ascending.
 * An fd closed while the directory is read is skipped.
 * @throws SystemError `scandir` when `/proc/<pid>/fd` cannot be read: ENOENT (no such process, or
 *   /proc not mounted), EACCES (another user's process without CAP_SYS_PTRACE).
 * @internal
 */
export function socketFds(pid?: number): Map<number, number[]> {
  const dir = `/proc/${pid ?? 'self'}/fd`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.errno !== 'number') throw err;
    throw new SystemError(e.errno, 'scandir', undefined, `cannot read ${dir}`);
  }
  const out = new Map<number, number[]>();
  for (const name of names.map(Number).sort((a, b) => a - b)) {
    let target: string;
    try {
      target = readlinkSync(`${dir}/${name}`);
    } catch {
      continue; // closed meanwhile (the fd readdir itself used, for one)
    }
    const m = SOCKET_LINK.exec(target);
    if (!m) continue;
    const inode = Number(m[1]);
    const list = out.get(inode);
    if (list) append(list, name);
    else out.set(inode, [name]);
  }
  return out;
}

/** One process holding a socket, as `ss -p` prints it: `("name",pid=N,fd=M)`. @internal */
export interface SocketUser {
  /** The process's name (`/proc/<pid>/comm`). */
  name: string;
  pid: number;
  fd: number;
}

/**
 * inode → every process (and fd) holding that socket, over all of /proc: what `ss -p` shows. Processes
 * whose fds cannot be read (another user's, without privileges) or that exit meanwhile are skipped.
 * @internal
 */
export function socketUsers(): Map<number, SocketUser[]> {
  const out = new Map<number, SocketUser[]>();
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return out;
  }
  for (const pid of pids.sort((a, b) => a - b)) {
    let fds: Map<number, number[]>;
    let name: string;
    try {
      fds = socketFds(pid);
      name = readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
    } catch {
      continue;
    }
    for (const [inode, list] of fds) {
      const users = out.get(inode) ?? [];
      for (const fd of list) append(users, { name, pid, fd });
      out.set(inode, users);
    }
  }
  return out;
}
