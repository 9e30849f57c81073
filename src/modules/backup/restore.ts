import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BackupConfig, DatabaseConfig } from '@kiroku/config';
import { SqliteFileLock } from '@kiroku/supervisor';
import type * as Pg from 'pg';
import { decrypt, Measure, RequireAgeHeader, StorageDestination, storageDestination } from '../storage';
import { compareFacts, Manifest, MANIFEST_SUFFIX } from './manifest';
import { inspectSqliteFile, postgresFacts, SnapshotFacts, spawnPgTool } from './snapshot';

/** Refusals the CLI prints as its one-line reason. */
export class RestoreRefused extends Error {}

/** Every manifest in the destination, newest first: the backups, known without the database. */
export async function readManifests(destination: StorageDestination): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const object of await destination.list('backups/')) {
    if (!object.key.endsWith(MANIFEST_SUFFIX)) continue;
    const chunks: Buffer[] = [];
    for await (const c of await destination.get(object.key)) chunks.push(Buffer.from(c as Buffer));
    try {
      const manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Manifest;
      if (manifest.format === 'kiroku-backup/1') out.push(manifest);
    } catch {
      // not one of ours, or damaged: not listed, never deleted
    }
  }
  return out.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
}

/**
 * Restores backup `id` (or a unique prefix) from the destination into a new
 * SQLite file or an empty PostgreSQL database, without needing the database
 * the backup came from. A non-empty target is refused unless `force`.
 */
export async function restoreBackup(
  config: BackupConfig,
  database: DatabaseConfig,
  id: string,
  target: string,
  force: boolean,
): Promise<{ manifest: Manifest; restored: SnapshotFacts }> {
  const destination = storageDestination(config);
  const matches = (await readManifests(destination)).filter((m) => m.id === id || (id.length >= 8 && m.id.startsWith(id)));
  if (matches.length === 0) throw new RestoreRefused(`no backup ${id} in ${destination.description}`);
  if (matches.length > 1) throw new RestoreRefused(`${id} names ${matches.length} backups: give more of the id`);
  const [manifest] = matches;
  const toPostgres = /^postgres(ql)?:\/\//.test(target);
  if (manifest.engine === 'postgres' && !toPostgres)
    throw new RestoreRefused('this is a PostgreSQL backup: --to must be a postgres:// URL (kiroku db copy moves data between engines)');
  if (manifest.engine === 'sqlite' && toPostgres)
    throw new RestoreRefused('this is a SQLite backup: --to must be a file path (kiroku db copy moves data between engines)');
  const encrypted = () => destination.get(manifest.object).then((s) => s.pipe(new RequireAgeHeader()));

  let restored: SnapshotFacts;
  if (toPostgres) {
    const tables = (await withClient(target, (q) => q("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"))) as Array<{
      n: string;
    }>;
    if (Number(tables[0].n) > 0) {
      if (!force)
        throw new RestoreRefused('the target database is not empty: restore into an empty database, or add --force to replace everything in its public schema');
      await withClient(target, async (q) => {
        await q('DROP SCHEMA public CASCADE');
        await q('CREATE SCHEMA public');
      });
    }
    restored = (await restoreInto(config, database, 'postgres', await encrypted(), { target })).restored;
  } else {
    const file = resolve(target);
    if (existsSync(file) && !force)
      throw new RestoreRefused(`${file} exists: restore into a new file, or add --force to replace it (stop the server using it first)`);
    // A server holds this lock while it serves the file; replacing the file under it would leave it writing to the
    // old one, and the restore lost at its next start. Held until the new file is in place.
    const lock = new SqliteFileLock(file);
    if (!lock.tryAcquire()) throw new RestoreRefused(`a Kiroku server is using ${file}: stop it first`);
    // Restored beside the target and renamed over it only once whole and checked.
    const partial = join(dirname(file), `.restoring-${randomBytes(6).toString('hex')}.sqlite`);
    try {
      restored = (await restoreInto(config, database, 'sqlite', await encrypted(), { target: partial })).restored;
      compareFacts(restored, manifest);
      for (const suffix of ['-wal', '-shm']) await rm(`${file}${suffix}`, { force: true });
      await rename(partial, file);
    } finally {
      lock.release();
      await rm(partial, { force: true });
    }
  }
  compareFacts(restored, manifest);
  return { manifest, restored };
}

/**
 * Decrypts a backup stream and restores it: into `target` (a SQLite file path
 * or a PostgreSQL URL), or with scratchDb into a scratch database that is
 * removed afterwards. Returns what the restored copy holds.
 */
export async function restoreInto(
  config: BackupConfig,
  database: DatabaseConfig,
  engine: string,
  encrypted: Readable,
  where: { scratchDb: true } | { target: string },
): Promise<{ restored: SnapshotFacts; plainSha256: string }> {
  const plain = new Measure();
  const decrypted = await decrypt(config, encrypted);
  const scratch = await mkdtemp(join(tmpdir(), 'kiroku-restore-'));
  try {
    if (engine === 'sqlite') {
      const file = 'target' in where ? where.target : join(scratch, 'restored.sqlite');
      await pipeline(decrypted, createGunzip(), plain, createWriteStream(file, { flags: 'wx' }));
      return { restored: inspectSqliteFile(file), plainSha256: plain.sha256 };
    }
    const dumpFile = join(scratch, 'backup.pgdump');
    await pipeline(decrypted, plain, createWriteStream(dumpFile, { flags: 'wx' }));
    if ('target' in where) return { restored: await pgRestore(where.target, dumpFile), plainSha256: plain.sha256 };
    if (!database.url) throw new Error('a PostgreSQL backup can only be test-restored with DATABASE_URL set');
    return { restored: await withScratchPostgres(database.url, (url) => pgRestore(url, dumpFile)), plainSha256: plain.sha256 };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function pgRestore(url: string, dumpFile: string): Promise<SnapshotFacts> {
  const { createReadStream } = await import('node:fs');
  const tool = spawnPgTool('pg_restore', url, ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction'], createReadStream(dumpFile));
  tool.stdout.resume();
  await tool.exited;
  return withClient(url, (query) => postgresFacts(query));
}

/** A new, empty database beside `url`'s, dropped afterwards (needs CREATEDB). */
async function withScratchPostgres<T>(url: string, fn: (scratchUrl: string) => Promise<T>): Promise<T> {
  const name = `kiroku_verify_${randomBytes(6).toString('hex')}`;
  await withClient(url, (query) => query(`CREATE DATABASE ${name}`));
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  try {
    return await fn(scratch.toString());
  } finally {
    await withClient(url, (query) => query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined);
  }
}

export async function withClient<T>(url: string, fn: (query: (sql: string) => Promise<unknown[]>) => Promise<T>): Promise<T> {
  // pg is loaded by the first restore onto PostgreSQL, not at every start-up of the server (~45 ms).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  const { Client } = require('pg') as typeof Pg;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn((sql) => client.query<Record<string, unknown>>(sql).then((r) => r.rows));
  } finally {
    await client.end();
  }
}
