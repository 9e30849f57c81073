import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { LogConfig } from '@kiroku/config';
import { Database, TaskLease } from '@kiroku/persistence';
import { TaskScheduler } from '@kiroku/scheduler';
import { In, IsNull, LessThan, Not } from 'typeorm';
import { AuditEvent } from '../audit/audit-event.entity';

const DAY_MS = 24 * 3_600_000;
/** Finished task slots are kept this long: enough to see what ran, and when, in the last month. */
export const LEASE_RETENTION_DAYS = 30;

/**
 * The database side of retention: audit events older than
 * AUDIT_RETENTION_DAYS and finished task slots older than 30 days, deleted in
 * batches so that no single statement holds a lock for long. (Expired
 * sessions have their own task, every 15 minutes.)
 */
@Injectable()
export class RecordRetention {
  private readonly logger = new Logger('Retention');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: LogConfig,
  ) {}

  async prune(batch = 500, signal?: AbortSignal): Promise<{ auditEvents: number; taskSlots: number }> {
    const now = this.clock.nowMs();
    const auditEvents = await this.inBatches(batch, signal, async () => {
      const doomed = await this.db.manager.find(AuditEvent, { select: { id: true }, where: { at: LessThan(new Date(now - this.config.auditRetentionDays * DAY_MS)) }, take: batch });
      if (doomed.length) await this.db.transaction((m) => m.delete(AuditEvent, { id: In(doomed.map((e) => e.id)) }));
      return doomed.length;
    });
    const taskSlots = await this.inBatches(batch, signal, async () => {
      const doomed = await this.db.manager.find(TaskLease, {
        select: { taskId: true, slot: true },
        where: { finishedAt: LessThan(new Date(now - LEASE_RETENTION_DAYS * DAY_MS)) },
        take: batch,
      });
      await this.db.transaction(async (m) => {
        for (const d of doomed) await m.delete(TaskLease, { taskId: d.taskId, slot: d.slot, finishedAt: Not(IsNull()) });
      });
      return doomed.length;
    });
    if (auditEvents || taskSlots) this.logger.log({ msg: 'records pruned', auditEvents, taskSlots });
    return { auditEvents, taskSlots };
  }

  private async inBatches(batch: number, signal: AbortSignal | undefined, step: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      if (signal?.aborted) return total;
      const n = await step();
      total += n;
      if (n < batch) return total;
    }
  }
}

/** Daily, once across the cluster (the records are shared, unlike log files). */
@Injectable()
export class RecordRetentionTask implements OnModuleInit {
  static readonly ID = 'prune-records';

  constructor(
    private readonly scheduler: TaskScheduler,
    private readonly retention: RecordRetention,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({ id: RecordRetentionTask.ID, cron: '23 4 * * *', leaseMs: 10 * 60_000, run: async ({ signal }) => void (await this.retention.prune(500, signal)) });
  }
}
