import type { Database, SqlParam } from './database';

export interface BatchDelete {
  table: string;
  /** The rows to delete, as SQL with TypeORM's named parameters: `created_at < :cutoff`. */
  where: string;
  params?: Record<string, SqlParam>;
  /** Rows per statement (and per transaction): no single statement holds its locks for long. */
  batch?: number;
  /** Stops between batches once aborted (the scheduler's lease was lost, or the instance is stopping). */
  signal?: AbortSignal;
}

/**
 * Deletes every row matching `where`, `batch` rows per statement, until none
 * is left; returns how many went. Rows are picked by their physical address
 * (SQLite's rowid, PostgreSQL's ctid), so that any table works, whatever its
 * key. On PostgreSQL the condition is checked again by the DELETE: a row
 * changed since it was picked is skipped, never deleted by mistake.
 */
export async function deleteInBatches(db: Database, { table, where, params = {}, batch = 500, signal }: BatchDelete): Promise<number> {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer, not ${batch}`);
  const picked =
    db.engine === 'sqlite'
      ? `rowid IN (SELECT rowid FROM "${table}" WHERE ${where} LIMIT ${batch})`
      : `ctid = ANY(ARRAY(SELECT ctid FROM "${table}" WHERE ${where} LIMIT ${batch})) AND (${where})`;
  let total = 0;
  for (;;) {
    if (signal?.aborted) return total;
    const result = await db.transaction((m) => m.createQueryBuilder().delete().from(table).where(picked, params).execute());
    const deleted = result.affected ?? 0;
    total += deleted;
    if (deleted < batch) return total;
  }
}
