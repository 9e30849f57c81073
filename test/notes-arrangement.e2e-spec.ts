import { FakeClock } from '@kiroku/clock';
import { Database, SqlParam } from '@kiroku/persistence';
import * as yazl from 'yazl';
import { ApiClient, Json } from './support/api-client';
import { sqliteQueryPlan } from './support/database';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

function zipOf(files: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

const TAG_RULE = 'must be 1 to 32 letters or digits of any script, or _ - . (no spaces or other symbols)';

describeEachEngine('tags in every script', (engine) => {
  let t: TestApp;
  let clock: FakeClock;
  let api: ApiClient;
  let web: WebClient;

  beforeAll(async () => {
    clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0));
    t = await startTestApp(await freshDatabase(engine), { clock });
    ({ api, web } = await ApiClient.forNewUser(t.url, 'tagger@example.com'));
  });
  afterAll(() => t.close());

  const create = async (note: Json) => {
    const res = await api.call('POST', '/api/v1/notes', note);
    expect({ note, status: res.status, body: res.status === 201 ? undefined : res.body }).toEqual({ note, status: 201, body: undefined });
    clock.advance(1000);
    return res.body;
  };
  const titles = async (path: string) => {
    const res = await api.call('GET', path);
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
    return (res.body.items as Json[]).map((n) => n.title).sort();
  };

  it.each([
    ['Japanese', ['会議', '東京'], ['会議', '東京']],
    ['a dot', ['node.js', 'v1.2'], ['node.js', 'v1.2']],
    ['capitals and full-width letters, stored as one lower-case tag', ['Work', 'ＷＯＲＫ', 'work'], ['work']],
    ['accents and other scripts', ['Café', 'Ελληνικά', 'हिंदी', '한국어'], ['café', 'ελληνικά', 'हिंदी', '한국어']],
    ['32 characters, counted in code points', ['あ'.repeat(32), '𠀋'.repeat(32)], ['あ'.repeat(32), '𠀋'.repeat(32)]],
    ['half-width katakana, made full-width (NFKC)', ['ｶｲｷﾞ'], ['カイギ']],
  ])('accepts tags with %s', async (_, tags, stored) => {
    const note = await create({ title: 'tags', body: '', tags });
    expect([...note.tags].sort()).toEqual([...stored].sort());
    expect((await api.call('GET', `/api/v1/notes/${note.id}`)).body.tags).toEqual(note.tags);
    const patched = await api.call('PATCH', `/api/v1/notes/${note.id}`, { tags });
    expect(patched.body.tags).toEqual(note.tags);
    await api.call('DELETE', `/api/v1/notes/${note.id}`);
  });

  it.each([['c++'], ['#tag'], ['two words'], ['emoji🎉'], ['あ'.repeat(33)], [''], ['a/b']])(
    'refuses the tag %j, saying which characters are allowed',
    async (tag) => {
      for (const [method, path] of [
        ['POST', '/api/v1/notes'],
        ['PATCH', `/api/v1/notes/${(await create({ title: 'refusal', body: '' })).id}`],
      ]) {
        const res = await api.call(method, path, { title: 'x', body: '', tags: ['ok', tag] });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(res.body.errors).toEqual([{ field: 'tags', message: TAG_RULE }]);
      }
    },
  );

  it('finds a tag of any script exactly, never as part of another tag: tag: in search (with and without words), ?tag= and -tag:', async () => {
    await create({ title: 'weekly', body: '予定 agenda', tags: ['会議'] });
    await create({ title: 'standing', body: '予定 agenda', tags: ['定例会議'] });
    await create({ title: 'prefix', body: '予定 agenda', tags: ['会議室'] });
    await create({ title: 'tokyo', body: '予定 agenda', tags: ['東京', 'node.js'] });
    const q = (text: string) => `/api/v1/notes?q=${encodeURIComponent(text)}`;
    expect(await titles(q('tag:会議'))).toEqual(['weekly']);
    expect(await titles(q('予定 tag:会議'))).toEqual(['weekly']);
    expect(await titles(`${q('agenda tag:会議')}&sort=newest`)).toEqual(['weekly']);
    expect(await titles(`/api/v1/notes?tag=${encodeURIComponent('会議')}`)).toEqual(['weekly']);
    expect(await titles(q('tag:定例会議'))).toEqual(['standing']);
    expect(await titles(q('tag:会議室 agenda'))).toEqual(['prefix']);
    expect(await titles(q('agenda -tag:会議'))).toEqual(['prefix', 'standing', 'tokyo']);
    // As a tag is stored: NFKC and lower case, in the filter and the operator alike.
    expect(await titles(q('tag:Node.JS'))).toEqual(['tokyo']);
    expect(await titles(`/api/v1/notes?tag=${encodeURIComponent('ＮＯＤＥ.ｊｓ')}`)).toEqual(['tokyo']);
    // A tag's words are searchable like a title's, CJK ones too (bigrams, as in the title and body).
    expect(await titles(q('定例会議'))).toEqual(['standing']);
    const bad = await api.call('GET', `/api/v1/notes?tag=${encodeURIComponent('c++')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: 'tag', message: TAG_RULE }]);
  });

  it('takes such tags on the page (comma or 、 separated) and filters the list by them', async () => {
    await web.get('/notes/new');
    const refused = await web.submit('/notes', { title: 'page tags', body: 'x', tags: '会議, c++', visibility: 'private' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('letters or digits of any script, or _ - .');
    expect(refused.text).toContain('会議, c++');
    const saved = await web.submit('/notes', { title: 'page tags', body: 'x', tags: '議事録、Node.JS, ＡＰＩ', visibility: 'private' });
    expect(saved.status).toBe(303);
    const id = saved.headers.get('location')!.split('/').pop()!;
    expect((await api.call('GET', `/api/v1/notes/${id}`)).body.tags).toEqual(['api', 'node.js', '議事録']);
    const page = await web.get(`/notes/${id}`);
    expect(page.text).toContain(`href="/notes?tag=${encodeURIComponent('議事録')}"`);
    const list = await web.get(`/notes?tag=${encodeURIComponent('議事録')}`);
    expect(list.status).toBe(200);
    expect(list.text).toContain('page tags');
    expect(list.text).toContain('#議事録</span>');
    const search = await web.get(`/notes?q=${encodeURIComponent('tag:議事録')}`);
    expect(search.text).toContain('page tags');
  });

  it('imports a Markdown zip whose front matter has such tags, normalised as typed ones are', async () => {
    const file = (tags: string) => `---\ntitle: imported\ntags: [${tags}]\n---\nbody\n`;
    await web.get('/account');
    const res = await web.upload('/account/notes/import', {
      name: 'notes.zip',
      type: 'application/zip',
      data: await zipOf({ 'a.md': file('会議, Node.JS, ｶｲｷﾞ') }),
    });
    expect(res.status).toBe(303);
    const found = (await api.call('GET', `/api/v1/notes?q=${encodeURIComponent('tag:会議 imported')}`)).body.items as Json[];
    expect(found.map((n) => n.tags)).toEqual([['node.js', 'カイギ', '会議']]);
    await web.get('/account');
    const refused = await web.upload('/account/notes/import', { name: 'bad.zip', type: 'application/zip', data: await zipOf({ 'b.md': file('c++') }) });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('b.md');
  });
});

describeEachEngine('list order and pinning', (engine) => {
  let t: TestApp;
  let clock: FakeClock;
  let api: ApiClient;
  let web: WebClient;
  let other: ApiClient;
  const ids: Record<string, string> = {};
  const keyOf = (id: string) => Object.entries(ids).find(([, v]) => v === id)?.[0] ?? id;

  beforeAll(async () => {
    clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0));
    t = await startTestApp(await freshDatabase(engine), { clock });
    ({ api, web } = await ApiClient.forNewUser(t.url, 'arranger@example.com'));
    ({ api: other } = await ApiClient.forNewUser(t.url, 'other@example.com'));
    // Created a, b, c, d, e, f in that order; then b and d edited, d last.
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) {
      ids[key] = (await api.call('POST', '/api/v1/notes', { title: `note ${key}`, body: `body of ${key}`, tags: ['all'] })).body.id;
      clock.advance(60_000);
    }
    for (const key of ['b', 'd']) {
      expect((await api.call('PATCH', `/api/v1/notes/${ids[key]}`, { body: `edited ${key}` })).status).toBe(200);
      clock.advance(60_000);
    }
  });
  afterAll(() => t.close());

  const list = async (query: string) => {
    const res = await api.call('GET', `/api/v1/notes?${query}`);
    expect({ query, status: res.status, errors: res.body.errors }).toEqual({ query, status: 200, errors: undefined });
    return (res.body.items as Json[]).map((n) => keyOf(n.id));
  };
  /** Every page of a list, `limit` at a time; the order is named on the first request only: the cursor carries it. */
  const paged = async (query: string, limit: number) => {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: Json } = await api.call(
        'GET',
        cursor ? `/api/v1/notes?limit=${limit}&cursor=${cursor}` : `/api/v1/notes?limit=${limit}&${query}`,
      );
      expect(res.status).toBe(200);
      pages.push((res.body.items as Json[]).map((n) => keyOf(n.id)));
      cursor = res.body.nextCursor;
    } while (cursor && pages.length < 20);
    return pages;
  };

  it('lists last updated first by default, or last created first with order=created', async () => {
    expect(await list('')).toEqual(['d', 'b', 'f', 'e', 'c', 'a']);
    expect(await list('order=updated')).toEqual(['d', 'b', 'f', 'e', 'c', 'a']);
    expect(await list('order=created')).toEqual(['f', 'e', 'd', 'c', 'b', 'a']);
    expect(await list('order=created&tag=all')).toEqual(['f', 'e', 'd', 'c', 'b', 'a']);
  });

  it('pins through PATCH without changing updatedAt or the content, and lists pinned notes first in either order', async () => {
    const before = (await api.call('GET', `/api/v1/notes/${ids.c}`)).body;
    clock.advance(60_000);
    for (const key of ['c', 'a']) {
      const res = await api.call('PATCH', `/api/v1/notes/${ids[key]}`, { pinned: true });
      expect(res.status).toBe(200);
      expect(res.body.pinned).toBe(true);
    }
    const after = (await api.call('GET', `/api/v1/notes/${ids.c}`)).body;
    expect(after).toEqual({ ...before, pinned: true });
    expect(await list('')).toEqual(['c', 'a', 'd', 'b', 'f', 'e']);
    expect(await list('order=created')).toEqual(['c', 'a', 'f', 'e', 'd', 'b']);
    // Search results keep their own order; a tag-only search is a list.
    expect(await list(`q=${encodeURIComponent('tag:all')}&order=created`)).toEqual(['c', 'a', 'f', 'e', 'd', 'b']);
    // An edit moves a pinned note within the pinned ones.
    await api.call('PATCH', `/api/v1/notes/${ids.a}`, { title: 'note a', body: 'edited a', pinned: true });
    clock.advance(60_000);
    expect(await list('')).toEqual(['a', 'c', 'd', 'b', 'f', 'e']);
  });

  it.each([
    ['updated', ['a', 'c', 'd', 'b', 'f', 'e']],
    ['created', ['c', 'a', 'f', 'e', 'd', 'b']],
  ])('pages through order=%s across the pinned notes and the others, as one long page, the cursor carrying the order', async (order, expected) => {
    expect(await list(`order=${order}`)).toEqual(expected);
    for (const limit of [1, 2, 4, 5]) {
      const pages = await paged(`order=${order}`, limit);
      expect({ limit, all: pages.flat() }).toEqual({ limit, all: expected });
      expect(pages).toHaveLength(Math.ceil(expected.length / limit));
    }
  });

  it('refuses an unknown order, a cursor of the other order, and a pinned that is not a boolean, as problem+json naming the field', async () => {
    const bad = await api.call('GET', '/api/v1/notes?order=oldest');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: 'order', message: 'must be updated or created' }]);
    const first = (await api.call('GET', '/api/v1/notes?limit=2&order=updated')).body;
    const other = await api.call('GET', `/api/v1/notes?limit=2&order=created&cursor=${first.nextCursor}`);
    expect(other.status).toBe(400);
    expect(other.body.errors).toEqual([{ field: 'cursor', message: 'is not a cursor from this list' }]);
    const search = (await api.call('GET', '/api/v1/notes?q=body&limit=1')).body;
    expect((await api.call('GET', `/api/v1/notes?limit=1&cursor=${search.nextCursor}`)).status).toBe(400);
    const pinned = await api.call('PATCH', `/api/v1/notes/${ids.e}`, { pinned: 'yes' });
    expect(pinned.status).toBe(400);
    expect(pinned.body.errors).toEqual([{ field: 'pinned', message: 'must be true or false' }]);
  });

  it("goes on from an earlier version's cursor, in order of creation", async () => {
    const legacy = Buffer.from(['k', Date.parse((await api.call('GET', `/api/v1/notes/${ids.d}`)).body.createdAt), ids.d].join('\n')).toString('base64url');
    expect((await api.call('GET', `/api/v1/notes?cursor=${legacy}`)).body.items.map((n: Json) => keyOf(n.id))).toEqual(['b']);
  });

  it("pins another person's note never: 404 through the API and the page", async () => {
    expect((await other.call('PATCH', `/api/v1/notes/${ids.e}`, { pinned: true })).status).toBe(404);
    expect((await api.call('GET', `/api/v1/notes/${ids.e}`)).body.pinned).toBe(false);
  });

  it('pins and unpins from the note page (a form with the CSRF token), and shows the order control and the pinned notes first on the list page', async () => {
    await web.login('arranger@example.com', 'a long enough passphrase');
    const page = await web.get(`/notes/${ids.f}`);
    expect(page.text).toMatch(new RegExp(`<form method="post" action="/notes/${ids.f}/pin">\\s*<input type="hidden" name="_csrf"`));
    expect(page.text).toContain('Pin to top');
    const before = (await api.call('GET', `/api/v1/notes/${ids.f}`)).body;
    const pinned = await web.submit(`/notes/${ids.f}/pin`, {});
    expect(pinned.status).toBe(303);
    expect(pinned.headers.get('location')).toBe(`/notes/${ids.f}`);
    const shown = await web.get(`/notes/${ids.f}`);
    expect(shown.text).toContain('Pinned: the note stays at the top of your list.');
    expect(shown.text).toContain(`action="/notes/${ids.f}/unpin"`);
    expect((await api.call('GET', `/api/v1/notes/${ids.f}`)).body).toEqual({ ...before, pinned: true });
    // Without the form's token, nothing changes.
    expect((await web.request('POST', `/notes/${ids.f}/unpin`, { form: {} })).status).toBe(403);

    const listed = await web.get('/notes');
    const order = [...listed.text.matchAll(/<h2><a href="\/notes\/([^"]+)">/g)].map((m) => keyOf(m[1]));
    expect(order).toEqual(['a', 'f', 'c', 'd', 'b', 'e']);
    expect(listed.text).toContain('<a href="/notes?order=updated" aria-current="page">Last updated</a>');
    const created = await web.get('/notes?order=created');
    expect(created.text).toContain('<a href="/notes?order=created" aria-current="page">Created</a>');
    expect([...created.text.matchAll(/<h2><a href="\/notes\/([^"]+)">/g)].map((m) => keyOf(m[1]))).toEqual(['f', 'c', 'a', 'e', 'd', 'b']);

    expect((await web.submit(`/notes/${ids.f}/unpin`, {})).status).toBe(303);
    expect((await api.call('GET', `/api/v1/notes/${ids.f}`)).body).toEqual(before);
    const ja = await web.get(`/notes/${ids.f}`, { 'accept-language': 'ja' });
    expect(ja.text).toContain('先頭にピン留め');
  });

  it('walks an index for either order and either part (pinned or not) on this engine, with no sort step, among 5,000 notes', async () => {
    const db = t.app.get(Database);
    const [{ owner }] = await db.select<{ owner: string }>('SELECT owner_id AS owner FROM notes WHERE id = $1', [ids.a]);
    const plans = await withManyNotes(db, owner, async (explain) => {
      const found: Array<{ order: string; pinned: string; index: string; plan: string }> = [];
      for (const [order, index] of [
        ['updated_at', 'idx_notes_owner_pinned_updated'],
        ['created_at', 'idx_notes_owner_pinned_created'],
      ]) {
        for (const pinned of ['TRUE', 'FALSE']) {
          // As NotesRepository.page writes it, on a later page.
          const sql = `SELECT n.id FROM notes n WHERE n.owner_id = $1 AND n.pinned = ${pinned} AND n.deleted_at IS NULL
            AND (n.${order} < $2 OR (n.${order} = $2 AND n.id < $3)) ORDER BY n.${order} DESC, n.id DESC LIMIT 21`;
          found.push({ order, pinned, index, plan: await explain(sql, [owner, 4_000, ids.a]) });
        }
      }
      return found;
    });
    for (const { order, pinned, index, plan } of plans) {
      // The pinned part must not read the others; the rest may also walk (owner_id, created_at, id), skipping the few pinned.
      const usable = pinned === 'TRUE' || order === 'updated_at' ? index : /idx_notes_owner_(pinned_)?created/;
      expect({ order, pinned, plan }).toEqual({
        order,
        pinned,
        plan: typeof usable === 'string' ? expect.stringContaining(usable) : expect.stringMatching(usable),
      });
      expect({ order, pinned, plan }).not.toEqual({ order, pinned, plan: expect.stringMatching(/TEMP B-TREE|Sort/) });
    }
  });
});

/**
 * Runs `fn` with 5,000 more notes of the owner (one in 1,000 pinned) and fresh planner statistics, in a
 * transaction rolled back afterwards: a plan over six notes says little about one over many.
 */
async function withManyNotes<T>(db: Database, ownerId: string, fn: (explain: (sql: string, params: SqlParam[]) => Promise<string>) => Promise<T>): Promise<T> {
  const runner = db.dataSource.createQueryRunner();
  await runner.connect();
  await runner.startTransaction();
  try {
    const $ = (sql: string) => (db.engine === 'sqlite' ? sql.replace(/\$\d+/g, '?') : sql);
    const rows =
      db.engine === 'sqlite'
        ? 'WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 5000) SELECT x FROM g'
        : 'SELECT x FROM generate_series(1, 5000) AS g(x)';
    await runner.query(
      $(`INSERT INTO notes (id, owner_id, title, body, visibility, created_at, updated_at, pinned)
         SELECT 'generated-' || x, $1, 't', '', 'private', x, x, x % 1000 = 0 FROM (${rows}) AS s`),
      [ownerId],
    );
    await runner.query('ANALYZE notes');
    return await fn(async (sql, params) => {
      if (db.engine === 'sqlite') return sqliteQueryPlan((q, values) => runner.query(q, values), sql, params);
      const rows: Array<{ 'QUERY PLAN': string }> = await runner.query(`EXPLAIN ${sql}`, params);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
  } finally {
    await runner.rollbackTransaction();
    await runner.release();
  }
}
