import { ApiClient, Json } from './support/api-client';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

/** The task boxes of a note page, in page order: `form` for a box the reader can tick, `box` for a read-only one. */
function boxes(html: string): { kind: 'form' | 'box'; done: boolean; action?: string; version?: string }[] {
  const found = [];
  for (const m of html.matchAll(
    /<form method="post" action="([^"]+)" class="task"[^>]*>.*?name="version" value="(\d+)".*?aria-checked="(true|false)".*?<\/form>|<input type="checkbox" disabled(?:="")?( checked(?:="")?)? ?\/?>/gs,
  ))
    found.push(m[1] ? { kind: 'form' as const, action: m[1], version: m[2], done: m[3] === 'true' } : { kind: 'box' as const, done: m[4] !== undefined });
  return found;
}

const BODY = [
  '# Trip',
  '',
  '- [ ] passport',
  '- [x] tickets',
  '  - [ ] nested: seat',
  '',
  '1. [ ] ordered',
  '',
  '> - [ ] quoted',
  '',
  '```',
  '- [ ] in a code block: not a task',
  '```',
  '',
  '    - [ ] indented code: not a task',
  '',
  '- [] not a box',
  '- [ ]no space: not a box',
].join('\n');

describeEachEngine('task lists on the note page', (engine) => {
  let t: TestApp;
  let api: ApiClient;
  let web: WebClient;
  let other: WebClient;

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine));
    ({ api, web } = await ApiClient.forNewUser(t.url, 'tasks@example.com'));
    ({ web: other } = await ApiClient.forNewUser(t.url, 'other@example.com'));
  });
  afterAll(() => t.close());

  const create = async (note: Json) => {
    const res = await api.call('POST', '/api/v1/notes', note);
    expect(res.status).toBe(201);
    return res.body;
  };

  it('shows each task as a box that the owner ticks with a form, read-only boxes to others, none for code or near-misses', async () => {
    const note = await create({ title: 'trip', body: BODY, visibility: 'public' });
    const own = await web.get(`/notes/${note.id}`);
    expect(boxes(own.text)).toEqual(
      [false, true, false, false, false].map((done, n) => ({ kind: 'form', done, action: `/notes/${note.id}/tasks/${n}`, version: '1' })),
    );
    expect(own.text).toContain('in a code block: not a task');
    expect(own.text).toContain('[] not a box');
    const visitor = await new WebClient(t.url).get(`/notes/${note.id}`); // public: anyone with the link reads it
    expect(visitor.status).toBe(200);
    expect(boxes(visitor.text)).toEqual([false, true, false, false, false].map((done) => ({ kind: 'box', done })));
    expect(visitor.text).not.toContain('/tasks/');
  });

  it('ticks exactly the n-th box: one character of the text changes, as a new version with the old one in history', async () => {
    const body = BODY.replace(/\n/g, '\r\n'); // stored as sent: the box is found on its line whatever the line ends
    const note = await create({ title: 'trip', body });
    await web.get(`/notes/${note.id}`);
    for (const [n, version] of [
      [2, 1],
      [1, 2],
      [4, 3],
    ]) {
      const res = await web.submit(`/notes/${note.id}/tasks/${n}`, { version: String(version) });
      expect({ n, status: res.status, location: res.headers.get('location') }).toEqual({ n, status: 303, location: `/notes/${note.id}#task-${n}` });
    }
    const now = (await api.call('GET', `/api/v1/notes/${note.id}`)).body;
    expect(now.version).toBe(4);
    expect(now.body).toBe(
      body.replace('  - [ ] nested', '  - [x] nested').replace('- [x] tickets', '- [ ] tickets').replace('> - [ ] quoted', '> - [x] quoted'),
    );
    const page = await web.get(`/notes/${note.id}`);
    expect(boxes(page.text).map((b) => b.done)).toEqual([false, false, true, false, true]);
    const revisions = (await api.call('GET', `/api/v1/notes/${note.id}/revisions`)).body.items as Json[];
    expect(revisions.map((r) => r.version)).toEqual([4, 3, 2, 1]); // the current version, then those kept
    expect((await api.call('GET', `/api/v1/notes/${note.id}/revisions/1`)).body.body).toBe(body);
  });

  it('ticks nothing on a page older than the note: the text stays as the other save left it, and the page says so', async () => {
    const note = await create({ title: 'stale', body: '- [ ] one\n- [ ] two' });
    await web.get(`/notes/${note.id}`);
    const edited = await api.call('PATCH', `/api/v1/notes/${note.id}`, { body: '- [ ] two\n- [ ] one' });
    expect(edited.body.version).toBe(2);
    const res = await web.submit(`/notes/${note.id}/tasks/0`, { version: '1' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/notes/${note.id}`);
    expect((await api.call('GET', `/api/v1/notes/${note.id}`)).body).toMatchObject({ version: 2, body: '- [ ] two\n- [ ] one' });
    const page = await web.get(`/notes/${note.id}`);
    expect(page.text).toContain('data-flash="flash.taskStale"');
    for (const version of ['', 'abc', '0', '-1', '1e3']) {
      const bad = await web.submit(`/notes/${note.id}/tasks/0`, { version });
      expect({ version, status: bad.status, location: bad.headers.get('location') }).toEqual({ version, status: 303, location: `/notes/${note.id}` });
    }
    expect((await api.call('GET', `/api/v1/notes/${note.id}`)).body.version).toBe(2);
  });

  it('refuses a box that is not there, a note of someone else, and a post without the form token', async () => {
    const note = await create({ title: 'guarded', body: '- [ ] only' });
    await web.get(`/notes/${note.id}`);
    for (const n of ['1', '-1', 'x', '01', '99999999'])
      expect({ n, status: (await web.submit(`/notes/${note.id}/tasks/${n}`, { version: '1' })).status }).toEqual({ n, status: 404 });
    await other.get('/notes');
    expect((await other.submit(`/notes/${note.id}/tasks/0`, { version: '1' })).status).toBe(404);
    const forged = await web.request('POST', `/notes/${note.id}/tasks/0`, { form: { version: '1' } });
    expect(forged.status).toBe(403);
    expect((await api.call('GET', `/api/v1/notes/${note.id}`)).body).toMatchObject({ version: 1, body: '- [ ] only' });
  });
});

describe('the live preview (POST /notes/preview)', () => {
  let t: TestApp;
  let web: WebClient;

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase('sqlite')); // no database work: one engine is enough
    ({ web } = await ApiClient.forNewUser(t.url, 'preview@example.com'));
    await web.get('/notes/new');
  });
  afterAll(() => t.close());

  const preview = (body: string, headers: Record<string, string> = {}) =>
    web.request('POST', '/notes/preview', { form: { body }, headers: { 'x-csrf-token': web.lastCsrf!, ...headers } });

  it('answers the HTML a reader of the saved note gets, as a fragment with the page headers', async () => {
    const res = await preview(BODY + '\n\n```js\nlet a = 1;\n```\n\n<script>alert(1)</script>');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'nonce-");
    expect(res.headers.get('cache-control')).toContain('no-store');
    expect(res.text).toMatch(/^<h1>Trip<\/h1>/);
    expect(res.text).toContain('<span class="hljs-keyword">let</span>');
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).not.toContain('<script');

    const { api } = await ApiClient.forNewUser(t.url, 'preview-reader@example.com');
    const note = (await api.call('POST', '/api/v1/notes', { title: 'same', body: 'A *b* `c`\n\n```sql\nselect 1\n```', visibility: 'public' })).body;
    const page = await new WebClient(t.url).get(`/notes/${note.id}`);
    const shown = /<div class="markdown">([\s\S]*?)<\/div>\n<\/article>/.exec(page.text)![1];
    expect((await preview('A *b* `c`\n\n```sql\nselect 1\n```')).text).toBe(shown);
  });

  it('renders nothing over the body limit, counted in characters as the form counts them', async () => {
    expect((await preview('😀'.repeat(100_000))).status).toBe(200);
    expect((await preview('😀'.repeat(100_001))).status).toBe(413);
  });

  it('is for a signed-in person with the form token only', async () => {
    expect((await preview('x', { 'x-csrf-token': '' })).status).toBe(403);
    const stranger = new WebClient(t.url);
    await stranger.get('/login');
    const res = await stranger.request('POST', '/notes/preview', { form: { body: 'x', _csrf: stranger.lastCsrf! } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^\/login/);
  });
});
