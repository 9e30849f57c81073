'use strict';
// Backup, verify and restore of a ~1 GiB SQLite database and a PostgreSQL database of comparable size, through
// the real CLI (`kiroku backup run` / `restore`), with the peak memory of each process; and, on the same SQLite
// file, the reference pipeline `sqlite3 .backup` + `gzip -1` + `age`.
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const { statSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { root, tempDir, testing, rssMiB } = require('../support');

const TARGET_MB = Number(process.env.BENCH_BACKUP_MB ?? 1024);
const MiB = 1 << 20;

/** Runs the built CLI, sampling its RSS every 20 ms; resolves with wall time, peak RSS and output. */
function cli(args, env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [join(root, 'dist/src/cli.js'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let peak = 0;
    let out = '';
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssMiB(child.pid));
      } catch {
        // exited
      }
    }, 20);
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`kiroku ${args.join(' ')} exited ${code}: ${out}`));
      resolve({ seconds, peak, out });
    });
  });
}

/** Text that compresses like notes do (words from a vocabulary, ~3:1 with gzip -1). */
function bodies() {
  const words =
    'the a of to and in is for on with that this deploy restart backup review meeting design search index cluster replica migration session token dashboard latency budget roadmap release incident postmortem checklist runbook kubernetes postgres sqlite nginx customer invoice contract hiring onboarding travel agenda decision summary question answer draft final 会議 東京 設計 障害'.split(
      ' ',
    );
  let s = 7;
  const rnd = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  return Array.from({ length: 512 }, () => Array.from({ length: 1800 }, () => words[Math.floor(rnd() * rnd() * words.length)]).join(' '));
}

async function fillSqlite(file) {
  execFileSync(process.execPath, [join(root, 'dist/src/cli.js'), 'migrate', 'run'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_PATH: file },
    stdio: 'ignore',
  });
  const Database = require('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.prepare(
    "INSERT INTO users (id, email, display_name, password_hash, role, time_zone, created_at, updated_at, password_changed_at) VALUES ('u', 'bench@example.com', 'B', 'x', 'user', 'UTC', 0, 0, 0)",
  ).run();
  const insert = db.prepare("INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at) VALUES (?, 'u', ?, ?, 'private', ?, ?)");
  const texts = bodies();
  let i = 0;
  while (statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) < TARGET_MB * MiB) {
    db.transaction(() => {
      for (let k = 0; k < 2000; k++, i++)
        insert.run(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, `note ${i}`, `${i} ${texts[i % texts.length]}`, i, i);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  db.close();
  return i;
}

async function fillPostgres(url, texts) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url });
  client.on('error', (e) => console.error(`filling PostgreSQL: ${e.message}`));
  await client.connect();
  await client.query(
    "INSERT INTO users (id, email, display_name, password_hash, role, time_zone, created_at, updated_at, password_changed_at) VALUES ('u', 'bench@example.com', 'B', 'x', 'user', 'UTC', 0, 0, 0)",
  );
  let i = 0;
  for (;;) {
    const [{ size }] = (await client.query('SELECT pg_database_size(current_database())::bigint AS size')).rows;
    if (Number(size) >= TARGET_MB * MiB) break;
    const ids = [];
    const titles = [];
    const bodyList = [];
    for (let k = 0; k < 2000; k++, i++) {
      ids.push(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      titles.push(`note ${i}`);
      bodyList.push(`${i} ${texts[i % texts.length]}`);
    }
    await client.query(
      "INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at) SELECT id, 'u', t, b, 'private', 0, 0 FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, t, b)",
      [ids, titles, bodyList],
    );
  }
  await client.query('VACUUM ANALYZE');
  await client.end();
  return i;
}

const mbps = (bytes, seconds) => (bytes / MiB / seconds).toFixed(0);

