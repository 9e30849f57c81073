import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { pipeline as pipelineCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { BackupConfig, DatabaseConfig, APP_VERSION } from '@kiroku/config';
import { Database, INSTANCE_ID, LeaseService } from '@kiroku/persistence';
import { Client } from 'pg';
import { FindOptionsWhere, IsNull, Not } from 'typeorm';
import { canDecrypt, decrypt, encryptionKey, Measure, RequireAgeHeader, STORAGE_DESTINATION, StorageDestination } from '../storage';
import { BackupRun } from './backup-run.entity';
import { retentionDecision } from './retention';
import { inspectSqliteFile, pgToolMajor, postgresFacts, postgresSnapshot, Snapshot, SnapshotFacts, spawnPgTool, sqliteSnapshot } from './snapshot';

/**
 * One backup at a time across every replica and the CLI: a lease renewed while
 * the run lasts. A holder killed midway loses it after LOCK_MS.
 */
const LOCK = { task: 'backup-exclusive', slot: 'run' };
const LOCK_MS = 2 * 60_000;
const LOST_LOCK = 'the backup lock was lost (its renewals failed until the lease ran out, or another instance took it over), so the run stopped: two backups must never overlap';

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

/** Another backup holds the lock: not a failed run, nothing is recorded. */
export class BackupBusy extends Error {
  constructor() {
    super('another backup is running (on this or another instance); try again when it has finished');
  }
}

/** What is written beside each backup as `<object>.manifest.json`: enough to list, check and restore it without the database. */
export interface Manifest {
  format: 'kiroku-backup/1';
  id: string;
  object: string;
  startedAt: string;
  finishedAt: string;
  appVersion: string;
  engine: string;
  serverVersion: string;
  schemaVersion: string;
  /** gzip (a SQLite database file, gzip-compressed) or pg_dump-custom */
  content: 'sqlite+gzip' | 'pg_dump-custom';
  encryption: string;
  keyFingerprint: string;
  plainBytes: number;
  plainSha256: string;
  storedBytes: number;
  storedSha256: string;
  rowCounts: Record<string, number>;
}

export const MANIFEST_SUFFIX = '.manifest.json';

export interface BackupStatusFigures {
  lastSuccessAt: Date | null;
  lastVerifiedAt: Date | null;
  /** Snapshot to stored, of the newest successful run. */
  lastDurationMs: number | null;
  lastStoredBytes: number | null;
  /** The newest finished run failed. */
  lastRunFailed: boolean;
  /** Why the newest finished run failed, when it did. */
  lastError: string | null;
  /** Failed runs in the catalog. */
  failures: number;
}

/**
 * Backups: snapshot, compress, encrypt to age, store atomically, catalog,
 * verify, prune. Runs are serialised by the scheduler's lease (one replica per
 * slot); a manual run takes the same path.
 */
@Injectable()
export class BackupService {
  private readonly logger = new Logger('Backups');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: BackupConfig,
    private readonly database: DatabaseConfig,
    @Inject(STORAGE_DESTINATION) readonly destination: StorageDestination,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
    private readonly leases: LeaseService,
  ) {}

  /**
   * Makes a backup; the returned row says whether it succeeded (a failed run is
   * recorded, not thrown). Throws BackupBusy while another backup runs.
   */
  async run(trigger: 'schedule' | 'manual', slot: string | null = null): Promise<BackupRun> {
    const lock = await this.leases.claim(LOCK.task, LOCK.slot, LOCK_MS);
    if (!lock) throw new BackupBusy();
    // The lock is checked before the run records success and before it prunes: a run whose renewals failed
    // until the lease ran out (or that was taken over) may be overlapping another backup, so it stops there.
    let lost = false;
    const renewal = setInterval(() => void this.leases.renew(lock, LOCK_MS).then((ok) => (lost ||= !ok), () => undefined), LOCK_MS / 3);
    const held = () => !lost && this.clock.nowMs() < lock.expiresAt.getTime();
    try {
      await this.reapInterrupted();
      return await this.runLocked(trigger, slot, held);
    } finally {
      clearInterval(renewal);
      await this.leases.release(lock).catch(() => undefined);
    }
  }

  /** A killed run's catalog row still says running; with the lock held, it is nobody's. (Its partial object goes at the start of the run.) */
  private async reapInterrupted(): Promise<void> {
    const stale = await this.db.manager.find(BackupRun, { where: { status: 'running' } });
    for (const row of stale) {
      Object.assign(row, { status: 'failed', finishedAt: this.clock.now(), error: 'interrupted: the process running it stopped before it finished' });
      await this.save(row);
    }
  }

  private async runLocked(trigger: 'schedule' | 'manual', slot: string | null, held: () => boolean): Promise<BackupRun> {
    const startedAt = this.clock.now();
    const id = randomUUID();
    let key: ReturnType<typeof encryptionKey> | undefined;
    let keyError: Error | undefined;
    try {
      key = encryptionKey(this.config);
    } catch (error) {
      keyError = error as Error;
    }
    const row: BackupRun = {
      id, trigger, slot, status: 'running', startedAt, finishedAt: null, error: null, instanceId: this.instanceId,
      destination: this.destination.kind, objectKey: null, engine: this.db.engine, serverVersion: await this.db.serverVersion(),
      schemaVersion: 'unknown', encryption: key?.kind ?? 'none', keyFingerprint: key?.fingerprint ?? 'none',
      plainBytes: null, plainSha256: null, storedBytes: null, storedSha256: null, rowCounts: null,
      verifiedAt: null, verifyStatus: null, verifyMode: null, verifyError: null, prunedAt: null,
    };
    await this.db.transaction((m) => m.insert(BackupRun, row));
    let scratch: string | undefined;
    let stored: string | undefined;
    try {
      if (keyError) throw keyError;
      const prefix = backupScratchPrefix(this.database);
      await removeStaleScratch(prefix);
      scratch = await mkdtemp(join(tmpdir(), prefix));
      // Inside the recorded run: a destination that cannot even be cleaned fails this run visibly.
      const removed = await this.destination.cleanup('backups/');
      if (removed) this.logger.warn(`removed ${removed} partial backup object(s) left by an interrupted run`);
      const snapshot = this.db.engine === 'sqlite' ? await sqliteSnapshot(resolvePath(this.database.path), join(scratch, 'snapshot.sqlite')) : await this.postgresSnapshot();
      const objectKey = `backups/kiroku-${this.db.engine}-${stamp(startedAt)}-${id.slice(0, 8)}.${this.db.engine === 'sqlite' ? 'sqlite.gz' : 'pgdump'}.age`;
      const plain = new Measure();
      const storedMeasure = new Measure();
      const source = this.db.engine === 'sqlite' ? chain(snapshot.stream, plain, createGzip({ level: 1 })) : chain(snapshot.stream, plain);
      const encrypted = await key!.encrypt(source);
      const storedBytes = await this.destination.put(objectKey, chain(encrypted, new RequireAgeHeader(), storedMeasure));
      stored = objectKey;
      await snapshot.done;
      if (!held()) throw new Error(`${LOST_LOCK}: its object was removed`);
      const finishedAt = this.clock.now();
      const manifest: Manifest = {
        format: 'kiroku-backup/1', id, object: objectKey, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), appVersion: APP_VERSION,
        engine: row.engine, serverVersion: row.serverVersion, schemaVersion: snapshot.schemaVersion, content: this.db.engine === 'sqlite' ? 'sqlite+gzip' : 'pg_dump-custom',
        encryption: key!.kind, keyFingerprint: key!.fingerprint, plainBytes: plain.bytes, plainSha256: plain.sha256,
        storedBytes, storedSha256: storedMeasure.sha256, rowCounts: snapshot.rowCounts,
      };
      await this.destination.put(`${objectKey}${MANIFEST_SUFFIX}`, Readable.from([Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]));
      Object.assign(row, {
        status: 'succeeded', finishedAt, objectKey, schemaVersion: snapshot.schemaVersion, plainBytes: plain.bytes, plainSha256: plain.sha256,
        storedBytes, storedSha256: storedMeasure.sha256, rowCounts: JSON.stringify(snapshot.rowCounts),
      });
      await this.save(row);
      this.logger.log(`backup ${id} stored as ${objectKey} (${storedBytes} bytes) in ${this.destination.description}`);
    } catch (error) {
      // Whatever was stored of a run that did not finish is removed: only complete, catalogued backups exist.
      if (stored) await this.destination.delete(stored).catch(() => undefined);
      Object.assign(row, { status: 'failed', finishedAt: this.clock.now(), error: oneLine(error), objectKey: null });
      await this.save(row);
      this.logger.error(`backup ${id} failed: ${row.error}`);
      return row;
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
    // The backup is complete and catalogued. Without the lock it is neither test-restored nor followed by pruning.
    if (held()) await this.verify(row.id);
    if (held()) await this.prune();
    else this.logger.error(`backup ${id} is stored but not verified, and nothing was pruned: ${LOST_LOCK}; run \`kiroku backup verify ${id}\``);
    return (await this.find(row.id))!;
  }

  /**
   * Checks a stored backup: its bytes still hash to what was stored and begin
   * with the age header; with an identity (or the passphrase) here, it is also
   * decrypted and restored into a scratch database whose rows per table and
   * schema version must match the manifest.
   */
  async verify(id: string): Promise<BackupRun> {
    const row = await this.find(id);
    if (!row) throw new Error(`no backup ${id}`);
    if (row.status !== 'succeeded' || !row.objectKey || row.prunedAt) throw new Error(`backup ${id} has no stored object to verify (${row.prunedAt ? 'pruned' : row.status})`);
    const mode = canDecrypt(this.config) ? 'restore' : 'checksum';
    let failure: string | null = null;
    try {
      const measure = new Measure();
      const body = chain(await this.destination.get(row.objectKey), new RequireAgeHeader(), measure);
      if (mode === 'restore') {
        const facts = await restoreInto(this.config, this.database, row.engine, body, { scratchDb: true });
        compareFacts(facts.restored, { rowCounts: JSON.parse(row.rowCounts ?? '{}'), schemaVersion: row.schemaVersion });
        if (facts.plainSha256 !== row.plainSha256) throw new Error(`the decrypted snapshot's sha256 ${facts.plainSha256} differs from the catalog's ${row.plainSha256}`);
      } else {
        for await (const _ of body) void _;
      }
      if (measure.bytes !== row.storedBytes || measure.sha256 !== row.storedSha256) throw new Error(`the stored object changed: ${measure.bytes} bytes, sha256 ${measure.sha256}; the catalog says ${row.storedBytes} bytes, sha256 ${row.storedSha256}`);
    } catch (error) {
      failure = oneLine(error);
    }
    Object.assign(row, { verifiedAt: this.clock.now(), verifyStatus: failure ? 'failed' : 'passed', verifyMode: mode, verifyError: failure });
    await this.save(row);
    if (failure) this.logger.error(`backup ${id} failed verification (${mode}): ${failure}`);
    else this.logger.log(`backup ${id} verified (${mode})`);
    return row;
  }

  /** Deletes backups past retention (see retentionDecision); returns the pruned ids, or why nothing was. */
  async prune(): Promise<{ pruned: string[]; held?: string }> {
    const rows = await this.db.manager.find(BackupRun, { order: { startedAt: 'DESC' } });
    const decision = retentionDecision(
      rows.map((r) => ({ id: r.id, startedAt: r.startedAt, status: r.status, stored: r.status === 'succeeded' && !!r.objectKey && !r.prunedAt, verified: r.verifyStatus === 'passed' })),
      this.clock.now(),
      this.config.retentionDays,
    );
    for (const id of decision.prune) {
      const row = rows.find((r) => r.id === id)!;
      await this.destination.delete(`${row.objectKey}${MANIFEST_SUFFIX}`);
      await this.destination.delete(row.objectKey!);
      row.prunedAt = this.clock.now();
      await this.save(row);
      this.logger.log(`backup ${id} pruned (older than ${this.config.retentionDays} days)`);
    }
    return { pruned: decision.prune, ...(decision.held ? { held: decision.held } : {}) };
  }

  list(limit = 100): Promise<BackupRun[]> {
    return this.db.manager.find(BackupRun, { order: { startedAt: 'DESC' }, take: limit });
  }

  /** By id or a unique prefix of at least 8 characters. */
  async find(id: string): Promise<BackupRun | null> {
    if (id.length === 36) return this.db.manager.findOneBy(BackupRun, { id });
    if (!/^[0-9a-f-]{8,35}$/.test(id)) return null;
    const rows = (await this.db.manager.find(BackupRun, { select: { id: true }, where: { objectKey: Not(IsNull()) }, order: { startedAt: 'DESC' }, take: 1000 })).filter((r) => r.id.startsWith(id));
    return rows.length === 1 ? this.db.manager.findOneBy(BackupRun, { id: rows[0].id }) : null;
  }

  /** Figures for metrics and alerts: the newest success and verification, the last run's duration and size, failures. */
  async status(): Promise<BackupStatusFigures> {
    const newest = (where: FindOptionsWhere<BackupRun>) => this.db.manager.findOne(BackupRun, { where, order: { startedAt: 'DESC' } });
    const [success, verified, last] = await Promise.all([newest({ status: 'succeeded' }), newest({ verifyStatus: 'passed' }), newest({ status: Not('running') })]);
    const failures = await this.db.manager.count(BackupRun, { where: { status: 'failed' } });
    return {
      lastSuccessAt: success?.finishedAt ?? null,
      lastVerifiedAt: verified?.verifiedAt ?? null,
      lastDurationMs: success?.finishedAt ? success.finishedAt.getTime() - success.startedAt.getTime() : null,
      lastStoredBytes: success?.storedBytes ?? null,
      lastRunFailed: last?.status === 'failed',
      lastError: last?.status === 'failed' ? last.error : null,
      failures,
    };
  }

  /** Why a backup could not be made here, or null: encryption settings, and on PostgreSQL a pg_dump at least as new as the server. */
  async readiness(): Promise<string | null> {
    try {
      encryptionKey(this.config);
      if (this.db.engine === 'postgres') await this.checkPgDump();
      return null;
    } catch (error) {
      return oneLine(error);
    }
  }

  private async checkPgDump(): Promise<void> {
    const [{ server_version_num: num }] = await this.db.dataSource.query('SHOW server_version_num');
    const server = Math.floor(Number(num) / 10_000);
    const local = await pgToolMajor('pg_dump');
    if (local < server) throw new Error(`pg_dump ${local} is older than the PostgreSQL ${server} server: install the version ${server} client`);
  }

  private async postgresSnapshot(): Promise<Snapshot> {
    await this.checkPgDump();
    return postgresSnapshot(this.db, this.database);
  }

  private save(row: BackupRun): Promise<unknown> {
    const { id, ...rest } = row;
    return this.db.transaction((m) => m.update(BackupRun, { id }, rest));
  }
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
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn((sql) => client.query(sql).then((r) => r.rows));
  } finally {
    await client.end();
  }
}

/** Throws unless the restored copy holds the rows and schema the backup recorded. */
export function compareFacts(restored: SnapshotFacts, expected: SnapshotFacts): void {
  if (restored.schemaVersion !== expected.schemaVersion) throw new Error(`schema version ${restored.schemaVersion} restored, ${expected.schemaVersion} expected`);
  const tables = new Set([...Object.keys(restored.rowCounts), ...Object.keys(expected.rowCounts)]);
  const off = [...tables].filter((t) => restored.rowCounts[t] !== expected.rowCounts[t]);
  if (off.length) throw new Error(`rows differ: ${off.map((t) => `${t} ${restored.rowCounts[t] ?? 'missing'} restored, ${expected.rowCounts[t] ?? 'none'} expected`).join('; ')}`);
}

/** Streams piped in order; an error in any of them destroys the rest, so it reaches whoever reads the last. */
function chain(...streams: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream>): Readable {
  const last = streams[streams.length - 1] as Readable;
  (pipelineCallback as unknown as (...args: unknown[]) => void)(...streams, (error: Error | null) => {
    if (error && !last.destroyed) last.destroy(error);
  });
  return last;
}

function stamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 1000);
}
