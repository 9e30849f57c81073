import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { LogConfig, MetricsConfig } from '@kiroku/config';
import { Database, TaskLease } from '@kiroku/persistence';
import { TaskScheduler } from '@kiroku/scheduler';
import { In, IsNull, LessThan, Not } from 'typeorm';
import { Alert } from '../alerts/alert.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { MetricSample } from '../metrics/metric-sample.entity';

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
    private readonly metrics: MetricsConfig,
  ) {}

  async prune(batch = 500, signal?: AbortSignal): Promise<{ auditEvents: number; taskSlots: number; metricSamples: number; alerts: number }> {
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
    // Samples go by the hour of history, not by rows: the primary key has two columns, the index is on the time.
    const sampleCutoff = now - this.metrics.historyDays * DAY_MS;
    const metricSamples = await this.inBatches(1, signal, async () => {
      const [oldest] = await this.db.manager.find(MetricSample, { select: { at: true }, order: { at: 'ASC' }, take: 1 });
      if (!oldest || oldest.at.getTime() >= sampleCutoff) return 0;
      const upTo = new Date(Math.min(sampleCutoff, oldest.at.getTime() + 3_600_000));
      return (await this.db.transaction((m) => m.delete(MetricSample, { at: LessThan(upTo) }))).affected ?? 1;
    });
    // Resolved alerts are incident history: kept as long as the audit trail (their notifications go with them).
    const alerts = await this.inBatches(batch, signal, async () => {
      const doomed = await this.db.manager.find(Alert, { select: { id: true }, where: { resolvedAt: LessThan(new Date(now - this.config.auditRetentionDays * DAY_MS)) }, take: batch });
      if (doomed.length) await this.db.transaction((m) => m.delete(Alert, { id: In(doomed.map((a) => a.id)) }));
      return doomed.length;
    });
    if (auditEvents || taskSlots || metricSamples || alerts) this.logger.log({ msg: 'records pruned', auditEvents, taskSlots, metricSamples, alerts });
    return { auditEvents, taskSlots, metricSamples, alerts };
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
