import { Logger } from '@nestjs/common';
import { parseQuery } from './query';
import type { Reach } from './search-index';
import { SearchStatistics } from './search-statistics';

/**
 * The plan choice from PostgreSQL's statistics, on rows shaped as pg_stats gives them (the integration test,
 * test/search-cost.e2e-spec.ts, runs it against PostgreSQL's own statistics and plans).
 */
describe('SearchStatistics', () => {
  const ENTRIES = 100_000;
  const me: Reach = { ownerId: 'owner-big', scope: 'mine' };

  /** pg_stats rows: lexemes with their shares (then the least and the greatest), owners with theirs. */
  function rows(document: Record<string, number>, head: Record<string, number>, owners: Record<string, number> = { 'owner-big': 0.98 }, distinct = 3) {
    const column = (name: string, lexemes: Record<string, number>) => {
      const freqs = Object.values(lexemes);
      return { column: name, elems: Object.keys(lexemes), elemFreqs: [...freqs, Math.min(...freqs), Math.max(...freqs)], entries: ENTRIES };
    };
    return [
      column('document', document),
      column('head', head),
      { column: 'owner_id', vals: Object.keys(owners), freqs: Object.values(owners), distinct, nulls: 0, entries: ENTRIES },
      // A team note in ten thousand.
      { column: 'team', vals: ['f', 't'], freqs: [0.9999, 0.0001], distinct: 2, nulls: 0, entries: ENTRIES },
    ];
  }

  function statistics(found: unknown[] | Error, gathersFromIndex = true): SearchStatistics {
    const plan = [
      {
        Plan: {
          'Node Type': 'Limit',
          Plans: gathersFromIndex
            ? [
                { 'Node Type': 'Bitmap Index Scan', 'Index Name': 'idx_note_search_document' },
                { 'Node Type': 'Bitmap Index Scan', 'Index Name': 'idx_note_search_head' },
              ]
            : [{ 'Node Type': 'Seq Scan' }],
        },
      },
    ];
    const db = {
      select: () => (found instanceof Error ? Promise.reject(found) : Promise.resolve(found)),
      transaction: (fn: (m: unknown) => Promise<unknown>) =>
        fn({ query: (sql: string) => Promise.resolve(sql.startsWith('EXPLAIN') ? [{ 'QUERY PLAN': plan }] : []) }),
    };
    return new SearchStatistics(db as never, () => ({ sql: 'SELECT 1', literals: [] }));
  }

  const DOCUMENT = { the: 0.99, release: 0.2, relay: 0.1, mosu: 0.02, narota: 0.002, least: 0.001 };
  const HEAD = { the: 0.13, release: 0.005, least: 0.0003 };

  it('walks a common word, gathers a rare or unlisted one, part by part', async () => {
    const s = statistics(rows(DOCUMENT, HEAD));
    await s.refresh();
    const shapes = (q: string) => s.plan(me, parseQuery(`"${q}"`), ['head', 'rest'], 21)?.map((p) => p.shape);
    expect(shapes('the')).toEqual(['walk', 'walk']);
    // In 2% of the notes, few of them titles: the titles gathered, the rest walked.
    expect(shapes('mosu')).toEqual(['gather', 'walk']);
    expect(shapes('narota')).toEqual(['gather', 'gather']);
    expect(shapes('zzyzx')).toEqual(['gather', 'gather']);
    // Two words together are rarer than either.
    expect(s.plan(me, parseQuery('"release" "relay"'), ['all'], 21)?.map((p) => p.shape)).toEqual(['walk']);
    expect(s.plan(me, parseQuery('"mosu" "narota"'), ['all'], 21)?.map((p) => p.shape)).toEqual(['gather']);
  });

  it('counts a prefix as every listed lexeme it begins, and expects the matches within the reader reach', async () => {
    const s = statistics(rows(DOCUMENT, HEAD));
    await s.refresh();
    const [prefix] = s.plan(me, parseQuery('rel'), ['all'], 21)!;
    // release or relay: 1 - 0.8 × 0.9 = 28% of the owner's 98,000 entries.
    expect(prefix.matches).toBeCloseTo(0.28 * 0.98 * ENTRIES, -1);
    expect(s.plan(me, parseQuery('"rel"'), ['all'], 21)![0].matches).toBeLessThan(100);
  });

  it('walks a small account even for a rare word: its entries are fewer than the matches of all accounts', async () => {
    const s = statistics(rows(DOCUMENT, HEAD, { 'owner-big': 0.98 }, 101));
    await s.refresh();
    // One of the other 100 owners: (1 - 0.98) / 100 of the entries, 20.
    expect(s.plan({ ownerId: 'owner-small', scope: 'mine' }, parseQuery('"narota"'), ['head', 'rest'], 21)?.map((p) => p.shape)).toEqual(['walk', 'walk']);
  });

  it('reads the team’s few notes by walking them, whatever the word', async () => {
    const s = statistics(rows(DOCUMENT, HEAD));
    await s.refresh();
    // Ten team entries: fewer than a rare word's matches in the whole table.
    expect(s.plan({ ...me, scope: 'team' }, parseQuery('"narota"'), ['head', 'rest'], 21)?.map((p) => p.shape)).toEqual(['walk', 'walk']);
  });

  it('leaves PostgreSQL to plan Mine-and-team searches, tag filters, and gathers its kept plan would not read from the index', async () => {
    const s = statistics(rows(DOCUMENT, HEAD));
    await s.refresh();
    expect(s.plan({ ...me, scope: 'all' }, parseQuery('the'), ['all'], 21)).toBeNull();
    expect(s.plan(me, parseQuery('the tag:ops'), ['all'], 21)).toBeNull();
    const scanning = statistics(rows(DOCUMENT, HEAD), false);
    await scanning.refresh();
    expect(scanning.plan(me, parseQuery('"narota"'), ['all'], 21)).toBeNull();
    expect(scanning.plan(me, parseQuery('"the"'), ['all'], 21)?.map((p) => p.shape)).toEqual(['walk']);
  });

  it('has no plan before the statistics are read or before the first ANALYZE, and keeps the last ones when a read fails', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const none = statistics([]);
      expect(none.plan(me, parseQuery('the'), ['all'], 21)).toBeNull();
      await none.refresh();
      expect(none.plan(me, parseQuery('the'), ['all'], 21)).toBeNull();

      const failing = statistics(rows(DOCUMENT, HEAD));
      await failing.refresh();
      const before = failing.plan(me, parseQuery('the'), ['all'], 21);
      (failing as unknown as { db: { select: () => Promise<never> } }).db.select = () => Promise.reject(new Error('connection lost'));
      await failing.refresh();
      expect(failing.plan(me, parseQuery('the'), ['all'], 21)).toEqual(before);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('connection lost'));
    } finally {
      warn.mockRestore();
    }
  });
});
