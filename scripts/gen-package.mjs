// Writes the fields of package.json that follow from the entry points (scripts/entrypoints.mjs):
// "main", "types", "exports" and "typesVersions". Run with `npm run gen:package` after editing the list.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageFields } from './entrypoints.mjs';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
const pkg = JSON.parse(readFileSync(file, 'utf8'));
Object.assign(pkg, packageFields());
writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
console.log(`package.json: ${Object.keys(pkg.exports).length - 1} entry points`);
