import { Database, SqlParam } from '@kiroku/persistence';
import { Note, NotesRepository, SearchIndex } from '../src/modules/notes';
import { ApiClient, Json } from './support/api-client';
import { PlanNode, planRowsOf, sqliteQueryPlan } from './support/database';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

const NOTES = 8_000;
/** Every 200th note has the word: 40 matches, two pages of 20. */
const EVERY = 200;
/** Every 4th note is a team note. */
const TEAM_EVERY = 4;
/** The i-th seeded note's id, a UUID as the server makes them (a cursor names one). */
const seededId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

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
    // One PostgreSQL connection: the application's statements and this test's look-ups share one session, whose
    // prepared statements pg_prepared_statements shows.
    t = await startTestApp({ ...(await freshDatabase(engine)), DATABASE_POOL_SIZE: '1' });
    ({ api } = await ApiClient.forNewUser(t.url, 'reader@example.com'));
    db = t.app.get(Database);
    const first = (await api.call('POST', '/api/v1/notes', { title: 'first', body: 'a note of the account' })).body;
    const [{ owner }] = await db.select<{ owner: string }>('SELECT owner_id AS owner FROM notes WHERE id = $1', [first.id as string]);
    const notes = Array.from({ length: NOTES }, (_, i) => ({
      id: seededId(i),
      ownerId: owner,
      title: `seeded ${i}`,
      body: i % EVERY === 0 ? `common words and zanzibar in note ${i}` : `common words in note ${i}`,
      tags: [],
      createdAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
      // Every fourth note is a team note (every note with the rare word among them).
      team: i % TEAM_EVERY === 0,
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
            visibility: n.team ? ('team' as const) : ('private' as const),
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

  interface Statement {
    sql: string;
    params: SqlParam[];
    planEach: boolean;
  }

  /** The search statements the application sends for `q` (at `cursor`), with their parameters, and its answer. */
  async function searchStatements(
    q: string,
    cursor?: string,
    limit = 20,
    scope = 'mine',
  ): Promise<{ items: Json[]; next: string | null; statements: Statement[] }> {
    const statements: Statement[] = [];
    // A spy that calls through: search statements go through selectValues.
    const selected = jest.spyOn(db, 'selectValues');
    try {
      const res = await api.call(
        'GET',
        `/api/v1/notes?q=${encodeURIComponent(q)}&limit=${limit}&scope=${scope}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ status: 200, body: null });
      for (const [sql, params, options] of selected.mock.calls) {
        if (/note_search|notes_fts/.test(sql) && /notes n/.test(sql))
          statements.push({ sql, params: params as SqlParam[], planEach: options?.planEach === true });
      }
      return { items: res.body.items as Json[], next: res.body.nextCursor as string | null, statements };
    } finally {
      selected.mockRestore();
    }
  }

  /** PostgreSQL's plan of a statement as run (planned for its values): the index each scan took, and the notes rows read. */
  async function postgresPlan(statement: Statement): Promise<{ scans: string[]; notesRead: number }> {
    const [{ 'QUERY PLAN': plan }] = await db.manager.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.sql}`, statement.params);
    return scansOf(plan[0].Plan);
  }

  /** The scans of a plan, each as its node type and index, and the notes rows it read. */
  function scansOf(root: PlanNode): { scans: string[]; notesRead: number } {
    const scans: string[] = [];
    const visit = (node: PlanNode & { 'Node Type'?: string; 'Index Name'?: string }) => {
      if (node['Index Name']) scans.push(`${node['Node Type']} ${node['Index Name']}`);
      for (const child of node.Plans ?? []) visit(child);
    };
    visit(root);
    return { scans, notesRead: planRowsOf(root, 'notes') };
  }

  /** The seeded notes' ids, newest first, whose index passes `keep`. */
  const newest = (keep: (i: number) => boolean, count: number) =>
    Array.from({ length: NOTES }, (_, i) => NOTES - 1 - i)
      .filter(keep)
      .slice(0, count)
      .map(seededId);

  it(`finds a page of 20 of the ${NOTES / EVERY} matches, reading at most 21 notes for it`, async () => {
    // Before the application has read PostgreSQL's statistics (a search starts the read): planned by PostgreSQL.
    const { items, statements } = await searchStatements('zanzibar');
    expect(items).toHaveLength(20);
    expect(statements.every((s) => s.planEach)).toBe(true);
    // The word is in the bodies only: the title/tags part finds nothing, the rest gives the page. PostgreSQL
    // reads both parts in one statement (one round trip), SQLite one statement each.
    expect(statements.length).toBe(engine === 'postgres' ? 1 : 2);
    const rest = statements[statements.length - 1];
    if (engine === 'postgres') {
      const { notesRead } = await postgresPlan(rest);
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

  /** PostgreSQL: the search statement's kept plan (EXPLAIN ANALYZE EXECUTE of the session's prepared statement): what a search runs. */
  async function keptPlan(statement: Statement): Promise<{ scans: string[]; notesRead: number; generic: number; custom: number }> {
    const [kept] = await db.manager.query('SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1', [statement.sql]);
    expect(kept).toBeDefined();
    // EXECUTE takes its values in its text.
    const literals = statement.params.map((value) => `'${String(value).replace(/'/g, "''")}'`).join(', ');
    const [{ 'QUERY PLAN': plan }] = await db.manager.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE "${kept.name}"(${literals})`);
    return { ...scansOf(plan[0].Plan), generic: Number(kept.generic_plans), custom: Number(kept.custom_plans) };
  }

  /** Searches `word` eight times (a prepared statement's plan is kept from the sixth) and answers the last search. */
  async function searchedOften(word: string, scope = 'mine'): Promise<Awaited<ReturnType<typeof searchStatements>>> {
    for (let run = 1; run < 8; run++) await searchStatements(word, undefined, 20, scope);
    return searchStatements(word, undefined, 20, scope);
  }

  /** Sets a planner setting for the application's one connection (null: back to the default), then has the statistics read again. */
  async function plannerSetting(name: 'enable_seqscan' | 'enable_bitmapscan', value: 'off' | null): Promise<void> {
    if (engine === 'postgres') await db.manager.query(value === null ? `RESET ${name}` : `SET ${name} = ${value}`);
    await t.app.get(NotesRepository).refreshSearchStatistics();
  }

  it('reads a common word from the newest entries and a rare one from the index, each statement planned once (PostgreSQL: plans chosen from its statistics)', async () => {
    // As on a large table, where PostgreSQL's kept plan of a gather reads the GIN index (8,000 entries are few
    // enough that, not knowing the word, it would scan the table: the next test).
    await plannerSetting('enable_seqscan', 'off');
    // Every body has "common", no title; every title has "seeded"; "zanzibar" is in 40 bodies. A walk takes the
    // owner's entries newest first; a gather, the GIN index.
    const words = {
      common: { expected: newest(() => true, 20), walks: 1, gathers: 1 },
      // The title/tags part fills the page: read alone, the rest not at all.
      seeded: { expected: newest(() => true, 20), walks: 1, gathers: 0 },
      zanzibar: { expected: newest((i) => i % EVERY === 0, 20), walks: 0, gathers: 2 },
    };
    try {
      for (const [word, want] of Object.entries(words)) {
        const { items, statements } = await searchedOften(word);
        expect({ word, ids: items.map((n) => n.id) }).toEqual({ word, ids: want.expected });
        if (engine !== 'postgres') continue;
        expect(statements.map((s) => s.planEach)).toEqual([false]);
        const { scans, notesRead, generic, custom } = await keptPlan(statements[0]);
        expect(notesRead).toBeLessThanOrEqual(21);
        expect({
          word,
          walks: scans.filter((s) => s === 'Index Scan idx_note_search_owner_created').length,
          gathers: scans.filter((s) => /^Bitmap Index Scan idx_note_search_(head|document)$/.test(s)).length,
          others: scans.filter((s) => !/idx_note_search_(owner_created|head|document)$/.test(s) && s !== 'Index Scan pk_notes'),
        }).toEqual({ word, walks: want.walks, gathers: want.gathers, others: [] });
        // Prepared once in the session and run on its kept plan, not planned at each search.
        expect({ word, generic: generic >= 3, custom: custom <= 5 }).toEqual({ word, generic: true, custom: true });
      }
      // The team's notes: walked on the team's index, gathered from the GIN index, as the reader's own.
      const team = {
        common: { expected: newest((i) => i % TEAM_EVERY === 0, 20), walk: true },
        zanzibar: { expected: newest((i) => i % EVERY === 0, 20), walk: false },
      };
      for (const [word, want] of Object.entries(team)) {
        const { items, statements } = await searchedOften(word, 'team');
        expect({ word, ids: items.map((n) => n.id) }).toEqual({ word, ids: want.expected });
        if (engine !== 'postgres') continue;
        expect(statements.map((s) => s.planEach)).toEqual([false]);
        const { scans, generic } = await keptPlan(statements[0]);
        expect({ word, walks: scans.includes('Index Scan idx_note_search_team_created'), generic: generic >= 3 }).toEqual({
          word,
          walks: want.walk,
          generic: true,
        });
        expect(scans.some((s) => s === 'Bitmap Index Scan idx_note_search_document')).toBe(!want.walk);
      }
      // Every page of a rare word gathered from the index: each match once, newest first.
      const first = await searchStatements('zanzibar');
      const second = await searchStatements('zanzibar', first.next!);
      expect(second.next).toBeNull();
      expect([...first.items, ...second.items].map((n) => n.id)).toEqual(newest((i) => i % EVERY === 0, NOTES / EVERY));
      if (engine === 'postgres')
        expect([...first.statements, ...second.statements].map((s) => !s.planEach && s.sql.includes('@@ (SELECT'))).toEqual([true, true]);
      // Pages of 7 and of 9: one statement text (its LIMIT rounded up to 11), each page its own size, the next
      // page going on from the last note shown.
      const seven = await searchStatements('zanzibar', undefined, 7);
      const nine = await searchStatements('zanzibar', undefined, 9);
      const after = await searchStatements('zanzibar', seven.next!, 9);
      expect([seven.items.length, nine.items.length]).toEqual([7, 9]);
      expect([...seven.items, ...after.items].map((n) => n.id)).toEqual(newest((i) => i % EVERY === 0, 16));
      if (engine === 'postgres') {
        expect(seven.statements[0].sql).toBe(nine.statements[0].sql);
        expect(seven.statements[0].sql).toMatch(/LIMIT 11\b/);
      }
      // An excluded word: two pages of 100, the notes that have it left out.
      const without = await searchStatements('common -zanzibar', undefined, 100);
      const rest = await searchStatements('common -zanzibar', without.next!, 100);
      expect([...without.items, ...rest.items].map((n) => n.id)).toEqual(newest((i) => i % EVERY !== 0, 200));
      if (engine === 'postgres') expect([...without.statements, ...rest.statements].map((s) => s.planEach)).toEqual([false, false]);
    } finally {
      await plannerSetting('enable_seqscan', null);
    }
  });

  it('leaves a rare word to PostgreSQL to plan at each search where its kept plan would scan the table', async () => {
    // PostgreSQL without bitmap scans: a kept plan of a gather cannot read the GIN index (as on a small table).
    await plannerSetting('enable_bitmapscan', 'off');
    try {
      const rare = await searchedOften('zanzibar');
      expect(rare.items.map((n) => n.id)).toEqual(newest((i) => i % EVERY === 0, 20));
      // A word in every title is still walked on its kept plan.
      const common = await searchedOften('seeded');
      expect(common.items.map((n) => n.id)).toEqual(newest(() => true, 20));
      if (engine === 'postgres') {
        expect(rare.statements.map((s) => s.planEach)).toEqual([true]);
        expect(common.statements.map((s) => s.planEach)).toEqual([false]);
      }
    } finally {
      await plannerSetting('enable_bitmapscan', null);
    }
  });
});
