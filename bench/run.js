#!/usr/bin/env node
'use strict';
// `npm run bench [suite…]`: runs the named benchmark suites (all by default) and prints their numbers.
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

const dir = join(__dirname, 'suites');
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.replace(/\.js$/, ''))
  .sort();

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !all.includes(w));
  if (unknown.length) {
    process.stderr.write(`unknown suite(s): ${unknown.join(', ')}; known: ${all.join(', ')}\n`);
    process.exit(2);
  }
  const machine = `${require('node:os').cpus().length} cores, ${Math.round(require('node:os').totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  process.stdout.write(`Kiroku benchmarks on ${machine}, ${new Date().toISOString()}\n`);
  for (const name of wanted.length ? wanted : all) {
    process.stdout.write(`\n## ${name}\n`);
    await require(join(dir, `${name}.js`)).run();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
