#!/usr/bin/env node
'use strict';
// `npm run deps` (before dependency-cruiser): every module folder src/modules/<name> has its door index.ts and a
// place in the layer table of scripts/layers.cjs, and every library libs/<name> has its door src/index.ts, a
// @kiroku/<name> path in tsconfig.json and a place in the table (or among the test-only libraries). What
// dependency-cruiser cannot see, since it only looks at imports. Exits 1 with one line per problem.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { LAYERS, MODULES, LIBS, TEST_LIB_DIRS, LIB_PREFIX } = require('./layers.cjs');

const root = join(__dirname, '..');
const folders = (dir) =>
  readdirSync(join(root, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

function problems() {
  const found = [];
  const names = LAYERS.flat();
  for (const name of new Set(names)) {
    if (names.indexOf(name) !== names.lastIndexOf(name)) found.push(`scripts/layers.cjs: ${name} is in more than one place`);
  }

  const modules = folders('src/modules');
  for (const m of modules) {
    if (!existsSync(join(root, 'src/modules', m, 'index.ts'))) found.push(`src/modules/${m}: no door (index.ts)`);
    if (!MODULES.includes(m)) found.push(`src/modules/${m}: not in the layer table (scripts/layers.cjs)`);
  }
  for (const m of MODULES) {
    if (!modules.includes(m)) found.push(`scripts/layers.cjs: module ${m} has no folder src/modules/${m}`);
  }

  const paths = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')).compilerOptions.paths ?? {};
  const libs = folders('libs');
  for (const l of libs) {
    if (!existsSync(join(root, 'libs', l, 'src/index.ts'))) found.push(`libs/${l}: no door (src/index.ts)`);
    if (!LIBS.includes(l) && !TEST_LIB_DIRS.includes(l)) found.push(`libs/${l}: not in the layer table nor a test library (scripts/layers.cjs)`);
    const mapped = paths[LIB_PREFIX + l];
    if (!mapped || mapped.length !== 1 || mapped[0].replace(/^\.\//, '') !== `libs/${l}/src/index.ts`) {
      found.push(`tsconfig.json: paths["${LIB_PREFIX}${l}"] must be ["./libs/${l}/src/index.ts"]`);
    }
  }
  for (const l of [...LIBS, ...TEST_LIB_DIRS]) {
    if (!libs.includes(l)) found.push(`scripts/layers.cjs: library ${LIB_PREFIX}${l} has no folder libs/${l}`);
  }
  return found;
}

module.exports = { problems };

if (require.main === module) {
  const found = problems();
  for (const p of found) process.stderr.write(`check-layers: ${p}\n`);
  if (found.length) process.exit(1);
  process.stdout.write(`check-layers: ${MODULES.length} modules and ${LIBS.length + TEST_LIB_DIRS.length} libraries, each with its door and its layer\n`);
}
