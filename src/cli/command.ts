/**
 * The shape of a `sockfd` command: its name, a one-line summary, its usage line, and `run`, which gets
 * the arguments after the name and resolves to the exit code. `src/cli.ts` lists the commands.
 * @packageDocumentation
 * @internal
 */

/** One command of the `sockfd` CLI. @internal */
export interface Command {
  /** What the user types: `sockfd <name> ...`. */
  name: string;
  /** One line for `sockfd --help`. */
  summary: string;
  /** The arguments, as `sockfd <name> --help` and usage errors print them (without `sockfd <name>`). */
  usage: string;
  /** More help, printed by `sockfd <name> --help` after the summary. */
  details?: string;
  /** Runs the command; resolves to the process exit code (0 ok, 1 failed, 2 usage or setup error). */
  run(args: string[]): Promise<number>;
}

/** Writes `sockfd <name>: <message>` and the usage line to stderr; returns 2. @internal */
export function usageError(c: Pick<Command, 'name' | 'usage'>, message: string): number {
  process.stderr.write(`sockfd ${c.name}: ${message}\nusage: sockfd ${c.name} ${c.usage}\n`);
  return 2;
}

/**
 * Reads a numeric option's value: a number in `[min, max]` (an integer unless `fraction`), or a usage
 * message. @internal
 */
export function numberArg(flag: string, text: string | undefined, min: number, max: number, fraction = false): number | string {
  const v = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(v) || v < min || v > max || (!fraction && !Number.isInteger(v))) {
    return `invalid value for ${flag}: ${text ?? '(missing)'} (${min} to ${max})`;
  }
  return v;
}

/** Runs `work` with an AbortSignal that SIGINT and SIGTERM abort; the handlers are removed after. @internal */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(interrupt.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
