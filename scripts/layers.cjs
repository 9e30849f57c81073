'use strict';
// The layer order of docs/architecture.md, lowest first: a module imports only modules of lower layers, never one of
// its own layer. dependency-cruiser (.dependency-cruiser.cjs), scripts/check-layers.js and
// test/architecture.int-spec.ts all read it from here; docs/architecture.md must list the same table.
// Layer 1 names libraries (libs/<name>, imported as @kiroku/<name>); layer 8, `app`, is src/*.ts and src/cli/**;
// every other name is a module folder src/modules/<name>.
const LAYERS = [
  ['@kiroku/config', '@kiroku/clock', '@kiroku/persistence', '@kiroku/scheduler', '@kiroku/supervisor'],
  ['logs', 'storage', 'cluster', 'web'],
  ['audit', 'metrics'],
  ['auth', 'health'],
  ['notes', 'backup', 'log-sweep'],
  ['transfer', 'alerts'],
  ['admin', 'api-docs'],
  ['app'],
];

// Libraries outside the layers: only tests (test/**, *.spec.ts, *.int-spec.ts, *.e2e-spec.ts), bench and scripts
// use them.
const TEST_LIBS = ['@kiroku/testing'];

const LIB_PREFIX = '@kiroku/';
const APP = 'app';

/** Module folder names (src/modules/<name>) in layer order. */
const MODULES = LAYERS.flat().filter((name) => !name.startsWith(LIB_PREFIX) && name !== APP);
/** Library folder names (libs/<name>) of the layers. */
const LIBS = LAYERS.flat()
  .filter((name) => name.startsWith(LIB_PREFIX))
  .map((name) => name.slice(LIB_PREFIX.length));
/** Library folder names (libs/<name>) that only tests use. */
const TEST_LIB_DIRS = TEST_LIBS.map((name) => name.slice(LIB_PREFIX.length));

module.exports = { LAYERS, TEST_LIBS, MODULES, LIBS, TEST_LIB_DIRS, LIB_PREFIX, APP };
