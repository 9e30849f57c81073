import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { TaskScheduler } from '@kiroku/scheduler';
import { ApiClient, Json } from './support/api-client';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

describeEachEngine('notes', (engine) => {
  let t: TestApp;
  let clock: FakeClock;
  let alice: ApiClient;
  let aliceWeb: WebClient;
  let bob: ApiClient;
  let bobWeb: WebClient;

  beforeAll(async () => {
    clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0));
    t = await startTestApp(await freshDatabase(engine), { clock });
    ({ api: alice, web: aliceWeb } = await ApiClient.forNewUser(t.url, 'alice@example.com'));
    ({ api: bob, web: bobWeb } = await ApiClient.forNewUser(t.url, 'bob@example.com'));
  });
  afterAll(() => t.close());

  const create = async (api: ApiClient, note: Json) => {
    const res = await api.call('POST', '/api/v1/notes', note);
    expect(res.status).toBe(201);
    clock.advance(1000);
    return res.body;
  };

  it('creates, reads, updates, lists and deletes through the API', async () => {
    const created = await create(alice, { title: 'First', body: '# Hello', tags: ['work', 'a_b-1', 'work'] });
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      title: 'First',
      body: '# Hello',
      tags: ['a_b-1', 'work'],
      visibility: 'private',
      editableByTeam: false,
      ownerId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      ownerName: 'Test User',
      pinned: false,
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: created.createdAt,
      version: 1,
    });
    expect((await alice.call('GET', `/api/v1/notes/${created.id}`)).body).toEqual(created);
    const patched = await alice.call('PATCH', `/api/v1/notes/${created.id}`, { title: 'First, edited', tags: [] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ title: 'First, edited', body: '# Hello', tags: [], visibility: 'private', version: 2 });
    expect(patched.body.updatedAt > created.updatedAt).toBe(true);
    const list = await alice.call('GET', '/api/v1/notes');
    expect(list.body.items.map((n: Json) => n.id)).toContain(created.id);
    expect(list.body).toHaveProperty('nextCursor');
    const deleted = await alice.call('DELETE', `/api/v1/notes/${created.id}`);
    expect(deleted.status).toBe(204);
    expect((await alice.call('GET', `/api/v1/notes/${created.id}`)).status).toBe(404);
    expect((await alice.call('DELETE', `/api/v1/notes/${created.id}`)).status).toBe(404);
  });

  it('lists and searches each note with its own tags, in byte order, as a single read gives them', async () => {
    const notes = [
      await create(alice, { title: 'Tagged zeta', body: 'tagsort zeta', tags: ['z-last', 'a_first', 'm0', '_under', '-dash'] }),
      await create(alice, { title: 'Tagged none', body: 'tagsort none' }),
      await create(alice, { title: 'Tagged one', body: 'tagsort one', tags: ['solo'] }),
    ];
    expect(notes[0].tags).toEqual(['-dash', '_under', 'a_first', 'm0', 'z-last']);
    for (const path of ['/api/v1/notes?limit=3', '/api/v1/notes?q=tagsort']) {
      const items: Json[] = (await alice.call('GET', path)).body.items;
      for (const note of notes) expect({ path, note: note.title, item: items.find((i) => i.id === note.id) }).toEqual({ path, note: note.title, item: note });
    }
    for (const note of notes) await alice.call('DELETE', `/api/v1/notes/${note.id}`);
  });

  it.each([
    ['an empty title', { title: '', body: '' }, 'title'],
    ['a 201-character title', { title: 'x'.repeat(201), body: '' }, 'title'],
    ['a title with a control character', { title: 'a\u0000b', body: '' }, 'title'],
    ['a body over 100,000 characters', { title: 't', body: 'x'.repeat(100_001) }, 'body'],
    ['21 tags', { title: 't', body: '', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    ['a tag with a symbol', { title: 't', body: '', tags: ['c++'] }, 'tags'],
    ['a 33-character tag', { title: 't', body: '', tags: ['x'.repeat(33)] }, 'tags'],
    ['an unknown visibility', { title: 't', body: '', visibility: 'secret' }, 'visibility'],
    ['a role field', { title: 't', body: '', role: 'admin' }, 'role'],
    ['an ownerId field', { title: 't', body: '', ownerId: '00000000-0000-0000-0000-000000000000' }, 'ownerId'],
    ['a nested object as title', { title: { $gt: '' }, body: '' }, 'title'],
    ['a missing body', { title: 't' }, 'body'],
  ])('refuses %s with a 400 naming the field', async (_label, body, field) => {
    const res = await alice.call('POST', '/api/v1/notes', body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
    expect(res.body.errors.map((e: Json) => e.field)).toContain(field);
  });

  it('accepts the limits exactly (200 characters of title in any script, 100,000 of body, 20 tags)', async () => {
    const res = await alice.call('POST', '/api/v1/notes', {
      title: '記'.repeat(200),
      body: 'x'.repeat(100_000),
      tags: Array.from({ length: 20 }, (_, i) => `t${i}`),
    });
    expect(res.status).toBe(201);
  });

  it('answers 413 over 1 MiB, 400 for malformed JSON, 404 for invalid ids, 400 for bad list parameters', async () => {
    expect((await alice.call('POST', '/api/v1/notes', undefined, JSON.stringify({ title: 't', body: 'x'.repeat(1024 * 1024) }))).status).toBe(413);
    expect((await alice.call('POST', '/api/v1/notes', undefined, '{"title": "t", ')).status).toBe(400);
    expect((await alice.call('GET', '/api/v1/notes/not-a-uuid')).status).toBe(404);
    expect((await alice.call('PATCH', "/api/v1/notes/1' OR '1'='1", { title: 'x' })).status).toBe(404);
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['cursor=bogus', 'cursor'],
      ['tag=Bad%20Tag', 'tag'],
      ['q=deploy&sort=oldest', 'sort'],
      ['q=deploy&sort=Newest', 'sort'],
    ]) {
      const res = await alice.call('GET', `/api/v1/notes?${query}`);
      expect({ query, status: res.status, fields: res.body.errors?.map((e: Json) => e.field) }).toEqual({ query, status: 400, fields: [field] });
    }
  });

  it("keeps another user's private note a 404 for read, update and delete, through the API and the pages", async () => {
    const secret = await create(alice, { title: 'Private plans', body: 'secret' });
    expect((await bob.call('GET', `/api/v1/notes/${secret.id}`)).status).toBe(404);
    expect((await bob.call('PATCH', `/api/v1/notes/${secret.id}`, { title: 'pwned' })).status).toBe(404);
    expect((await bob.call('DELETE', `/api/v1/notes/${secret.id}`)).status).toBe(404);
    expect((await bobWeb.get(`/notes/${secret.id}`)).status).toBe(404);
    expect((await bobWeb.get(`/notes/${secret.id}/edit`)).status).toBe(404);
    await bobWeb.get('/notes');
    expect((await bobWeb.submit(`/notes/${secret.id}`, { title: 'pwned', body: '', tags: '', visibility: 'public' })).status).toBe(404);
    expect((await bobWeb.submit(`/notes/${secret.id}/delete`, {})).status).toBe(404);
    expect((await new WebClient(t.url).get(`/notes/${secret.id}`)).status).toBe(404);
    expect((await alice.call('GET', `/api/v1/notes/${secret.id}`)).body.title).toBe('Private plans');
    expect((await bob.call('GET', '/api/v1/notes?q=secret')).body.items).toEqual([]);
  });

  it('shows a public note to anyone with the link, read-only', async () => {
    const shared = await create(alice, { title: 'Shared recipe', body: '**flour**', visibility: 'public', tags: ['food'] });
    const anonymous = await new WebClient(t.url).get(`/notes/${shared.id}`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.text).toContain('<strong>flour</strong>');
    expect(anonymous.text).not.toContain(`/notes/${shared.id}/edit`);
    expect(anonymous.text).toContain('Read-only');
    expect((await bob.call('GET', `/api/v1/notes/${shared.id}`)).status).toBe(200);
    // Readable, so not a 404: only its owner changes it.
    expect((await bob.call('PATCH', `/api/v1/notes/${shared.id}`, { title: 'mine now' })).status).toBe(403);
    expect((await bobWeb.get(`/notes/${shared.id}/edit`)).status).toBe(403);
    expect((await alice.call('GET', `/api/v1/notes/${shared.id}`)).body.title).toBe('Shared recipe');
    const owner = await aliceWeb.get(`/notes/${shared.id}`);
    expect(owner.text).toContain(`value="http://localhost:8888/notes/${shared.id}"`);
  });

  it('writes, edits and tags notes through the pages, with form errors shown in place', async () => {
    await aliceWeb.get('/notes/new');
    const bad = await aliceWeb.submit('/notes', { title: '', body: 'x', tags: 'Good, bad tag', visibility: 'private' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Give the note a title of 1 to 200 characters.');
    expect(bad.text).toContain('Up to 20 tags');
    const ok = await aliceWeb.submit('/notes', { title: 'Weekly review', body: '- item one\n- item two', tags: 'Review, weekly', visibility: 'private' });
    expect(ok.status).toBe(303);
    const location = ok.headers.get('location')!;
    const page = await aliceWeb.get(location);
    expect(page.text).toContain('<li>item one</li>');
    expect(page.text).toContain('href="/notes?tag=review"');
    const id = location.split('/').pop()!;
    await aliceWeb.get(`/notes/${id}/edit`);
    expect((await aliceWeb.submit(`/notes/${id}`, { title: 'Weekly review (done)', body: 'done', tags: 'review', visibility: 'public' })).status).toBe(303);
    const api = (await alice.call('GET', `/api/v1/notes/${id}`)).body;
    expect(api).toMatchObject({ title: 'Weekly review (done)', body: 'done', tags: ['review'], visibility: 'public' });
    const tagged = await aliceWeb.get('/notes?tag=review');
    expect(tagged.text).toContain('Weekly review (done)');
    expect((await alice.call('GET', '/api/v1/notes?tag=review')).body.items.map((n: Json) => n.id)).toEqual([id]);
  });

  it('renders hostile title, body and tags as text', async () => {
    const xss = '<script>alert(1)</script>"><img src=x onerror=alert(2)>{{7*7}}</textarea>';
    const note = await create(alice, { title: xss, body: `${xss}\n\n[click](javascript:alert(3)) <a href="javascript:alert(4)">x</a>`, tags: ['safe'] });
    for (const path of [`/notes/${note.id}`, '/notes', `/notes/${note.id}/edit`, `/notes?q=${encodeURIComponent('script')}`]) {
      const page = await aliceWeb.get(path);
      expect(page.status).toBe(200);
      // Real elements only: the same characters as escaped text are fine.
      expect({ path, active: /<script>alert|<img\b|<a\b[^>]*href="javascript:/i.exec(page.text)?.[0] ?? null }).toEqual({ path, active: null });
    }
    expect((await aliceWeb.get(`/notes/${note.id}`)).text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('moves deleted notes to a trash they can be restored from, and purges them after 30 days', async () => {
    const keep = await create(alice, { title: 'Trash me, then restore', body: 'restore me' });
    const purge = await create(alice, { title: 'Trash me for good', body: 'bye' });
    await aliceWeb.get(`/notes/${keep.id}`);
    expect((await aliceWeb.submit(`/notes/${keep.id}/delete`, {})).status).toBe(303);
    expect((await alice.call('DELETE', `/api/v1/notes/${purge.id}`)).status).toBe(204);
    const trash = await aliceWeb.get('/notes/trash');
    expect(trash.text).toContain('Trash me, then restore');
    expect((await alice.call('GET', '/api/v1/notes?q=restore')).body.items).toEqual([]);
    expect((await aliceWeb.submit(`/notes/${keep.id}/restore`, {})).status).toBe(303);
    expect((await alice.call('GET', '/api/v1/notes?q=restore')).body.items.map((n: Json) => n.id)).toEqual([keep.id]);

    const db = t.app.get(Database);
    const scheduler = t.app.get(TaskScheduler);
    clock.advance(29 * 24 * 3_600_000);
    clock.set(new Date(Math.floor(clock.nowMs() / 86_400_000) * 86_400_000 + (4 * 60 + 23) * 60_000));
    expect(await scheduler.runSlot('prune-records')).toBe('succeeded');
    expect(await db.dataSource.query(`SELECT id FROM notes WHERE id = '${purge.id}'`)).toHaveLength(1);
    clock.advance(2 * 24 * 3_600_000);
    expect(await scheduler.runSlot('prune-records')).toBe('succeeded');
    expect(await db.dataSource.query(`SELECT id FROM notes WHERE id = '${purge.id}'`)).toHaveLength(0);
    expect(await db.dataSource.query(`SELECT id FROM notes WHERE id = '${keep.id}'`)).toHaveLength(1);
    // A background task's line: the application stream, no request id, what ran and how it went.
    const taskLine = t.logs.lines.find((l) => l.task === 'prune-records' && l.outcome === 'succeeded');
    expect(taskLine).toMatchObject({
      stream: 'app',
      level: 'info',
      context: 'Scheduler',
      slot: expect.any(String),
      durationMs: expect.any(Number),
      instance: expect.any(String),
    });
    expect(taskLine).not.toHaveProperty('reqId');
  });
});

describeEachEngine('search', (engine) => {
  let t: TestApp;
  let api: ApiClient;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine));
    ({ api } = await ApiClient.forNewUser(t.url, 'searcher@example.com'));
    const notes: Record<string, Json> = {
      deploy: { title: 'Deploy checklist', body: 'Do a rolling restart of the web tier, then check the dashboards.', tags: ['ops'] },
      staging: { title: 'Staging notes', body: 'restart rolling? no: staging deploy happens nightly', tags: ['ops', 'draft'] },
      tokyo: { title: '会議メモ', body: '明日は東京で会議。議題はKirokuの設計レビュー。', tags: ['meeting'] },
      design: { title: 'Kiroku設計', body: 'APIの設計とsearch indexについて', tags: [] },
      sql: { title: "O'Reilly; DROP TABLE", body: '100% sure about _underscores_ and "quotes"', tags: [] },
    };
    for (const [key, note] of Object.entries(notes)) ids[key] = (await api.call('POST', '/api/v1/notes', note)).body.id;
  });
  afterAll(() => t.close());

  const search = async (q: string) => {
    const res = await api.call('GET', `/api/v1/notes?q=${encodeURIComponent(q)}`);
    expect({ q, status: res.status }).toEqual({ q, status: 200 });
    return res.body.items.map((n: Json) => Object.entries(ids).find(([, id]) => id === n.id)![0]).sort();
  };

  it.each([
    ['deploy', ['deploy', 'staging']],
    ['DEPLOY', ['deploy', 'staging']],
    ['"rolling restart"', ['deploy']],
    ['deploy -staging', ['deploy']],
    ['deploy -"staging deploy"', ['deploy']],
    ['tag:ops', ['deploy', 'staging']],
    ['tag:ops -tag:draft', ['deploy']],
    ['restart tag:draft', ['staging']],
    ['東京', ['tokyo']],
    ['東京で会議', ['tokyo']],
    ['設計', ['design', 'tokyo']],
    ['設計 search', ['design']],
    ['kiroku 設計', ['design', 'tokyo']],
    ['会議 -東京', []],
    ['議', ['tokyo']],
    ['nothing-matches-this', []],
    ['__ deploy', ['deploy', 'staging']],
  ])('%j finds %j', async (q, expected) => {
    expect(await search(q)).toEqual(expected);
  });

  it.each([
    "'; DROP TABLE notes; --",
    '" OR 1=1 --',
    '"unbalanced',
    '-',
    '--',
    '"',
    '""',
    '*',
    'a*',
    'NEAR(a b)',
    'AND OR NOT',
    '^deploy',
    'title:deploy',
    '(deploy',
    'deploy)',
    '\\',
    '%',
    '_',
    '&',
    '|',
    '!',
    ':*',
    "'",
    'tag:',
    'tag:Bad Tag',
    '-tag:',
    '東',
    'x'.repeat(500),
  ])('never fails on %j', async (q) => {
    const res = await api.call('GET', `/api/v1/notes?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(200);
  });

  it.each(['\u0000', 'a\u0085', 'x'.repeat(501)])('refuses %j with a 400 naming q (the text rule of every field)', async (q) => {
    const res = await api.call('GET', `/api/v1/notes?q=${encodeURIComponent(q)}`);
    expect(res).toMatchObject({ status: 400, body: { errors: [{ field: 'q' }] } });
  });

  it('still has every note afterwards (no query reached SQL as text)', async () => {
    expect((await api.call('GET', '/api/v1/notes?limit=100')).body.items).toHaveLength(5);
  });

  it('ranks title matches first and shows a highlighted snippet on the page', async () => {
    const res = await api.call('GET', `/api/v1/notes?q=${encodeURIComponent('deploy')}`);
    expect(res.body.items[0].id).toBe(ids.deploy);
    const web = new WebClient(t.url);
    await web.login('searcher@example.com', 'a long enough passphrase');
    const page = await web.get(`/notes?q=${encodeURIComponent('東京')}`);
    expect(page.text).toContain('<mark>東京</mark>');
    const odd = await web.get(`/notes?q=${encodeURIComponent('"unbalanced')}`);
    expect(odd.status).toBe(200);
    expect(odd.text).toContain('<p class="notice" role="status">A quotation mark was not closed'); // information, not an error
  });
});

describeEachEngine('search as people type it', (engine) => {
  let t: TestApp;
  let api: ApiClient;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine));
    ({ api } = await ApiClient.forNewUser(t.url, 'typist@example.com'));
    const notes: Record<string, Json> = {
      plum: { title: 'Order', body: 'Reorder plum-137 before 2026-12-04.', tags: [] },
      release: { title: 'Release v2.0.1', body: 'Mail ada@example.com about foo_bar and C++.', tags: ['ops'] },
      apple: { title: 'Apple pie', body: 'Café au lait and ＡＰＩ docs.', tags: [] },
      apply: { title: 'How to apply', body: 'Applications close soon.', tags: ['draft'] },
      pear: { title: 'Pear', body: 'nothing else', tags: [] },
    };
    for (const [key, note] of Object.entries(notes)) ids[key] = (await api.call('POST', '/api/v1/notes', note)).body.id;
  });
  afterAll(() => t.close());

  const search = async (q: string) => {
    const res = await api.call('GET', `/api/v1/notes?q=${encodeURIComponent(q)}`);
    expect({ q, status: res.status }).toEqual({ q, status: 200 });
    return res.body.items.map((n: Json) => Object.entries(ids).find(([, id]) => id === n.id)![0]).sort();
  };

  it.each([
    ['137', ['plum']],
    ['plum-137', ['plum']],
    ['plum', ['plum']],
    ['2026-12-04', ['plum']],
    ['12-04', ['plum']],
    ['"2026 12 04"', ['plum']],
    ['v2.0.1', ['release']],
    ['0.1', ['release']],
    ['ada@example.com', ['release']],
    ['example', ['release']],
    ['foo_bar', ['release']],
    ['bar', ['release']],
    ['C++', ['release']],
    ['cafe', ['apple']],
    ['api', ['apple']],
    ['appl', ['apple', 'apply']],
    ['ap', ['apple', 'apply']],
    ['"appl"', []],
    ['pie appl', ['apple']],
    ['appl pie', []],
    ['pear OR plum', ['pear', 'plum']],
    ['"apple pie" OR pear', ['apple', 'pear']],
    ['-pie appl', ['apply']],
    ['tag:draft appl', ['apply']],
    ['pear or plum', []],
  ])('%j finds %j', async (q, expected) => {
    expect(await search(q)).toEqual(expected);
  });

  it('explains the whole grammar on the page, in English and in Japanese, without JavaScript', async () => {
    const web = new WebClient(t.url);
    await web.login('typist@example.com', 'a long enough passphrase');
    const en = await web.get('/notes?q=appl', { 'accept-language': 'en' });
    expect(en.text).toContain('How search reads what you type');
    for (const example of ['"rolling restart"', '-staging', 'tag:ops', 'apple OR pear', 'appl', 'plum-137'])
      expect(en.text).toContain(`<code>${example}</code>`);
    expect(en.text).toContain('The last word also finds longer words');
    await web.get('/account');
    expect((await web.submit('/account/preferences', { locale: 'ja', timeZone: 'Asia/Tokyo' })).status).toBe(303);
    const ja = await web.get('/notes?q=appl');
    expect(ja.text).toContain('検索の書き方');
    expect(ja.text).toContain('最後の単語は、それで始まる長い単語にも一致します');
  });
});

describeEachEngine('search order', (engine) => {
  let t: TestApp;
  let api: ApiClient;
  let clock: FakeClock;
  const ids: Record<string, string> = {};
  const keyOf = (id: string) => Object.entries(ids).find(([, v]) => v === id)![0];

  beforeAll(async () => {
    clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0));
    t = await startTestApp(await freshDatabase(engine), { clock });
    ({ api } = await ApiClient.forNewUser(t.url, 'orderer@example.com'));
    // Oldest first; the word in the title, in a tag, or in the body only; a phrase in the title of one.
    const notes: Array<[string, Json]> = [
      ['titleOld', { title: 'Harbour pilot schedule', body: 'who guides ships in' }],
      ['bodyOld', { title: 'Monday', body: 'called the harbour master about the pilot boat' }],
      ['tagged', { title: 'Boats', body: 'the harbour is full', tags: ['harbour'] }],
      ['bodyNew', { title: 'Friday', body: 'harbour fees went up' }],
      ['titleNew', { title: 'New harbour office', body: 'opens next week' }],
      ['other', { title: 'Unrelated', body: 'nothing to see' }],
    ];
    for (const [key, note] of notes) {
      ids[key] = (await api.call('POST', '/api/v1/notes', note)).body.id;
      clock.advance(60_000);
    }
  });
  afterAll(() => t.close());

  const search = async (query: string) => {
    const res = await api.call('GET', `/api/v1/notes?${query}`);
    expect({ query, status: res.status }).toEqual({ query, status: 200 });
    return (res.body.items as Json[]).map((n) => keyOf(n.id));
  };

  it('by relevance (the default), notes with the words in the title or tags come first, then the others, each newest first', async () => {
    const expected = ['titleNew', 'tagged', 'titleOld', 'bodyNew', 'bodyOld'];
    expect(await search('q=harbour')).toEqual(expected);
    expect(await search('q=harbour&sort=relevance')).toEqual(expected);
    // Every word must be in the title or tags for the first part: "pilot" is in one title, "harbour pilot" too.
    expect(await search(`q=${encodeURIComponent('harbour pilot')}`)).toEqual(['titleOld', 'bodyOld']);
    expect(await search(`q=${encodeURIComponent('"harbour master"')}`)).toEqual(['bodyOld']);
  });

  it('with sort=newest, every match newest first, with exclusions and tag filters applied', async () => {
    expect(await search('q=harbour&sort=newest')).toEqual(['titleNew', 'bodyNew', 'tagged', 'bodyOld', 'titleOld']);
    expect(await search(`q=${encodeURIComponent('harbour -pilot')}&sort=newest`)).toEqual(['titleNew', 'bodyNew', 'tagged']);
    expect(await search(`q=${encodeURIComponent('harbour tag:harbour')}&sort=newest`)).toEqual(['tagged']);
  });

  it.each(['relevance', 'newest'])('pages through the results of sort=%s with the cursor, two at a time, in the order of one long page', async (sort) => {
    const all = await search(`q=harbour&sort=${sort}&limit=100`);
    const paged: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: Json } = await api.call('GET', `/api/v1/notes?q=harbour&sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      paged.push(...(res.body.items as Json[]).map((n) => keyOf(n.id)));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(paged).toEqual(all);
    expect(pages).toBe(3);
  });

  it('refuses a cursor of the other order, and an unknown order, as problem+json naming the field', async () => {
    const first = (await api.call('GET', '/api/v1/notes?q=harbour&limit=2')).body;
    const other = await api.call('GET', `/api/v1/notes?q=harbour&sort=newest&limit=2&cursor=${first.nextCursor}`);
    expect(other.status).toBe(400);
    expect(other.body.errors).toEqual([{ field: 'cursor', message: 'is not a cursor from this list' }]);
    const bad = await api.call('GET', '/api/v1/notes?q=harbour&sort=best');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(bad.body.errors).toEqual([{ field: 'sort', message: 'must be relevance or newest' }]);
  });

  it('offers the order on the search page, keeps it on the next page, and shows the results in it', async () => {
    const web = new WebClient(t.url);
    await web.login('orderer@example.com', 'a long enough passphrase');
    const page = await web.get('/notes?q=harbour&sort=newest');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<option value="newest" selected>Newest first</option>');
    const titles = [...page.text.matchAll(/<h2><a href="\/notes\/([^"]+)">/g)].map((m) => keyOf(m[1]));
    expect(titles).toEqual(['titleNew', 'bodyNew', 'tagged', 'bodyOld', 'titleOld']);
    const relevance = await web.get('/notes?q=harbour');
    expect(relevance.text).toContain('<option value="relevance" selected>Relevance</option>');
    // An order the page does not know is the default, as other odd page parameters are.
    expect((await web.get('/notes?q=harbour&sort=best')).status).toBe(200);
    for (let i = 0; i < 20; i++) await api.call('POST', '/api/v1/notes', { title: `harbour log ${i}`, body: '' });
    const long = await web.get('/notes?q=harbour&sort=newest');
    expect(long.text).toMatch(/href="\/notes\?q=harbour&amp;sort=newest&amp;cursor=[^"]+"/);
  });
});

describeEachEngine('pagination', (engine) => {
  it('pages through ranked search results (with and without a tag filter) in the same order as one long page', async () => {
    const t = await startTestApp(await freshDatabase(engine));
    try {
      const { api } = await ApiClient.forNewUser(t.url, 'search-pager@example.com');
      for (let i = 0; i < 25; i++) {
        // Relevance varies: the word in the title for some, once or several times in the body for others.
        const title = i % 5 === 0 ? `lighthouse log ${i}` : `entry ${i}`;
        await api.call('POST', '/api/v1/notes', {
          title,
          body: `lighthouse ${'keeper '.repeat(i % 3)}${i % 4 === 0 ? 'lighthouse lighthouse' : ''}`,
          tags: i % 2 ? ['odd'] : ['even'],
        });
      }
      await api.call('POST', '/api/v1/notes', { title: 'unrelated', body: 'nothing here' });
      for (const q of ['lighthouse', 'lighthouse tag:odd']) {
        const all: Json = (await api.call('GET', `/api/v1/notes?limit=100&q=${encodeURIComponent(q)}`)).body;
        expect(all.items).toHaveLength(q.includes('odd') ? 12 : 25);
        expect(all.nextCursor).toBeNull();
        const paged: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const res: { body: Json } = await api.call('GET', `/api/v1/notes?limit=10&q=${encodeURIComponent(q)}${cursor ? `&cursor=${cursor}` : ''}`);
          paged.push(...res.body.items.map((n: Json) => n.id));
          cursor = res.body.nextCursor;
          pages++;
        } while (cursor && pages < 10);
        expect(paged).toEqual(all.items.map((n: Json) => n.id));
        expect(pages).toBe(Math.ceil(all.items.length / 10));
      }
    } finally {
      await t.close();
    }
  });

  it('returns every note exactly once, newest first, while notes are being added', async () => {
    const t = await startTestApp(await freshDatabase(engine));
    try {
      const { api } = await ApiClient.forNewUser(t.url, 'pager@example.com');
      const original: string[] = [];
      for (let i = 0; i < 45; i++) original.push((await api.call('POST', '/api/v1/notes', { title: `note ${i}`, body: '' })).body.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let page = 0;
      do {
        const res: { body: Json } = await api.call('GET', `/api/v1/notes?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...res.body.items.map((n: Json) => n.id));
        cursor = res.body.nextCursor;
        // Someone keeps writing while we page.
        await Promise.all([0, 1].map((j) => api.call('POST', '/api/v1/notes', { title: `new ${page}-${j}`, body: '' })));
        page++;
      } while (cursor && page < 20);
      const fromOriginal = seen.filter((id) => original.includes(id));
      expect(fromOriginal).toEqual([...original].reverse());
      expect(new Set(seen).size).toBe(seen.length);
    } finally {
      await t.close();
    }
  });
});
