'use strict';
// The differential search test (test/search-differential.int-spec.ts) at length: SQLite and PostgreSQL must find
// the same notes for every generated corpus and query. CI runs 100 cases of a fixed seed; this runs
// SEARCH_DIFF_RUNS (2,000) cases of a new seed, printed so that a failure can be run again with SEARCH_DIFF_SEED.
const { spawnSync } = require('node:child_process');
const { root } = require('../support');

exports.run = async () => {
  const seed = process.env.SEARCH_DIFF_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
  const runs = process.env.SEARCH_DIFF_RUNS ?? '2000';
  console.log(`seed ${seed}, ${runs} cases (SEARCH_DIFF_SEED=${seed} SEARCH_DIFF_RUNS=${runs} to run them again)`);
  const started = Date.now();
  const jest = spawnSync('npx', ['jest', 'test/search-differential.int-spec.ts', '-t', 'generated'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, SEARCH_DIFF_SEED: seed, SEARCH_DIFF_RUNS: runs },
  });
  console.log(`${jest.status === 0 ? 'same answers' : 'DIFFERENT answers (see above)'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (jest.status !== 0) process.exitCode = 1;
};
