/**
 * `sockfd demo` (what `npm start` runs and what `sockfd` alone runs): see src/demo.ts.
 * @packageDocumentation
 * @internal
 */
import { demo } from '../demo.js';
import type { Command } from './command.js';

/** The demo command. @internal */
export const demoCommand: Command = {
  name: 'demo',
  summary: "make the seed's diagrams happen on 127.0.0.1: every call with its real fd and result, and the kernel's view after it (this is what `npm start` runs)",
  usage: '[--json] [--step]',
  async run(rest) {
    const unknown = rest.filter((a) => a !== '--json' && a !== '--step');
    if (unknown.length) {
      process.stderr.write(`sockfd demo: unknown option ${unknown[0]}\n\n`);
      return -2; // the caller prints the general help after this message, as before
    }
    const json = rest.includes('--json');
    const write = (line: string): void => void process.stdout.write(line + '\n');
    try {
      const steps = await demo({ json, step: rest.includes('--step'), color: !json && process.stdout.isTTY === true, write });
      if (json) write(JSON.stringify({ steps }, null, 2));
      return 0;
    } catch (err) {
      process.stderr.write(`\nsockfd demo failed: ${(err as Error).stack ?? err}\n`);
      return 1;
    }
  },
};
