import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Clock } from '@kiroku/clock';
import type { Engine, Lease, LeaseService } from '@kiroku/persistence';
import { ObjectMissing, type StorageDestination, type StoredObject } from '../storage';
import type { BackupSource } from './backup-source';
import type { Snapshot, SnapshotFacts } from './snapshot';

/** A StorageDestination in memory: whole objects only, never overwritten; `beforePut` may fail a put or change the world meanwhile. */
export class MemoryDestination implements StorageDestination {
  readonly kind = 'local';
  readonly description = 'memory';
  readonly objects = new Map<string, Buffer>();
  beforePut?: (key: string) => Promise<void>;

  async put(key: string, body: Readable): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
    await this.beforePut?.(key);
    if (this.objects.has(key)) throw new Error(`${key} exists`);
    const bytes = Buffer.concat(chunks);
    this.objects.set(key, bytes);
    return bytes.length;
  }

  async get(key: string): Promise<Readable> {
    const bytes = this.objects.get(key);
    if (!bytes) throw new ObjectMissing(key);
    return Readable.from([bytes]);
  }

  async list(prefix: string): Promise<StoredObject[]> {
    return [...this.objects]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, bytes]) => ({ key, size: bytes.length }));
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async cleanup(): Promise<number> {
    return 0;
  }
}

/** The backup lock of LeaseService in memory: one holder at a time, until it releases or its lease runs out by `clock`. */
export class FakeLeases implements Pick<LeaseService, keyof LeaseService> {
  private holder: Lease | null = null;

  constructor(private readonly clock: Clock) {}

  /** Another instance holds the lock for `ttlMs`. */
  takenElsewhere(ttlMs: number): void {
    this.holder = { taskId: 'backup-exclusive', slot: 'run', token: 'elsewhere', attempt: 1, expiresAt: new Date(this.clock.nowMs() + ttlMs) };
  }

  async claim(taskId: string, slot: string, ttlMs: number): Promise<Lease | null> {
    if (this.holder && this.holder.expiresAt.getTime() > this.clock.nowMs()) return null;
    this.holder = { taskId, slot, token: randomBytes(8).toString('hex'), attempt: 1, expiresAt: new Date(this.clock.nowMs() + ttlMs) };
    return { ...this.holder };
  }

  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    if (this.holder?.token !== lease.token) return false;
    lease.expiresAt = this.holder.expiresAt = new Date(this.clock.nowMs() + ttlMs);
    return true;
  }

  async complete(lease: Lease): Promise<boolean> {
    return this.release(lease);
  }

  async release(lease: Lease): Promise<boolean> {
    if (this.holder?.token !== lease.token) return false;
    this.holder = null;
    return true;
  }

  async releaseAll(): Promise<void> {
    this.holder = null;
  }

  heldCount(): number {
    return this.holder ? 1 : 0;
  }
}

/** The database a backup is made of, as a few bytes and the facts they stand for. */
export class FakeBackupSource implements Pick<BackupSource, keyof BackupSource> {
  engine: Engine = 'sqlite';
  /** The snapshot's bytes. */
  content = Buffer.from('SQLite format 3\u0000 a small database of notes');
  facts: SnapshotFacts = { rowCounts: { notes: 3, users: 1 }, schemaVersion: '1764000000000-AddTagNamesToNotes' };
  /** What a test restore finds (the snapshot's facts unless set). */
  restored?: SnapshotFacts;
  /** Why snapshots fail, when they do. */
  problem?: Error;
  readonly scratches: string[] = [];
  readonly removedScratches: string[] = [];

  async serverVersion(): Promise<string> {
    return 'SQLite 3.50.0';
  }

  async checkTools(): Promise<void> {
    if (this.problem) throw this.problem;
  }

  async scratch(): Promise<string> {
    const scratch = `/tmp/kiroku-backup-fake-${this.scratches.length}`;
    this.scratches.push(scratch);
    return scratch;
  }

  async removeScratch(scratch: string): Promise<void> {
    this.removedScratches.push(scratch);
  }

  async snapshot(): Promise<Snapshot> {
    await this.checkTools();
    return { ...this.facts, stream: Readable.from([this.content]), done: Promise.resolve() };
  }

  async testRestore(_engine: string, encrypted: Readable): Promise<{ restored: SnapshotFacts; plainSha256: string }> {
    for await (const chunk of encrypted) void chunk;
    return { restored: this.restored ?? this.facts, plainSha256: createHash('sha256').update(this.content).digest('hex') };
  }
}
