/**
 * The `sockfd` command: a small table of commands, each in its own file under src/cli/ (name, one-line
 * summary, usage, run). To add one, import it and put it in COMMANDS. `sockfd` alone runs `demo`
 * (what `npm start` runs); `sockfd --help` lists the commands, `sockfd <command> --help` shows one,
 * `sockfd --version` prints the version.
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { captureCommand } from './cli/capture.js';
import type { Command } from './cli/command.js';
import { demoCommand } from './cli/demo.js';
import { pingCommand } from './cli/ping.js';
import { ssCommand } from './cli/ss.js';
import { tracerouteCommand } from './cli/traceroute.js';

const COMMANDS: Command[] = [demoCommand, pingCommand, tracerouteCommand, captureCommand, ssCommand];

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

function help(): string {
  const entries = COMMANDS.map((c) => `  ${c.name} ${c.usage}\n${wrap(c.summary, 78, ' '.repeat(18))}`);
  return `sockfd — the POSIX socket API for Node.js, on real file descriptors

Usage: sockfd <command> [options]        sockfd <command> --help        sockfd --version

Commands:
${entries.join('\n')}
  help            this text
`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name = 'demo', ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`sockfd ${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`sockfd: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: sockfd ${command.name} ${command.usage}\n\n${wrap(command.summary, 78, '')}\n${command.details ? `\n${command.details}` : ''}`);
    return 0;
  }
  const code = await command.run(rest);
  if (code === -2) {
    process.stderr.write(help());
    return 2;
  }
  return code;
}
