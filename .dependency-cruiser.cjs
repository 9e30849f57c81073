'use strict';
// `npm run deps`: the import rules of docs/architecture.md, checked on src, libs and test. The layer table lives in
// scripts/layers.cjs (scripts/check-layers.js checks what imports cannot show: every module folder has its door and
// a place in the table). @kiroku/<lib> resolves through the paths of tsconfig.json to libs/<lib>/src/index.ts.
const { LAYERS, MODULES, LIBS, TEST_LIB_DIRS, LIB_PREFIX, APP } = require('./scripts/layers.cjs');

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const anyOf = (names) => `(${names.map(escape).join('|')})`;

// Where each name of the table lives.
const APP_FILES = ['^src/[^/]+$', '^src/cli/'];
const placeOf = (name) => {
  if (name === APP) return APP_FILES;
  if (name.startsWith(LIB_PREFIX)) return [`^libs/${escape(name.slice(LIB_PREFIX.length))}/`];
  return [`^src/modules/${escape(name)}/`];
};

// A module imports only modules of lower layers: not one of its own layer, not one above it, not the app.
const layerRules = [];
LAYERS.forEach((layer, i) => {
  for (const name of layer) {
    if (name === APP || name.startsWith(LIB_PREFIX)) continue;
    const sameOrHigher = LAYERS.slice(i)
      .flat()
      .filter((other) => other !== name);
    layerRules.push({
      name: `layer-${name}`,
      comment: `${name} (layer ${i + 1}) imports only modules of lower layers (docs/architecture.md)`,
      severity: 'error',
      from: { path: placeOf(name) },
      to: { path: sameOrHigher.flatMap(placeOf) },
    });
  }
});

// Files that only tests run: the test libraries may be imported from these alone.
const TEST_FILES = ['^test/', '\\.(spec|int-spec|e2e-spec)\\.ts$', `^libs/${anyOf(TEST_LIB_DIRS)}/`];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles (docs/architecture.md), type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'libs-not-to-src',
      comment: 'Libraries are product-agnostic: nothing in libs imports src.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^src/' },
    },
    {
      name: 'module-not-to-app',
      comment: 'A module never imports the app files (src/*.ts, src/cli/**): they are the top layer.',
      severity: 'error',
      from: { path: '^src/modules/' },
      to: { path: APP_FILES },
    },
    {
      name: 'module-past-door',
      comment: 'Another module is imported through its door (src/modules/<m>/index.ts) only.',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/[^/]+/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index\\.ts$'] },
    },
    {
      name: 'outside-past-module-door',
      comment: 'Outside src/modules (app files, tests), a module is imported through its door (index.ts) only.',
      severity: 'error',
      from: { pathNot: '^src/modules/' },
      to: { path: '^src/modules/[^/]+/', pathNot: '^src/modules/[^/]+/index\\.ts$' },
    },
    {
      name: 'lib-past-door',
      comment: 'A library is imported through its door (@kiroku/<lib>, libs/<lib>/src/index.ts) only.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { path: '^libs/[^/]+/', pathNot: ['^libs/$1/', '^libs/[^/]+/src/index\\.ts$'] },
    },
    {
      name: 'outside-past-lib-door',
      comment: 'Outside libs, a library is imported through its door (@kiroku/<lib>, libs/<lib>/src/index.ts) only.',
      severity: 'error',
      from: { pathNot: '^libs/' },
      to: { path: '^libs/[^/]+/', pathNot: '^libs/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'test-libs-only-in-tests',
      comment: `${TEST_LIB_DIRS.map((l) => LIB_PREFIX + l).join(', ')}: for tests only, never product code.`,
      severity: 'error',
      from: { pathNot: TEST_FILES },
      to: { path: `^libs/${anyOf(TEST_LIB_DIRS)}/` },
    },
    {
      name: 'module-not-in-layers',
      comment: 'Every module folder has its place in the layer table (scripts/layers.cjs).',
      severity: 'error',
      from: {},
      to: { path: `^src/modules/(?!${anyOf(MODULES)}/)` },
    },
    {
      name: 'lib-not-in-layers',
      comment: 'Every library has its place in the layer table or among the test libraries (scripts/layers.cjs).',
      severity: 'error',
      from: {},
      to: { path: `^libs/(?!${anyOf([...LIBS, ...TEST_LIB_DIRS])}/)` },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve would slip past every rule above (e.g. a @kiroku/* path missing from tsconfig.json).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|node_modules)/' },
    // Type-only imports count: a layer is about what a module knows of, not only what it runs.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
