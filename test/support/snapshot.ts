import { createHash } from 'node:crypto';
import { Database } from '@kiroku/persistence';

/** Tables whose content a refused request must leave untouched (the audit trail records the refusal itself). */
const TABLES = ['users', 'sessions', 'api_tokens', 'login_throttles', 'task_leases'];
/** Scheduled slots (ISO times) are claimed by the app's own timers whenever a tick comes (alerts every minute): not a request's doing. */
const WHERE: Record<string, string> = { task_leases: `WHERE "slot" NOT LIKE '____-__-__T%'` };

/** A digest of every row of the tables that state-changing routes write. */
export async function databaseDigest(db: Database): Promise<Record<string, string>> {
  const digest: Record<string, string> = {};
  for (const table of TABLES) {
    const rows: unknown[] = await db.dataSource.query(`SELECT * FROM "${table}" ${WHERE[table] ?? ''}`);
    const lines = rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).sort();
    digest[table] = `${rows.length}:${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`;
  }
  return digest;
}