exports._fillSqlite = fillSqlite;
exports._cli = cli;
exports.run = async () => {
  for (const tool of ['age', 'age-keygen', 'sqlite3', 'gzip']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`the backup benchmark needs ${tool} (apt-get install age sqlite3 gzip)`);
  }
  const dir = tempDir();
  const identityFile = join(dir, 'identity.txt');
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identityFile]).toString().trim();
  const keys = { BACKUP_AGE_RECIPIENTS: recipient, BACKUP_AGE_IDENTITY_FILE: identityFile };

  console.log(`Each row: the CLI as an operator runs it; MB/s over the database's size on disk; peak RSS of the process.\n`);
  console.log('| engine | database | step | seconds | MB/s | peak RSS MiB |');
  console.log('| --- | --- | --- | --- | --- | --- |');

  if (process.env.BENCH_BACKUP_SKIP_SQLITE) return postgres(keys);
  // SQLite
  const file = join(dir, 'kiroku.sqlite');
  const notes = await fillSqlite(file);
  const size = statSync(file).size;
  const label = `${(size / MiB).toFixed(0)} MiB, ${notes.toLocaleString('en')} notes`;
  const env = { DATABASE_PATH: file, BACKUP_DIR: join(dir, 'backups'), ...keys };
  const run = await cli(['backup', 'run'], env);
  const Database = require('better-sqlite3');
  const row = new Database(file, { readonly: true })
    .prepare('SELECT id, started_at, finished_at, verified_at, stored_bytes FROM backup_runs ORDER BY started_at DESC LIMIT 1')
    .get();
  const backupSeconds = (Number(row.finished_at) - Number(row.started_at)) / 1000;
  const verifySeconds = (Number(row.verified_at) - Number(row.finished_at)) / 1000;
  console.log(
    `| SQLite | ${label} | backup (snapshot, gzip -1, age, store) | ${backupSeconds.toFixed(1)} | ${mbps(size, backupSeconds)} | ${run.peak.toFixed(0)} (whole run) |`,
  );
  console.log(`| SQLite | ${label} | verify (decrypt, restore, integrity_check, compare) | ${verifySeconds.toFixed(1)} | ${mbps(size, verifySeconds)} | ″ |`);
  const restore = await cli(['backup', 'restore', row.id, '--to', join(dir, 'restored.sqlite')], env);
  console.log(
    `| SQLite | ${label} | restore (CLI, to a new file) | ${restore.seconds.toFixed(1)} | ${mbps(size, restore.seconds)} | ${restore.peak.toFixed(0)} |`,
  );

  // The reference pipeline on the same file.
  const refStarted = process.hrtime.bigint();
  execFileSync('sqlite3', [file, `.backup ${join(dir, 'ref.sqlite')}`]);
  execFileSync('sh', ['-c', `gzip -1 -c '${join(dir, 'ref.sqlite')}' | age -r ${recipient} > '${join(dir, 'ref.age')}'`]);
  const refSeconds = Number(process.hrtime.bigint() - refStarted) / 1e9;
  console.log(`| SQLite | ${label} | reference: sqlite3 .backup + gzip -1 + age | ${refSeconds.toFixed(1)} | ${mbps(size, refSeconds)} | — |`);
  const share = (refSeconds / backupSeconds) * 100;
  console.log(
    `\nKiroku's backup ran at ${share.toFixed(0)}% of the reference pipeline's throughput (goal: at least 80%); stored ${(row.stored_bytes / MiB).toFixed(0)} MiB, reference ${(statSync(join(dir, 'ref.age')).size / MiB).toFixed(0)} MiB.\n`,
  );
  rmSync(dir, { recursive: true, force: true });
  await postgres(keys);
};

async function postgres(keys) {
  const cluster = await testing.startPostgres();
  try {
    const { Client } = require('pg');
    const url = await cluster.createDatabase('bench_backup');
    const pgDir = tempDir();
    const pgEnv = { DATABASE_URL: url, BACKUP_DIR: join(pgDir, 'backups'), ...keys };
    execFileSync(process.execPath, [join(root, 'dist/src/cli.js'), 'migrate', 'run'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: url },
      stdio: 'ignore',
    });
    const pgNotes = await fillPostgres(url, bodies());
    const client = new Client({ connectionString: url });
    client.on('error', () => undefined); // reported through the query that fails
    await client.connect();
    const pgSize = Number((await client.query('SELECT pg_database_size(current_database())::bigint AS size')).rows[0].size);
    const pgLabel = `${(pgSize / MiB).toFixed(0)} MiB, ${pgNotes.toLocaleString('en')} notes`;
    const pgRun = await cli(['backup', 'run'], pgEnv);
    const [pgRow] = (await client.query('SELECT id, started_at, finished_at, verified_at FROM backup_runs ORDER BY started_at DESC LIMIT 1')).rows;
    await client.end();
    const pgBackup = (Number(pgRow.finished_at) - Number(pgRow.started_at)) / 1000;
    const pgVerify = (Number(pgRow.verified_at) - Number(pgRow.finished_at)) / 1000;
    console.log('| engine | database | step | seconds | MB/s | peak RSS MiB |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    console.log(
      `| PostgreSQL 15 | ${pgLabel} | backup (pg_dump -Fc, age, store) | ${pgBackup.toFixed(1)} | ${mbps(pgSize, pgBackup)} | ${pgRun.peak.toFixed(0)} (whole run) |`,
    );
    console.log(
      `| PostgreSQL 15 | ${pgLabel} | verify (decrypt, pg_restore into a scratch database, compare) | ${pgVerify.toFixed(1)} | ${mbps(pgSize, pgVerify)} | ″ |`,
    );
    const pgRestore = await cli(['backup', 'restore', pgRow.id, '--to', await cluster.createDatabase('bench_restored')], pgEnv);
    console.log(
      `| PostgreSQL 15 | ${pgLabel} | restore (CLI, into an empty database) | ${pgRestore.seconds.toFixed(1)} | ${mbps(pgSize, pgRestore.seconds)} | ${pgRestore.peak.toFixed(0)} |`,
    );
    rmSync(pgDir, { recursive: true, force: true });
  } catch (error) {
    console.error(`PostgreSQL part failed: ${error.message}`);
    throw error;
  } finally {
    await cluster.destroy();
  }
}
