import { FakeClock } from '@kiroku/clock';
import { Database, SqlParam } from '@kiroku/persistence';
import { NotesService } from '../src/modules/notes';
import { ApiClient, Json } from './support/api-client';
import { planRowsOf, sqliteQueryPlan } from './support/database';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';

/** More notes than RARE_TAG_NOTES (1,000) carry `common`: a filter on it walks the list as before. */
const COMMON = 1_050;
const UNTAGGED = 300;

/**
 * A list filtered by a tag few notes carry costs those notes, not the account (issue 17): walking the list in
 * order to find three old notes read every note of the account. The notes of a rare tag are read from the tag
 * (note_tags) and sorted; a tag on many notes is still found by the walk, which meets a page early.
 */
describeEachEngine('a tag filter reads the notes of its tag', (engine) => {
  let t: TestApp;
  let api: ApiClient;
  let db: Database;
  const rare: string[] = [];
  beforeAll(async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    t = await startTestApp(await freshDatabase(engine), { clock });
    ({ api } = await ApiClient.forNewUser(t.url, 'tagger@example.com'));
    db = t.app.get(Database);
    const owner = (await api.call('GET', '/api/v1/me')).body.id as string;
    const notes = t.app.get(NotesService);
    const create = async (title: string, tags: string[]) => {
      clock.advance(60_000);
      return (await notes.create(owner, { title, body: `${title} body`, tags, visibility: 'private' })).id;
    };
    // The oldest notes carry the rare tag (the first one also the common tag): a walk would pass every other note.
    rare.push(await create('rare 0', ['rare', 'common']), await create('rare 1', ['rare']), await create('rare 2', ['rare']));
    for (let i = 1; i < COMMON; i++) await create(`common ${i}`, ['common']);
    for (let i = 0; i < UNTAGGED; i++) await create(`plain ${i}`, []);
    await notes.pin(owner, rare[0], true);
    await db.manager.query(engine === 'postgres' ? 'ANALYZE notes, note_tags, tags' : 'ANALYZE');
  }, 120_000);
  afterAll(() => t?.close());

  /** The list statements (on notes n) the application sends for a request, with their parameters, and its answer. */
  async function listStatements(path: string): Promise<{ body: Json; statements: Array<{ sql: string; params: SqlParam[] }> }> {
    const spy = jest.spyOn(db, 'selectValues');
    try {
      const res = await api.call('GET', path);
      expect(res.status).toBe(200);
      const statements = spy.mock.calls.filter(([sql]) => /FROM notes n/.test(sql)).map(([sql, params]) => ({ sql, params: [...(params ?? [])] }));
      return { body: res.body, statements };
    } finally {
      spy.mockRestore();
    }
  }

  /** How many note rows a statement reads (PostgreSQL), or its plan's text (SQLite). */
  async function cost(statement: { sql: string; params: SqlParam[] }): Promise<number | string> {
    if (engine === 'postgres') {
      const [{ 'QUERY PLAN': plan }] = await db.manager.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.sql}`, statement.params);
      return planRowsOf(plan[0].Plan, 'notes');
    }
    return sqliteQueryPlan((q, values) => db.manager.query(q, values), statement.sql, statement.params);
  }

  it('pages through a rare tag, pinned note first, reading its notes only', async () => {
    const first = await listStatements('/api/v1/notes?tag=rare&limit=2');
    expect((first.body.items as Json[]).map((n) => n.title)).toEqual(['rare 0', 'rare 2']);
    const second = await listStatements(`/api/v1/notes?tag=rare&limit=2&cursor=${first.body.nextCursor}`);
    expect((second.body.items as Json[]).map((n) => n.title)).toEqual(['rare 1']);
    expect(second.body.nextCursor).toBeNull();
    for (const statement of [...first.statements, ...second.statements]) {
      expect(statement.sql).toContain('note_tags');
      const read = await cost(statement);
      // The walk read all 1,353 notes; the tag's notes are 3 (per part on PostgreSQL).
      if (engine === 'postgres') expect(read).toBeLessThanOrEqual(6);
      else expect(read).toMatch(/SEARCH n USING INDEX \S+ \(id=\?\)/);
    }
  });

  it('finds the notes with every tag asked for, read from the rarer one', async () => {
    const { body, statements } = await listStatements(`/api/v1/notes?q=${encodeURIComponent('tag:common tag:rare')}`);
    expect((body.items as Json[]).map((n) => n.title)).toEqual(['rare 0']);
    expect(statements.every((s) => s.sql.includes('note_tags'))).toBe(true);
  });

  it('walks the list for a tag on many notes, which meets a page early', async () => {
    const { body, statements } = await listStatements('/api/v1/notes?tag=common&limit=3');
    expect((body.items as Json[]).map((n) => n.title)).toEqual(['rare 0', `common ${COMMON - 1}`, `common ${COMMON - 2}`]);
    expect(statements.some((s) => s.sql.includes('note_tags'))).toBe(false);
  });

  it('answers a tag that is none of the reader’s with no notes, without reading any', async () => {
    const { body, statements } = await listStatements('/api/v1/notes?tag=nosuchtag');
    expect(body.items).toEqual([]);
    expect(body.nextCursor).toBeNull();
    expect(statements).toEqual([]);
  });
});
