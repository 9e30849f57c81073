import fc from 'fast-check';
import { RetentionEntry, retentionDecision } from './retention';

const DAY = 24 * 3_600_000;
const NOW = new Date('2026-11-29T02:00:00Z');

/** Random catalog histories: up to 80 runs over 120 days, any mix of outcomes. */
const history = fc
  .uniqueArray(
    fc.record({
      id: fc.uuid(),
      ageMs: fc.integer({ min: 0, max: 120 * DAY }),
      status: fc.constantFrom<RetentionEntry['status']>('running', 'succeeded', 'failed', 'succeeded', 'succeeded'),
      pruned: fc.boolean(),
      verified: fc.boolean(),
    }),
    { maxLength: 80, selector: (e) => e.id },
  )
  .map((rows) =>
    rows.map<RetentionEntry>((r) => ({
      id: r.id,
      startedAt: new Date(NOW.getTime() - r.ageMs),
      status: r.status,
      stored: r.status === 'succeeded' && !r.pruned,
      verified: r.status === 'succeeded' && r.verified,
    })),
  );
const days = fc.integer({ min: 1, max: 60 });
const byId = (entries: RetentionEntry[]) => new Map(entries.map((e) => [e.id, e]));
const newest = (entries: RetentionEntry[]) => [...entries].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? 1 : -1))[0];

describe('backup retention', () => {
  it('never prunes a backup younger than the retention period', () => {
    fc.assert(
      fc.property(history, days, (entries, d) => {
        const all = byId(entries);
        for (const id of retentionDecision(entries, NOW, d).prune) expect(NOW.getTime() - all.get(id)!.startedAt.getTime()).toBeGreaterThan(d * DAY);
      }),
    );
  });

  it('always keeps the newest verified backup and the newest successful one', () => {
    fc.assert(
      fc.property(history, days, (entries, d) => {
        const pruned = new Set(retentionDecision(entries, NOW, d).prune);
        const stored = entries.filter((e) => e.stored);
        const verified = stored.filter((e) => e.verified);
        if (verified.length) expect(pruned.has(newest(verified).id)).toBe(false);
        if (stored.length) expect(pruned.has(newest(stored).id)).toBe(false);
      }),
    );
  });

  it('prunes nothing after a failed run', () => {
    fc.assert(
      fc.property(history, days, (entries, d) => {
        const finished = entries.filter((e) => e.status !== 'running');
        fc.pre(finished.length > 0 && newest(finished).status === 'failed');
        expect(retentionDecision(entries, NOW, d)).toEqual({ prune: [], held: 'the newest backup run failed' });
      }),
    );
  });

  it('only ever names stored objects of successful runs from the catalog', () => {
    fc.assert(
      fc.property(history, days, (entries, d) => {
        const all = byId(entries);
        const { prune } = retentionDecision(entries, NOW, d);
        expect(new Set(prune).size).toBe(prune.length);
        for (const id of prune) expect(all.get(id)).toMatchObject({ status: 'succeeded', stored: true });
      }),
    );
  });

  it('prunes every other stored backup past the retention period once the newest run succeeded', () => {
    fc.assert(
      fc.property(history, days, (entries, d) => {
        const finished = entries.filter((e) => e.status !== 'running');
        fc.pre(finished.length === 0 || newest(finished).status === 'succeeded');
        const stored = entries.filter((e) => e.stored);
        const protectedIds = new Set([newest(stored.filter((e) => e.verified))?.id, newest(stored)?.id]);
        const expected = stored
          .filter((e) => !protectedIds.has(e.id) && NOW.getTime() - e.startedAt.getTime() > d * DAY)
          .map((e) => e.id)
          .sort();
        expect([...retentionDecision(entries, NOW, d).prune].sort()).toEqual(expected);
      }),
    );
  });

  it('keeps a 40-day-old verified backup when every newer one is unverified, and drops older ones', () => {
    const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY);
    const entries: RetentionEntry[] = [
      { id: 'old', startedAt: at(50), status: 'succeeded', stored: true, verified: true },
      { id: 'verified', startedAt: at(40), status: 'succeeded', stored: true, verified: true },
      { id: 'unverified', startedAt: at(35), status: 'succeeded', stored: true, verified: false },
      { id: 'recent', startedAt: at(1), status: 'succeeded', stored: true, verified: false },
    ];
    expect(retentionDecision(entries, NOW, 30)).toEqual({ prune: ['unverified', 'old'] });
  });
});
