// The package's entry points: the one list. Each is a subpath of the package and the module under
// src/ (without .ts) it is. package.json's "exports", "typesVersions", "main" and "types" are rendered
// from it (`npm run gen:package`, checked by test/release.test.ts and by prepack), and so are the ESM
// wrappers and their types (scripts/build-ts.mjs), the API reference (typedoc.config.mjs) and the
// packaging tests. Adding an entry point is one line here, then `npm run gen:package`.
// Shipped in the tarball (scripts/lifecycle.mjs reads it there), so it imports nothing.

/** @type {readonly { subpath: string, source: string }[]} */
export const ENTRY_POINTS = [
  { subpath: '.', source: 'index' },
  { subpath: './promises', source: 'promises' },
  { subpath: './packet', source: 'packet/index' },
  { subpath: './netns', source: 'netns/index' },
];

/** The files of one entry point, relative to the package root. */
export function entryFiles({ subpath, source }) {
  const esm = subpath === '.' ? 'index' : subpath.slice(2).replaceAll('/', '-');
  return {
    cjs: `./dist/cjs/${source}.js`,
    cjsTypes: `./dist/cjs/${source}.d.ts`,
    esm: `./dist/esm/${esm}.mjs`,
    esmTypes: `./dist/esm/${esm}.d.mts`,
  };
}

/**
 * The fields of package.json that follow from the entry points: "main" and "types" (the root, for
 * tools that predate "exports"), "exports" (ESM and CommonJS, each with its own types: .d.mts are ESM
 * types, .d.ts CommonJS ones), and "typesVersions" (how TypeScript's node10 resolution, which ignores
 * "exports", finds the subpaths' types).
 */
export function packageFields() {
  const exports = {};
  const typesVersions = {};
  for (const entry of ENTRY_POINTS) {
    const f = entryFiles(entry);
    exports[entry.subpath] = {
      import: { types: f.esmTypes, default: f.esm },
      require: { types: f.cjsTypes, default: f.cjs },
    };
    if (entry.subpath !== '.') typesVersions[entry.subpath.slice(2)] = [f.cjsTypes];
  }
  exports['./package.json'] = './package.json';
  const root = entryFiles(ENTRY_POINTS[0]);
  return { main: root.cjs, types: root.cjsTypes, exports, typesVersions: { '*': typesVersions } };
}
