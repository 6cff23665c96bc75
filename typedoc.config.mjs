// The API reference (`npm run docs` -> docs/api), one module per entry point of scripts/entrypoints.mjs.
import { ENTRY_POINTS } from './scripts/entrypoints.mjs';

/** @type {Partial<import('typedoc').TypeDocOptions> & Record<string, unknown>} */
const config = {
  entryPoints: ENTRY_POINTS.map((e) => `src/${e.source}.ts`),
  out: 'docs/api',
  plugin: ['typedoc-plugin-markdown'],
  readme: 'none',
  excludeInternal: true,
  excludePrivate: true,
  sort: ['source-order'],
  entryFileName: 'index.md',
  hidePageHeader: true,
  disableSources: true,
  name: 'sockfd',
  outputFileStrategy: 'modules',
  parametersFormat: 'table',
  // Helper types the public ones are written with, documented where they are used.
  intentionallyNotExported: ['Below', 'SocketTypes', 'IpTypes', 'Ipv6Types', 'NoFields', 'FieldNames', 'AnyEntry', 'Wide', 'Entry'],
};
export default config;
