/**
 * Hooks that run when sockfd closes an fd, so that the event-loop layer can stop the fd's watcher
 * and reject its waiters before the fd number is released and possibly reused.
 * @internal
 * @packageDocumentation
 */

type CloseHook = (fd: number) => void;
const hooks: CloseHook[] = [];

/** @internal Registers a hook run (synchronously) before every `close`. */
export function onClose(hook: CloseHook): void {
  hooks.push(hook);
}

/** @internal */
export function runCloseHooks(fd: number): void {
  for (const hook of hooks) hook(fd);
}
