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

/** How a `[options] HOST` command reads its options. @internal */
export interface HostArgsSpec<O> {
  /** Options with a numeric value: flag -> the field it sets, its range, and whether fractions are allowed. */
  numbers: Record<string, [field: keyof O & string, min: number, max: number, fraction: boolean]>;
  /** Options without a value: flag -> what it does to the options. */
  switches?: Record<string, (options: O) => void>;
}

/**
 * Reads `[options] HOST` (the arguments of ping and traceroute) into `options`, which holds the
 * defaults: each numeric option's value (checked by {@link numberArg}), each switch, and exactly one
 * HOST. Returns the options, or the usage message for the first argument at fault. @internal
 */
export function parseHostArgs<O extends { host: string }>(args: readonly string[], options: O, spec: HostArgsSpec<O>): O | string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const number = Object.prototype.hasOwnProperty.call(spec.numbers, a) ? spec.numbers[a] : undefined;
    const toggle = spec.switches && Object.prototype.hasOwnProperty.call(spec.switches, a) ? spec.switches[a] : undefined;
    if (number) {
      const [field, min, max, fraction] = number;
      const v = numberArg(a, args[++i], min, max, fraction);
      if (typeof v === 'string') return v;
      (options as Record<string, unknown>)[field] = v;
    } else if (toggle) toggle(options);
    else if (a.startsWith('-')) return `unknown option ${a}`;
    else if (options.host) return 'one host only';
    else options.host = a;
  }
  return options.host ? options : 'a HOST is required';
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
