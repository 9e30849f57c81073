#!/usr/bin/env node
'use strict';
// The `kiroku` command: runs the compiled CLI (npm run build, or npm start, compiles it).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'src', 'cli.js');
if (!existsSync(entry)) {
  process.stderr.write('kiroku: not built yet: run `npm run build` first\n');
  process.exit(1);
}
require(entry)
  .runCli(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
