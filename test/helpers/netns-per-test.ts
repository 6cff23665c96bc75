// Namespaces that last one test: `const space = namespacesPerTest()` at the top of a test file, then
// `space()` in a test makes a Netns (loopback up) that is destroyed after that test, pass or fail.
import { afterEach } from 'vitest';
import { Netns } from './netns.js';

/** Registers an afterEach that destroys every namespace made during the test; returns the maker. */
export function namespacesPerTest(): () => Netns {
  let spaces: Netns[] = [];
  afterEach(() => {
    for (const n of spaces) n.destroy();
    spaces = [];
  });
  return () => {
    const n = new Netns();
    spaces.push(n);
    return n;
  };
}
