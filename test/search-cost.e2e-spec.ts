import { Database, SqlParam } from '@kiroku/persistence';
import { Note, SearchIndex } from '../src/modules/notes';
import { ApiClient, Json } from './support/api-client';
import { planRowsOf, sqliteQueryPlan } from './support/database';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

const NOTES = 8_000;
/** Every 200th note has the word: 40 matches, two pages of 20. */
const EVERY = 200;

/**
 * A page of search results costs a page, however many notes match (issue 17): the notes read for a page of
 * ranked results are the page's, not every match's. Measured on the statements the application sends, with
 * 8,000 notes and fresh planner statistics, so that the plan is the one a large account gets.
 */
describeEachEngine('search reads the notes of its page only', (engine) => {
  let t: TestApp;
  let api: ApiClient;
  let db: Database;
  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine));
    ({ api } = await ApiClient.forNewUser(t.url, 'reader@example.com'));
    db = t.app.get(Database);
    const first = (await api.call('POST', '/api/v1/notes', { title: 'first', body: 'a note of the account' })).body;
    const [{ owner }] = await db.select<{ owner: string }>('SELECT owner_id AS owner FROM notes WHERE id = $1', [first.id as string]);
    const notes = Array.from({ length: NOTES }, (_, i) => ({
      id: `seeded-${String(i).padStart(5, '0')}`,
      ownerId: owner,
      title: `seeded ${i}`,
      body: i % EVERY === 0 ? `common words and zanzibar in note ${i}` : `common words in note ${i}`,
      tags: [],
      createdAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
    }));
    await db.transaction(async (m) => {
      for (let i = 0; i < notes.length; i += 500) {
        const batch = notes.slice(i, i + 500);
        await m.insert(
          Note,
          batch.map((n) => ({
            id: n.id,
            ownerId: owner,
            title: n.title,
            body: n.body,
            visibility: 'private' as const,
            createdAt: n.createdAt,
            updatedAt: n.createdAt,
          })),
        );
        await SearchIndex.for(db).writeMany(m, batch);
      }
    });
    await db.manager.query(engine === 'postgres' ? 'ANALYZE notes, note_search' : 'ANALYZE');
  });
  afterAll(() => t?.close());

  /** The search statements the application sends for `q`, with their parameters, and its answer. */
  async function searchStatements(q: string): Promise<{ items: Json[]; statements: Array<{ sql: string; params: SqlParam[] }> }> {
    const statements: Array<{ sql: string; params: SqlParam[] }> = [];
    const record = (sql: unknown, params: unknown) => {
      if (typeof sql === 'string' && /note_search|notes_fts/.test(sql) && /notes n/.test(sql)) statements.push({ sql, params: params as SqlParam[] });
    };
    // A spy that calls through: search statements go through selectValues (planned at each call on PostgreSQL).
    const selected = jest.spyOn(db, 'selectValues');
    try {
      const res = await api.call('GET', `/api/v1/notes?q=${encodeURIComponent(q)}&limit=20`);
      expect(res.status).toBe(200);
      for (const [sql, params, options] of selected.mock.calls) {
        record(sql, params);
        if (/note_search|notes_fts/.test(sql)) expect(options).toEqual({ planEach: true });
      }
      return { items: res.body.items as Json[], statements };
    } finally {
      selected.mockRestore();
    }
  }

  it(`finds a page of 20 of the ${NOTES / EVERY} matches, reading at most 21 notes for it`, async () => {
    const { items, statements } = await searchStatements('zanzibar');
    expect(items).toHaveLength(20);
    // The word is in the bodies only: the title/tags part finds nothing, the rest gives the page. PostgreSQL
    // reads both parts in one statement (one round trip), SQLite one statement each.
    expect(statements.length).toBe(engine === 'postgres' ? 1 : 2);
    const rest = statements[statements.length - 1];
    if (engine === 'postgres') {
      const [{ 'QUERY PLAN': plan }] = await db.manager.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${rest.sql}`, rest.params);
      const notesRead = planRowsOf(plan[0].Plan, 'notes');
      // 40 match: joined before the LIMIT, every match's note row was read (40). Both parts together: the
      // title/tags part reads none.
      expect(notesRead).toBeLessThanOrEqual(21);
      expect(rest.sql).toContain('UNION ALL');
    } else {
      // SQLite walks the index in its own order, notes joined inside the walk, which the LIMIT stops: no sort of
      // all matches may come between.
      const plan = await sqliteQueryPlan((q, values) => db.manager.query(q, values), rest.sql, rest.params);
      expect(plan).toMatch(/^SCAN f VIRTUAL TABLE/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
  });
});
