import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { BackupConfig, DatabaseConfig } from '@kiroku/config';
import { Database, Engine } from '@kiroku/persistence';
import { restoreInto } from './restore';
import { pgToolMajor, postgresSnapshot, Snapshot, SnapshotFacts, sqliteSnapshot } from './snapshot';

/**
 * The temporary folder of a backup of this database (SQLite's snapshot, as
 * large as the database, waits there to be compressed and encrypted). Named
 * after the database, so that another Kiroku on the same machine never counts
 * as this one's.
 */
export function backupScratchPrefix(database: DatabaseConfig): string {
  const id = database.engine === 'sqlite' ? resolvePath(database.path) : postgresIdentity(database.url ?? '');
  return `kiroku-backup-${createHash('sha256').update(id).digest('hex').slice(0, 12)}-`;
}

/** Server and database of a PostgreSQL URL, without user or password (pg also takes URLs that URL cannot parse, e.g. a socket in `?host=`). */
function postgresIdentity(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}${parsed.searchParams.get('host') ?? ''}`;
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

/** A Kiroku backup, restore or import scratch folder untouched this long belongs to a process that was killed. */
const ABANDONED_SCRATCH_MS = 24 * 3_600_000;

/**
 * Removes what killed processes left in the temp folder. Runs with the backup
 * lock held: no other backup of this database is running, so every folder
 * with its prefix is stale. Any Kiroku's backup, restore or import folder
 * untouched for a day goes too (a restore's or an encrypted import's holds a
 * decrypted copy of a database); file
 * times are the operating system's, so they are compared with its clock.
 */
async function removeStaleScratch(prefix: string): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    const path = join(tmpdir(), name);
    if (name.startsWith(prefix)) {
      await rm(path, { recursive: true, force: true });
    } else if (/^kiroku-(backup|restore|import)-/.test(name)) {
      const info = await stat(path).catch(() => null);
      if (info?.isDirectory() && Date.now() - info.mtimeMs > ABANDONED_SCRATCH_MS) await rm(path, { recursive: true, force: true });
    }
  }
}

/**
 * The database a backup is made of, as BackupService needs it: its engine and
 * server version, the client tools it takes, a scratch folder, a consistent
 * snapshot, and the test restore of a stored backup. The database, the
 * filesystem and child processes are reached from backups through here only.
 */
@Injectable()
export class BackupSource {
  constructor(
    private readonly db: Database,
    private readonly database: DatabaseConfig,
    private readonly config: BackupConfig,
  ) {}

  get engine(): Engine {
    return this.db.engine;
  }

  serverVersion(): Promise<string> {
    return this.db.serverVersion();
  }

  /** Throws why no snapshot can be made here: on PostgreSQL, a pg_dump missing or older than the server. */
  async checkTools(): Promise<void> {
    if (this.db.engine !== 'postgres') return;
    const [{ server_version_num: num }] = await this.db.dataSource.query<Array<{ server_version_num: string }>>('SHOW server_version_num');
    const server = Math.floor(Number(num) / 10_000);
    const local = await pgToolMajor('pg_dump');
    if (local < server) throw new Error(`pg_dump ${local} is older than the PostgreSQL ${server} server: install the version ${server} client`);
  }

  /** A new scratch folder for a backup, after removing what killed backups left; only with the backup lock held. */
  async scratch(): Promise<string> {
    const prefix = backupScratchPrefix(this.database);
    await removeStaleScratch(prefix);
    return mkdtemp(join(tmpdir(), prefix));
  }

  async removeScratch(scratch: string): Promise<void> {
    await rm(scratch, { recursive: true, force: true });
  }

  /** A consistent snapshot of the database: SQLite's file copied into `scratch`, or pg_dump's output. */
  async snapshot(scratch: string): Promise<Snapshot> {
    if (this.db.engine === 'sqlite') return sqliteSnapshot(resolvePath(this.database.path), join(scratch, 'snapshot.sqlite'));
    await this.checkTools();
    return postgresSnapshot(this.db, this.database);
  }

  /** Decrypts a stored backup of `engine` and restores it into a scratch database, removed afterwards: what it held. */
  testRestore(engine: string, encrypted: Readable): Promise<{ restored: SnapshotFacts; plainSha256: string }> {
    return restoreInto(this.config, this.database, engine, encrypted, { scratchDb: true });
  }
}
