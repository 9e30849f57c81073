import { randomUUID } from 'node:crypto';
import { pipeline as pipelineCallback, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { APP_VERSION, BackupConfig } from '@kiroku/config';
import { INSTANCE_ID, LeaseService } from '@kiroku/persistence';
import { canDecrypt, encryptionKey, Measure, MissingEncryptionKey, RequireAgeHeader, STORAGE_DESTINATION, StorageDestination } from '../storage';
import { BackupCatalog } from './backup-catalog.repository';
import { BackupRun } from './backup-run.entity';
import { BackupSource } from './backup-source';
import { compareFacts, Manifest, MANIFEST_SUFFIX } from './manifest';
import { retentionDecision } from './retention';

/**
 * One backup at a time across every replica and the CLI: a lease renewed while
 * the run lasts. A holder killed midway loses it after LOCK_MS.
 */
const LOCK = { task: 'backup-exclusive', slot: 'run' };
const LOCK_MS = 2 * 60_000;
const LOST_LOCK =
  'the backup lock was lost (its renewals failed until the lease ran out, or another instance took it over), so the run stopped: two backups must never overlap';

/** Another backup holds the lock: not a failed run, nothing is recorded. */
export class BackupBusy extends Error {
  constructor() {
    super('another backup is running (on this or another instance); try again when it has finished');
  }
}

export interface BackupStatusFigures {
  lastSuccessAt: Date | null;
  lastVerifiedAt: Date | null;
  /** Snapshot to stored, of the newest successful run. */
  lastDurationMs: number | null;
  lastStoredBytes: number | null;
  /** When the newest backup that passed verification was taken (finished): what a restore could bring back. */
  newestVerifiedBackupAt: Date | null;
  /** The newest finished run failed, or stored a backup that failed its verification (which cannot be trusted). */
  lastRunFailed: boolean;
  /** The newest finished run's backup failed its (latest) verification. */
  lastVerifyFailed: boolean;
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
    private readonly catalog: BackupCatalog,
    private readonly source: BackupSource,
    private readonly clock: Clock,
    private readonly config: BackupConfig,
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
    const renewal = setInterval(
      () =>
        void this.leases.renew(lock, LOCK_MS).then(
          (ok) => (lost ||= !ok),
          () => undefined,
        ),
      LOCK_MS / 3,
    );
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
    for (const row of await this.catalog.running()) {
      Object.assign(row, { status: 'failed', finishedAt: this.clock.now(), error: 'interrupted: the process running it stopped before it finished' });
      await this.catalog.save(row);
    }
  }

  private async runLocked(trigger: 'schedule' | 'manual', slot: string | null, held: () => boolean): Promise<BackupRun> {
    const startedAt = this.clock.now();
    const id = randomUUID();
    const engine = this.source.engine;
    let key: ReturnType<typeof encryptionKey> | undefined;
    let keyError: Error | undefined;
    try {
      key = encryptionKey(this.config);
    } catch (error) {
      keyError = error as Error;
    }
    const row: BackupRun = {
      id,
      trigger,
      slot,
      status: 'running',
      startedAt,
      finishedAt: null,
      error: null,
      instanceId: this.instanceId,
      destination: this.destination.kind,
      objectKey: null,
      engine,
      serverVersion: await this.source.serverVersion(),
      schemaVersion: 'unknown',
      encryption: key?.kind ?? 'none',
      keyFingerprint: key?.fingerprint ?? 'none',
      plainBytes: null,
      plainSha256: null,
      storedBytes: null,
      storedSha256: null,
      rowCounts: null,
      verifiedAt: null,
      verifyStatus: null,
      verifyMode: null,
      verifyError: null,
      prunedAt: null,
    };
    await this.catalog.insert(row);
    let scratch: string | undefined;
    let stored: string | undefined;
    try {
      if (keyError) throw keyError;
      scratch = await this.source.scratch();
      // Inside the recorded run: a destination that cannot even be cleaned fails this run visibly.
      const removed = await this.destination.cleanup('backups/');
      if (removed) this.logger.warn(`removed ${removed} partial backup object(s) left by an interrupted run`);
      const snapshot = await this.source.snapshot(scratch);
      const objectKey = `backups/kiroku-${engine}-${stamp(startedAt)}-${id.slice(0, 8)}.${engine === 'sqlite' ? 'sqlite.gz' : 'pgdump'}.age`;
      const plain = new Measure();
      const storedMeasure = new Measure();
      const content = engine === 'sqlite' ? chain(snapshot.stream, plain, createGzip({ level: 1 })) : chain(snapshot.stream, plain);
      const encrypted = await key!.encrypt(content);
      const storedBytes = await this.destination.put(objectKey, chain(encrypted, new RequireAgeHeader(), storedMeasure));
      stored = objectKey;
      await snapshot.done;
      if (!held()) throw new Error(`${LOST_LOCK}: its object was removed`);
      const finishedAt = this.clock.now();
      const manifest: Manifest = {
        format: 'kiroku-backup/1',
        id,
        object: objectKey,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        appVersion: APP_VERSION,
        engine: row.engine,
        serverVersion: row.serverVersion,
        schemaVersion: snapshot.schemaVersion,
        content: engine === 'sqlite' ? 'sqlite+gzip' : 'pg_dump-custom',
        encryption: key!.kind,
        keyFingerprint: key!.fingerprint,
        plainBytes: plain.bytes,
        plainSha256: plain.sha256,
        storedBytes,
        storedSha256: storedMeasure.sha256,
        rowCounts: snapshot.rowCounts,
      };
      await this.destination.put(`${objectKey}${MANIFEST_SUFFIX}`, Readable.from([Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]));
      Object.assign(row, {
        status: 'succeeded',
        finishedAt,
        objectKey,
        schemaVersion: snapshot.schemaVersion,
        plainBytes: plain.bytes,
        plainSha256: plain.sha256,
        storedBytes,
        storedSha256: storedMeasure.sha256,
        rowCounts: JSON.stringify(snapshot.rowCounts),
      });
      await this.catalog.save(row);
      this.logger.log(`backup ${id} stored as ${objectKey} (${storedBytes} bytes) in ${this.destination.description}`);
    } catch (error) {
      // Whatever was stored of a run that did not finish is removed: only complete, catalogued backups exist.
      if (stored) await this.destination.delete(stored).catch(() => undefined);
      Object.assign(row, { status: 'failed', finishedAt: this.clock.now(), error: oneLine(error), objectKey: null });
      await this.catalog.save(row);
      this.logger.error(`backup ${id} failed: ${row.error}`);
      return row;
    } finally {
      if (scratch) await this.source.removeScratch(scratch);
    }
    // The backup is complete and catalogued. Without the lock it is neither test-restored nor followed by pruning.
    if (held()) await this.verify(row.id);
    if (held() && this.config.maintenance === 'separate')
      this.logger.log(`backup ${id}: pruning is left to \`kiroku backup prune\` (BACKUP_MAINTENANCE=separate)`);
    else if (held()) await this.prune();
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
    if (row.status !== 'succeeded' || !row.objectKey || row.prunedAt)
      throw new Error(`backup ${id} has no stored object to verify (${row.prunedAt ? 'pruned' : row.status})`);
    const mode = canDecrypt(this.config) ? 'restore' : 'checksum';
    let failure: string | null = null;
    try {
      const measure = new Measure();
      const body = chain(await this.destination.get(row.objectKey), new RequireAgeHeader(), measure);
      if (mode === 'restore') {
        const facts = await this.source.testRestore(row.engine, body);
        compareFacts(facts.restored, { rowCounts: JSON.parse(row.rowCounts ?? '{}') as Record<string, number>, schemaVersion: row.schemaVersion });
        if (facts.plainSha256 !== row.plainSha256)
          throw new Error(`the decrypted snapshot's sha256 ${facts.plainSha256} differs from the catalog's ${row.plainSha256}`);
      } else {
        for await (const _ of body) void _;
      }
      if (measure.bytes !== row.storedBytes || measure.sha256 !== row.storedSha256)
        throw new Error(
          `the stored object changed: ${measure.bytes} bytes, sha256 ${measure.sha256}; the catalog says ${row.storedBytes} bytes, sha256 ${row.storedSha256}`,
        );
    } catch (error) {
      failure = oneLine(error);
    }
    Object.assign(row, { verifiedAt: this.clock.now(), verifyStatus: failure ? 'failed' : 'passed', verifyMode: mode, verifyError: failure });
    await this.catalog.save(row);
    if (failure) this.logger.error(`backup ${id} failed verification (${mode}): ${failure}`);
    else this.logger.log(`backup ${id} verified (${mode})`);
    return row;
  }

  /** Deletes backups past retention (see retentionDecision); returns the pruned ids, or why nothing was. */
  async prune(): Promise<{ pruned: string[]; held?: string }> {
    const rows = await this.catalog.list();
    const decision = retentionDecision(
      rows.map((r) => ({
        id: r.id,
        startedAt: r.startedAt,
        status: r.status,
        stored: r.status === 'succeeded' && !!r.objectKey && !r.prunedAt,
        verified: r.verifyStatus === 'passed',
      })),
      this.clock.now(),
      this.config.retentionDays,
    );
    for (const id of decision.prune) {
      const row = rows.find((r) => r.id === id)!;
      await this.destination.delete(`${row.objectKey}${MANIFEST_SUFFIX}`);
      await this.destination.delete(row.objectKey!);
      row.prunedAt = this.clock.now();
      await this.catalog.save(row);
      this.logger.log(`backup ${id} pruned (older than ${this.config.retentionDays} days)`);
    }
    return { pruned: decision.prune, ...(decision.held ? { held: decision.held } : {}) };
  }

  /** Whether verification here is a full restore drill (an identity or the passphrase), not only a checksum. */
  canDrill(): boolean {
    return canDecrypt(this.config);
  }

  /** The newest backup whose object is stored (not pruned): what a restore would use. */
  async latestStored(): Promise<BackupRun | null> {
    const [id] = await this.catalog.idsWithObjects(1);
    const row = id ? await this.catalog.get(id) : null;
    return row && !row.prunedAt && row.status === 'succeeded' ? row : null;
  }

  list(limit = 100): Promise<BackupRun[]> {
    return this.catalog.list(limit);
  }

  /** By id, or a unique prefix of at least 8 characters among the newest 1000 runs that stored an object. */
  async find(id: string): Promise<BackupRun | null> {
    if (id.length === 36) return this.catalog.get(id);
    if (!/^[0-9a-f-]{8,35}$/.test(id)) return null;
    const ids = (await this.catalog.idsWithObjects(1000)).filter((candidate) => candidate.startsWith(id));
    return ids.length === 1 ? this.catalog.get(ids[0]) : null;
  }

  /** Figures for metrics and alerts: the newest success and verification, the last run's duration and size, failures. */
  async status(): Promise<BackupStatusFigures> {
    const [success, verified, last] = await Promise.all([this.catalog.newestSucceeded(), this.catalog.newestVerified(), this.catalog.newestFinished()]);
    const failures = await this.catalog.countFailed();
    // A stored backup that failed its restore drill is no backup: the run counts as failed.
    const unverified = last?.status === 'succeeded' && last.verifyStatus === 'failed';
    return {
      lastSuccessAt: success?.finishedAt ?? null,
      lastVerifiedAt: verified?.verifiedAt ?? null,
      newestVerifiedBackupAt: verified?.finishedAt ?? null,
      lastDurationMs: success?.finishedAt ? success.finishedAt.getTime() - success.startedAt.getTime() : null,
      lastStoredBytes: success?.storedBytes ?? null,
      lastRunFailed: last?.status === 'failed' || unverified,
      lastVerifyFailed: unverified,
      lastError:
        last?.status === 'failed'
          ? last.error
          : unverified
            ? `the backup was stored but failed its verification (${last.verifyMode}): ${last.verifyError}`
            : null,
      failures,
    };
  }

  /** Why a backup could not be made here, or null: encryption settings, and on PostgreSQL a pg_dump at least as new as the server. */
  async readiness(): Promise<string | null> {
    return (await this.problem())?.message ?? null;
  }

  /** Why backups cannot be made here, if they cannot: no key (a setting to make), or another reason (its message). */
  async problem(): Promise<BackupProblem | null> {
    try {
      encryptionKey(this.config);
      await this.source.checkTools();
      return null;
    } catch (error) {
      return { kind: error instanceof MissingEncryptionKey ? 'noKey' : 'other', message: oneLine(error) };
    }
  }
}

export interface BackupProblem {
  kind: 'noKey' | 'other';
  message: string;
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
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 1000);
}
