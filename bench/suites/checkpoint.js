'use strict';
// SQLite commits under a steady stream of writes: checkpoints by the committing connection (SQLite's default,
// every 1,000 WAL pages) against the application's checkpoint thread (SqliteCheckpointer). Prints commit
// latency on the writing thread, which is the event loop in the application, and the WAL file's largest size.
//   CHECKPOINT_SECONDS seconds per mode (10); CHECKPOINT_BODY bytes per row (6,000: about a page and a half)
const { statSync } = require('node:fs');
const { join } = require('node:path');
const BetterSqlite3 = require('better-sqlite3');
const { root, tempDir } = require('../support');

const SECONDS = Number(process.env.CHECKPOINT_SECONDS ?? 10);
const BODY = 'x'.repeat(Number(process.env.CHECKPOINT_BODY ?? 6000));

async function measure(mode) {
  const { SqliteCheckpointer, SQLITE_DEFAULT_AUTOCHECKPOINT } = require(join(root, 'dist/libs/persistence/src/index.js'));
  const file = join(tempDir(), 'checkpoint.sqlite');
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('journal_size_limit = 16777216'); // as the application's connection
  db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
  // A random key in an index: each commit touches pages all over the file, as note ids do.
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, body TEXT NOT NULL); CREATE INDEX t_k ON t (k)');
  const warnings = [];
  const thread =
    mode === 'thread'
      ? new SqliteCheckpointer(
          file,
          5000,
          (pages) => db.open && db.pragma(`wal_autocheckpoint = ${pages}`),
          (m) => warnings.push(m),
        )
      : null;
  thread?.start();
  const insert = db.prepare('INSERT INTO t (k, body) VALUES (?, ?)');
  const commits = [];
  let walMax = 0;
  const started = Date.now();
  const end = started + SECONDS * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    db.transaction(() => insert.run(Math.random().toString(36).slice(2), BODY))();
    commits.push(performance.now() - t0);
    if (commits.length % 100 === 0) walMax = Math.max(walMax, statSync(`${file}-wal`).size);
    await new Promise((resolve) => setTimeout(resolve, 1)); // an event loop with other work to do
  }
  const seconds = (Date.now() - started) / 1000;
  await thread?.close();
  db.close();
  commits.sort((a, b) => a - b);
  const at = (p) => commits[Math.min(commits.length - 1, Math.floor(commits.length * p))].toFixed(2);
  const total = commits.reduce((a, b) => a + b, 0);
  const stalled = commits.filter((ms) => ms > 5).reduce((a, b) => a + b, 0);
  return {
    mode,
    rate: commits.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: commits.at(-1).toFixed(1),
    stalledShare: (stalled / total) * 100,
    walMax,
    warnings,
  };
}

exports.run = async () => {
  console.log(`${SECONDS} s of single-row write transactions per mode (${BODY.length} bytes each, 1 ms apart), synchronous = NORMAL\n`);
  console.log('| checkpoints by | commits/s | commit p50 ms | p99 ms | p99.9 ms | max ms | time in commits over 5 ms | largest WAL file |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const mode of ['connection', 'thread']) {
    const r = await measure(mode);
    const label = mode === 'thread' ? 'the checkpoint thread (backstop on the connection)' : 'the committing connection (SQLite default)';
    console.log(
      `| ${label} | ${r.rate.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.p999} | ${r.max} | ${r.stalledShare.toFixed(0)}% | ${(r.walMax / 2 ** 20).toFixed(1)} MiB |`,
    );
    if (r.warnings.length) console.log(`warnings: ${r.warnings.join('; ')}`);
  }
};
