'use strict';
// SQLite commits under a steady stream of writes: checkpoints by the committing connection (SQLite's default,
// every 1,000 WAL pages) against the application's checkpoint thread (SqliteCheckpointer). Writes as the
// application does (beginImmediate: a write that finds the lock taken waits on a timer) and prints two figures:
// how long each write held the writing thread (the event loop in the application: every request waits that
// long), and how long each write took from its BEGIN to its COMMIT, waits included. And the WAL file's largest
// size.
//   CHECKPOINT_SECONDS seconds per mode (10); CHECKPOINT_BODY bytes per row (6,000: about a page and a half)
const { statSync } = require('node:fs');
const { join } = require('node:path');
const BetterSqlite3 = require('better-sqlite3');
const { root, tempDir } = require('../support');

const SECONDS = Number(process.env.CHECKPOINT_SECONDS ?? 10);
const BODY = 'x'.repeat(Number(process.env.CHECKPOINT_BODY ?? 6000));

async function measure(mode) {
  const { SqliteCheckpointer, SQLITE_DEFAULT_AUTOCHECKPOINT, WAL_SIZE_LIMIT_BYTES, beginImmediate } = require(join(root, 'dist/libs/persistence/src/index.js'));
  const file = join(tempDir(), 'checkpoint.sqlite');
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`); // as the application's connection
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
  const held = [];
  const took = [];
  let walMax = 0;
  const started = Date.now();
  const end = started + SECONDS * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    await beginImmediate(db, 5000);
    const t1 = performance.now();
    insert.run(Math.random().toString(36).slice(2), BODY);
    db.exec('COMMIT');
    const t2 = performance.now();
    held.push(t2 - t1);
    took.push(t2 - t0);
    if (took.length % 100 === 0) walMax = Math.max(walMax, statSync(`${file}-wal`).size);
    await new Promise((resolve) => setTimeout(resolve, 1)); // an event loop with other work to do
  }
  const seconds = (Date.now() - started) / 1000;
  const restarts = thread?.stats.restarts ?? 0;
  await thread?.close();
  db.close();
  const figures = (times) => {
    const sorted = [...times].sort((a, b) => a - b);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))].toFixed(2);
    return { p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted.at(-1).toFixed(1) };
  };
  const total = held.reduce((a, b) => a + b, 0);
  const stalled = held.filter((ms) => ms > 5).reduce((a, b) => a + b, 0);
  return { mode, rate: took.length / seconds, held: figures(held), took: figures(took), stalledShare: (stalled / total) * 100, walMax, restarts, warnings };
}

exports.run = async () => {
  console.log(`${SECONDS} s of single-row write transactions per mode (${BODY.length} bytes each, 1 ms apart), synchronous = NORMAL\n`);
  console.log(
    '| checkpoints by | writes/s | loop held p50 ms | p99 | p99.9 | max | time holding the loop in writes over 5 ms | write took p99 ms | p99.9 | max | largest WAL file | WAL restarts by the thread |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const mode of ['connection', 'thread']) {
    const r = await measure(mode);
    const label = mode === 'thread' ? 'the checkpoint thread (backstop on the connection)' : 'the committing connection (SQLite default)';
    const { held: h, took: t } = r;
    console.log(
      `| ${label} | ${r.rate.toFixed(0)} | ${h.p50} | ${h.p99} | ${h.p999} | ${h.max} | ${r.stalledShare.toFixed(0)}% | ${t.p99} | ${t.p999} | ${t.max} | ${(r.walMax / 2 ** 20).toFixed(1)} MiB | ${mode === 'thread' ? r.restarts : '—'} |`,
    );
    if (r.warnings.length) console.log(`warnings: ${r.warnings.join('; ')}`);
  }
};
