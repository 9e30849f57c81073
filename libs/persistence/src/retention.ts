import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { deleteInBatches } from './batches';
import { Database } from './database';
import type { SqlParam } from './sql-param';

/**
 * Rows of one table that are kept for a while, then deleted. The module that
 * owns the table registers it; no module deletes another's rows.
 */
export interface Pruner {
  /** What the rows are, for logs and `kiroku logs prune`: `audit events`. */
  name: string;
  table: string;
  /**
   * A row goes once any of these instant columns (epoch milliseconds) is
   * older than its age, measured when the pruning starts.
   */
  olderThan?: ReadonlyArray<{ column: string; ageMs: () => number }>;
  /**
   * Or the rows to go are chosen otherwise (beyond a number kept per parent
   * row): a condition on the table's rows, with TypeORM's named parameters.
   */
  beyond?: () => { where: string; params?: Record<string, SqlParam> };
  /** What decides the age, for people: a setting's name, or the fixed rule. */
  setting: string;
  /** Rows per statement; 500 when absent. */
  batch?: number;
}

export interface PruneResult {
  name: string;
  table: string;
  deleted: number;
}

/** A day in milliseconds: retention settings are counted in days. */
export const DAY_MS = 24 * 3_600_000;

/** Finished task slots are kept this long: enough to see what ran, and when, in the last month. */
const TASK_SLOT_RETENTION_MS = 30 * DAY_MS;

/**
 * The pruners of every module, run one after another by one daily task
 * (`prune-records`) and by `kiroku logs prune`. Task slots, this library's
 * own table, are registered here.
 */
@Injectable()
export class RetentionRegistry {
  private readonly logger = new Logger('Retention');
  private readonly pruners = new Map<string, Pruner>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.register({
      name: 'finished task slots',
      table: 'task_leases',
      setting: '30 days (fixed)',
      olderThan: [{ column: 'finished_at', ageMs: () => TASK_SLOT_RETENTION_MS }],
    });
  }

  register(pruner: Pruner): void {
    if (this.pruners.has(pruner.name)) throw new Error(`pruner "${pruner.name}" registered twice`);
    if (!pruner.olderThan?.length === !pruner.beyond) throw new Error(`pruner "${pruner.name}" needs either age columns or a condition`);
    this.pruners.set(pruner.name, pruner);
  }

  list(): Pruner[] {
    return [...this.pruners.values()];
  }

  /**
   * Runs every pruner; one that fails is logged and the others still run.
   * Throws after the last one when any failed, so that the task's run is
   * recorded as failed.
   */
  async prune(signal?: AbortSignal): Promise<PruneResult[]> {
    const now = this.clock.nowMs();
    const results: PruneResult[] = [];
    const failures: string[] = [];
    for (const pruner of this.pruners.values()) {
      if (signal?.aborted) break;
      try {
        const { where, params } = pruner.beyond ? pruner.beyond() : ageCondition(pruner.olderThan!, now);
        const deleted = await deleteInBatches(this.db, { table: pruner.table, where, params, batch: pruner.batch, signal });
        results.push({ name: pruner.name, table: pruner.table, deleted });
      } catch (error) {
        failures.push(`${pruner.name}: ${(error as Error).message}`);
        this.logger.error(`could not prune ${pruner.name} (${pruner.table}): ${(error as Error).message}`);
      }
    }
    const pruned = results.filter((r) => r.deleted > 0);
    if (pruned.length) this.logger.log({ msg: 'records pruned', ...Object.fromEntries(pruned.map((r) => [r.table, r.deleted])) });
    if (failures.length) throw new Error(`pruning failed for ${failures.join('; ')}`);
    return results;
  }
}

/** Rows any of whose instant columns is older than its age at `now`. */
function ageCondition(olderThan: NonNullable<Pruner['olderThan']>, now: number): { where: string; params: Record<string, SqlParam> } {
  return {
    params: Object.fromEntries(olderThan.map((c, i) => [`cutoff${i}`, now - c.ageMs()])),
    where: olderThan.map((c, i) => `"${c.column}" < :cutoff${i}`).join(' OR '),
  };
}
