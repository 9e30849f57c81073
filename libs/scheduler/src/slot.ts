import { CronTime } from 'cron';

/**
 * The scheduled time a tick at `now` belongs to: the latest time the cron
 * expression names at or before now + tolerance. Replicas whose clocks differ
 * by less than the tolerance agree on the slot, so it is claimed once.
 */
export function slotFor(cron: string, now: Date, toleranceMs = 5_000): Date {
  const time = new CronTime(cron, 'UTC');
  const limit = now.getTime() + toleranceMs;
  let candidate: Date | null = null;
  let cursor = new Date(now.getTime() - 10 * 60_000 - toleranceMs);
  for (;;) {
    const next = time.getNextDateFrom(cursor, 'UTC').toJSDate();
    if (next.getTime() > limit) break;
    candidate = next;
    cursor = next;
  }
  if (!candidate) throw new Error(`no slot of "${cron}" within 10 minutes before ${now.toISOString()}`);
  return candidate;
}
