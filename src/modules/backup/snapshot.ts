import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { PassThrough, Readable } from 'node:stream';
import { DatabaseConfig } from '@kiroku/config';
import { Database, MIGRATIONS_TABLE } from '@kiroku/persistence';
import BetterSqlite3 from 'better-sqlite3';
import { STREAM_CHUNK } from '../storage';

/** What a snapshot holds, checked against the restored copy by verify and restore. */
export interface SnapshotFacts {
  /** Rows per table at the snapshot. */
  rowCounts: Record<string, number>;
  /** The newest applied migration. */
  schemaVersion: string;
}

export interface Snapshot extends SnapshotFacts {
  /** The plaintext: a SQLite database file, or a pg_dump custom-format archive. */
  stream: Readable;
  /** Resolves once the producer finished cleanly; rejects when it failed (after the stream ended or errored). */
  done: Promise<void>;
}

/**
 * SQLite: the online backup API, run in a worker thread on a connection of its
 * own, copies the live database into `scratchFile` while the application keeps
 * writing. After a first short step the rest is copied in one step, inside one
 * read transaction of the WAL: a consistent snapshot that writes from other
 * connections cannot restart, and the application's thread and page cache are
 * left alone.
 */
export async function sqliteSnapshot(sourceFile: string, scratchFile: string): Promise<Snapshot> {
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(SNAPSHOT_WORKER, { eval: true, workerData: { module: require.resolve('better-sqlite3'), sourceFile, scratchFile } });
    worker.once('message', (m: { error?: string }) => (m.error ? reject(new Error(`SQLite snapshot failed: ${m.error}`)) : resolve()));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`SQLite snapshot worker exited ${code}`))));
  });
  const facts = inspectSqliteFile(scratchFile);
  return { ...facts, stream: createReadStream(scratchFile, { highWaterMark: STREAM_CHUNK }), done: Promise.resolve() };
}

const SNAPSHOT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const source = new Database(workerData.sourceFile, { readonly: true, fileMustExist: true });
source.pragma('busy_timeout = 10000');
source.backup(workerData.scratchFile, { progress: () => 2147483647 })
  .then(() => parentPort.postMessage({}), (error) => parentPort.postMessage({ error: error.message }))
  .finally(() => source.close());
`;

/** Opens a SQLite file read-only: integrity_check, rows per table, schema version. Throws when the file is damaged. */
export function inspectSqliteFile(file: string): SnapshotFacts {
  const copy = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const check = copy.pragma('integrity_check') as Array<{ integrity_check: string }>;
    if (check.length !== 1 || check[0].integrity_check !== 'ok')
      throw new Error(
        `integrity_check failed: ${check
          .slice(0, 3)
          .map((r) => r.integrity_check)
          .join('; ')}`,
      );
    const tables = (
      copy
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
        .all() as Array<{ name: string }>
    ).map((t) => t.name);
    const rowCounts: Record<string, number> = {};
    for (const t of tables) rowCounts[t] = (copy.prepare(`SELECT count(*) AS n FROM "${t.replace(/"/g, '""')}"`).get() as { n: number }).n;
    const newest = copy.prepare(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY timestamp DESC, id DESC LIMIT 1`).get() as { name: string } | undefined;
    return { rowCounts, schemaVersion: newest?.name ?? 'none' };
  } finally {
    copy.close();
  }
}

/**
 * PostgreSQL: pg_dump in custom format, run on a snapshot exported from a
 * repeatable-read transaction in which the rows are counted, so the counts
 * describe exactly what the dump holds.
 */
export async function postgresSnapshot(db: Database, config: DatabaseConfig): Promise<Snapshot> {
  const pool = (db.dataSource.driver as unknown as { master: { connect(): Promise<PgClient> } }).master;
  const client = await pool.connect();
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    await client.query('COMMIT').catch(() => undefined);
    client.release();
  };
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const [{ snapshot }] = (await client.query('SELECT pg_export_snapshot() AS snapshot')).rows as Array<{ snapshot: string }>;
    const facts = await postgresFacts((sql) => client.query(sql).then((r) => r.rows));
    const dump = spawnPgTool('pg_dump', config.url!, ['--format=custom', '--compress=6', '--no-owner', '--no-privileges', `--snapshot=${snapshot}`]);
    // The stream ends only once pg_dump has exited 0: a dump that dies midway must not end like a complete one.
    const stream = new PassThrough({ highWaterMark: STREAM_CHUNK });
    dump.stdout.pipe(stream, { end: false });
    // A consumer that gave up (full disk, unreachable destination) must not leave pg_dump blocked on a full pipe,
    // holding its snapshot and our connection.
    stream.once('close', () => {
      if (dump.child.exitCode === null && dump.child.signalCode === null) dump.child.kill('SIGTERM');
    });
    const done = dump.exited.finally(finish);
    done.then(
      () => stream.end(),
      (error: Error) => stream.destroy(error),
    );
    return { ...facts, stream, done };
  } catch (error) {
    await finish();
    throw error;
  }
}

interface PgClient {
  query(sql: string): Promise<{ rows: unknown[] }>;
  release(): void;
}

/** Rows per table of the public schema and the newest migration, through `query`. */
export async function postgresFacts(query: (sql: string) => Promise<unknown[]>): Promise<SnapshotFacts> {
  const tables = (await query(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
  )) as Array<{ name: string }>;
  const rowCounts: Record<string, number> = {};
  for (const t of tables) rowCounts[t.name] = Number(((await query(`SELECT count(*) AS n FROM "${t.name.replace(/"/g, '""')}"`)) as Array<{ n: string }>)[0].n);
  const newest = tables.some((t) => t.name === MIGRATIONS_TABLE)
    ? ((await query(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY timestamp DESC, id DESC LIMIT 1`)) as Array<{ name: string }>)[0]
    : undefined;
  return { rowCounts, schemaVersion: newest?.name ?? 'none' };
}

/**
 * Runs pg_dump or pg_restore against a database URL. The password travels in
 * PGPASSWORD, never on the command line where `ps` would show it.
 */
export function spawnPgTool(tool: 'pg_dump' | 'pg_restore', url: string, args: string[], stdin?: Readable) {
  const target = new URL(url);
  const password = decodeURIComponent(target.password);
  target.password = '';
  const child = spawn(tool, [...args, `--dbname=${target.toString()}`], {
    env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}), PGCONNECT_TIMEOUT: '10' },
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (stdin) stdin.pipe(child.stdin!);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'ENOENT' ? `${tool} is not installed (install the PostgreSQL client of the server's major version)` : `${tool}: ${error.message}`,
        ),
      ),
    );
    // 'close' comes after the output streams are drained, so a caller sees every byte before the verdict.
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const reason = stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${code ?? signal}`;
      reject(new Error(`${tool} failed: ${reason.replace(/postgres(ql)?:\/\/[^\s]*/g, '<database url>')}`));
    });
  });
  return { child, stdout: child.stdout!, exited };
}

/** The major version of a PostgreSQL client tool on PATH (pg_dump --version), or an error that says what is missing. */
export async function pgToolMajor(tool: 'pg_dump' | 'pg_restore'): Promise<number> {
  const child = spawn(tool, ['--version'], { env: process.env, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code === 'ENOENT' ? `${tool} is not installed` : error.message)));
    child.once('exit', () => resolve());
  });
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(out);
  if (!match) throw new Error(`cannot read the version of ${tool}: ${out.trim() || 'no output'}`);
  return Number(match[1]);
}
