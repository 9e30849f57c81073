import { randomBytes } from 'node:crypto';
import { Clock } from '@kiroku/clock';
import { Database } from './database';
import { TaskLease } from './task-lease.entity';

export interface Lease {
  readonly taskId: string;
  readonly slot: string;
  readonly token: string;
  readonly attempt: number;
  expiresAt: Date;
}

/**
 * Claims named slots in the database so that exactly one instance runs each
 * (task, slot), however many replicas ask at once. A holder that dies
 * without finishing loses the slot when its lease expires; the next claimer
 * takes it over. Times come from the injected clock of the claiming instance:
 * keep lease durations well above the clock skew between replicas.
 */
export class LeaseService {
  private readonly held = new Map<string, Lease>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** Identifies this instance in the table. */
    private readonly holder: string,
  ) {}

  /** The lease on (taskId, slot) when this instance won it, or null when another holds or finished it. */
  async claim(taskId: string, slot: string, ttlMs: number): Promise<Lease | null> {
    const token = randomBytes(16).toString('hex');
    const now = this.clock.nowMs();
    const expires = now + ttlMs;
    const won = await this.db.transaction(async (manager) => {
      const repo = manager.getRepository(TaskLease);
      await repo
        .createQueryBuilder()
        .insert()
        .values({
          taskId,
          slot,
          holder: this.holder,
          token,
          claimedAt: new Date(now),
          expiresAt: new Date(expires),
          finishedAt: null,
          outcome: null,
          attempts: 1,
        })
        .orIgnore()
        .execute();
      const row = await repo.findOneBy({ taskId, slot });
      if (row?.token === token) return { attempt: 1 };
      if (!row || row.finishedAt !== null || row.expiresAt.getTime() > now) return null;

      // The holder's lease ran out before it finished: take the slot over, unless another claimer just did.
      const takeover = await repo
        .createQueryBuilder()
        .update()
        .set({ holder: this.holder, token, claimedAt: new Date(now), expiresAt: new Date(expires), attempts: () => 'attempts + 1' })
        .where('task_id = :taskId AND slot = :slot AND token = :old AND finished_at IS NULL AND expires_at <= :now', { taskId, slot, old: row.token, now })
        .execute();
      return takeover.affected === 1 ? { attempt: row.attempts + 1 } : null;
    });
    if (!won) return null;
    const lease: Lease = { taskId, slot, token, attempt: won.attempt, expiresAt: new Date(expires) };
    this.held.set(this.key(lease), lease);
    return lease;
  }

  /** Extends a lease still held; false when it expired and was taken over (stop working then). */
  async renew(lease: Lease, ttlMs: number): Promise<boolean> {
    const expires = this.clock.nowMs() + ttlMs;
    const ok = await this.update(lease, { expiresAt: new Date(expires) });
    if (ok) lease.expiresAt = new Date(expires);
    else this.held.delete(this.key(lease));
    return ok;
  }

  /** Marks the slot done: no instance will run it again. */
  async complete(lease: Lease, outcome: 'succeeded' | 'failed'): Promise<boolean> {
    const ok = await this.update(lease, { finishedAt: this.clock.now(), outcome });
    this.held.delete(this.key(lease));
    return ok;
  }

  /** Gives the slot up unfinished (shutting down): another instance may take it over at once. */
  async release(lease: Lease): Promise<boolean> {
    const ok = await this.update(lease, { expiresAt: this.clock.now() });
    this.held.delete(this.key(lease));
    return ok;
  }

  /** Releases every lease this instance still holds; for shutdown. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.values()].map((lease) => this.release(lease).catch(() => false)));
  }

  heldCount(): number {
    return this.held.size;
  }

  private async update(lease: Lease, set: Partial<TaskLease>): Promise<boolean> {
    const result = await this.db.transaction((manager) =>
      manager
        .getRepository(TaskLease)
        .createQueryBuilder()
        .update()
        .set(set)
        .where('task_id = :taskId AND slot = :slot AND token = :token AND finished_at IS NULL', {
          taskId: lease.taskId,
          slot: lease.slot,
          token: lease.token,
        })
        .execute(),
    );
    return result.affected === 1;
  }

  private key(lease: Lease): string {
    return `${lease.taskId}\u0000${lease.slot}`;
  }
}
