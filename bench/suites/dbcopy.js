'use strict';
// `kiroku db copy` SQLite → PostgreSQL at 100,000 notes (BENCH_COPY_NOTES), then `kiroku export` of the same
// SQLite file and `kiroku import` of that archive into another PostgreSQL database: wall time, rows per
// second and the peak RSS of each CLI process (sampled every 20 ms).
const { randomUUID } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { rmSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { root, tempDir, testing } = require('../support');
const { _cli: cli } = require('./backup');
const { _seed: seed } = require('./notes');

const NOTES = Number(process.env.BENCH_COPY_NOTES ?? 100_000);
const MiB = 1024 * 1024;

exports.run = async () => {
  const dir = tempDir();
  const file = join(dir, 'kiroku.sqlite');
  execFileSync(process.execPath, [join(root, 'dist/src/cli.js'), 'migrate', 'run'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_PATH: file },
    stdio: 'ignore',
  });
  const BetterSqlite3 = require('better-sqlite3');
  const userId = randomUUID();
  const db = new BetterSqlite3(file);
  db.prepare(
    "INSERT INTO users (id, email, display_name, password_hash, role, time_zone, created_at, updated_at, password_changed_at) VALUES (?, 'bench@example.com', 'Bench', 'x', 'user', 'UTC', 0, 0, 0)",
  ).run(userId);
  db.close();
  // The notes suite's seeding: notes of 40–160 words (30% with Japanese), two tags each, search entries.
  const seeded = await seed({ DATABASE_PATH: file }, userId, NOTES);
  console.log(
    `${NOTES.toLocaleString('en')} notes seeded into SQLite in ${seeded.seconds.toFixed(0)} s; file ${(statSync(file).size / MiB).toFixed(0)} MiB.\n`,
  );

  const cluster = await testing.startPostgres();
  try {
    console.log('| step | rows | seconds | rows/s | peak RSS MiB |');
    console.log('| --- | --- | --- | --- | --- |');
    const copy = await cli(['db', 'copy', '--from', file, '--to', await cluster.createDatabase('bench_copy')], {});
    const [, rows, indexed] = /Copy verified: (\d+) rows in \d+ tables match; search index rebuilt for (\d+) notes/.exec(copy.out) ?? [];
    if (!rows) throw new Error(`unexpected db copy output:\n${copy.out}`);
    console.log(
      `| db copy SQLite → PostgreSQL (copy, search index of ${Number(indexed).toLocaleString('en')} notes, verify) | ${Number(rows).toLocaleString('en')} | ${copy.seconds.toFixed(1)} | ${Math.round(rows / copy.seconds).toLocaleString('en')} | ${copy.peak.toFixed(0)} |`,
    );

    const archive = join(dir, 'kiroku.zip');
    const exported = await cli(['export', '--out', archive], { DATABASE_PATH: file });
    console.log(
      `| export SQLite → archive (${(statSync(archive).size / MiB).toFixed(0)} MiB zip) | ${Number(rows).toLocaleString('en')} | ${exported.seconds.toFixed(1)} | ${Math.round(rows / exported.seconds).toLocaleString('en')} | ${exported.peak.toFixed(0)} |`,
    );
    const imported = await cli(['import', archive], { DATABASE_URL: await cluster.createDatabase('bench_import') });
    console.log(
      `| import archive → PostgreSQL (one transaction, search index) | ${Number(rows).toLocaleString('en')} | ${imported.seconds.toFixed(1)} | ${Math.round(rows / imported.seconds).toLocaleString('en')} | ${imported.peak.toFixed(0)} |`,
    );
  } finally {
    await cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
};
