/** What retention needs to know of a catalog entry. */
export interface RetentionEntry {
  id: string;
  startedAt: Date;
  status: 'running' | 'succeeded' | 'failed';
  /** A stored object exists (succeeded and not yet pruned). */
  stored: boolean;
  verified: boolean;
}

export interface RetentionDecision {
  /** Ids whose objects may be deleted now. */
  prune: string[];
  /** Why nothing was pruned, when that is the answer. */
  held?: string;
}

const DAY_MS = 24 * 3_600_000;

/**
 * Which backups to delete, from the catalog alone (the destination's listing
 * is never consulted: what the catalog does not know is never deleted).
 *
 * - everything younger than `retentionDays` stays;
 * - the newest verified backup stays, whatever its age, and so does the
 *   newest successful one (so a history of unverifiable backups keeps one);
 * - after a failed run (the newest finished run failed) nothing is pruned:
 *   the old backups may be all there is;
 * - only stored objects of successful runs are ever candidates.
 */
export function retentionDecision(entries: readonly RetentionEntry[], now: Date, retentionDays: number): RetentionDecision {
  const finished = entries.filter((e) => e.status !== 'running').sort(newestFirst);
  if (finished[0]?.status === 'failed') return { prune: [], held: 'the newest backup run failed' };
  const stored = entries.filter((e) => e.status === 'succeeded' && e.stored).sort(newestFirst);
  const keep = new Set<string>();
  const newestVerified = stored.find((e) => e.verified);
  if (newestVerified) keep.add(newestVerified.id);
  if (stored[0]) keep.add(stored[0].id);
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  return { prune: stored.filter((e) => !keep.has(e.id) && e.startedAt.getTime() < cutoff).map((e) => e.id) };
}

function newestFirst(a: RetentionEntry, b: RetentionEntry): number {
  return b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
