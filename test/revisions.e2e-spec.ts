import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { TaskScheduler } from '@kiroku/scheduler';
import { ApiClient, Json } from './support/api-client';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

describeEachEngine('note versions and history', (engine) => {
  let t: TestApp;
  let clock: FakeClock;
  let alice: ApiClient;
  let aliceWeb: WebClient;
  let bob: ApiClient;
  let env: Record<string, string>;

  beforeAll(async () => {
    clock = new FakeClock(Date.UTC(2026, 11, 1, 9, 0));
    env = { ...(await freshDatabase(engine)), NOTE_REVISIONS_KEEP: '3' };
    t = await startTestApp(env, { clock });
    ({ api: alice, web: aliceWeb } = await ApiClient.forNewUser(t.url, 'alice@example.com'));
    ({ api: bob } = await ApiClient.forNewUser(t.url, 'bob@example.com'));
  });
  afterAll(() => t.close());

  const create = async (note: Json = { title: 'Runbook', body: 'step one\nstep two\n', tags: ['ops'] }) => {
    const res = await alice.call('POST', '/api/v1/notes', note);
    expect(res.status).toBe(201);
    clock.advance(1000);
    return res.body;
  };
  /** A PATCH with an If-Match header (or none), as a script sends it. */
  const patch = async (id: string, body: Json, ifMatch?: string) => {
    const res = await fetch(`${t.url}/api/v1/notes/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json', ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) },
      body: JSON.stringify(body),
    });
    clock.advance(1000);
    return { status: res.status, etag: res.headers.get('etag'), type: res.headers.get('content-type'), body: await res.json() };
  };
  const remove = async (id: string, ifMatch: string) => {
    const res = await fetch(`${t.url}/api/v1/notes/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${alice.token}`, 'if-match': ifMatch } });
    return { status: res.status, text: await res.text() };
  };

  describe('optimistic concurrency over the API', () => {
    it('gives every version an ETag and refuses a change from an older one with 412, writing nothing', async () => {
      const note = await create();
      expect(note.version).toBe(1);
      const read = await alice.call('GET', `/api/v1/notes/${note.id}`);
      expect(read.headers.get('etag')).toBe('"v1"');

      const first = await patch(note.id, { body: 'step one\nstep two\nstep three\n' }, '"v1"');
      expect(first).toMatchObject({ status: 200, etag: '"v2"', body: { version: 2, body: 'step one\nstep two\nstep three\n' } });

      const stale = await patch(note.id, { body: 'an edit from an old tab' }, '"v1"');
      expect(stale.status).toBe(412);
      expect(stale.type).toMatch(/^application\/problem\+json/);
      expect(stale.etag).toBe('"v2"');
      expect(stale.body).toMatchObject({ status: 412, currentVersion: 2, detail: expect.stringContaining('version 2') });
      expect((await alice.call('GET', `/api/v1/notes/${note.id}`)).body).toMatchObject({ version: 2, body: 'step one\nstep two\nstep three\n' });

      expect((await remove(note.id, '"v1"')).status).toBe(412);
      expect((await alice.call('GET', `/api/v1/notes/${note.id}`)).status).toBe(200);
      expect((await remove(note.id, '"v2"')).status).toBe(204);
    });

    it.each([['W/"v1"'], ['"v9"'], ['"someone-elses-tag"']])('never lets a weak or unknown tag match: %s', async (tag) => {
      const note = await create();
      expect((await patch(note.id, { title: 'changed' }, tag)).status).toBe(412);
    });

    it.each([['1'], ['v1'], ['"v1'], ['"v1",,']])('answers a malformed If-Match with 400, naming the header: %s', async (header) => {
      const note = await create();
      const res = await patch(note.id, { title: 'changed' }, header);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'If-Match', message: expect.stringContaining('ETag') }]);
      expect((await alice.call('GET', `/api/v1/notes/${note.id}`)).body.title).toBe('Runbook');
    });

    it('keeps working without If-Match or with *, and a change that changes nothing keeps the version', async () => {
      const note = await create();
      expect((await patch(note.id, { title: 'no precondition' })).body.version).toBe(2);
      expect((await patch(note.id, { title: 'any version' }, '*')).body.version).toBe(3);
      const same = await patch(note.id, { title: 'any version', tags: ['ops'] }, '"v3"');
      expect(same).toMatchObject({ status: 200, etag: '"v3"', body: { version: 3 } });
    });

    it('lets exactly one of several concurrent changes from the same version win', async () => {
      const note = await create();
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => patch(note.id, { body: `writer ${i}` }, '"v1"')));
      const won = results.filter((r) => r.status === 200);
      expect(won).toHaveLength(1);
      expect(results.filter((r) => r.status === 412)).toHaveLength(7);
      const now = (await alice.call('GET', `/api/v1/notes/${note.id}`)).body;
      expect(now).toMatchObject({ version: 2, body: won[0].body.body });
      // The version it replaced is in the history: nothing was overwritten unseen.
      expect((await alice.call('GET', `/api/v1/notes/${note.id}/revisions/1`)).body.body).toBe('step one\nstep two\n');
    });

    if (engine === 'postgres')
      it('lets exactly one win across three instances of the app on one database (replicas), not only within one', async () => {
        const others = await Promise.all([1, 2].map(() => startTestApp(env, { clock })));
        try {
          const note = await create();
          const urls = [t.url, ...others.map((o) => o.url)];
          const results = await Promise.all(
            Array.from({ length: 9 }, async (_, i) => {
              const res = await fetch(`${urls[i % 3]}/api/v1/notes/${note.id}`, {
                method: 'PATCH',
                headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json', 'if-match': '"v1"' },
                body: JSON.stringify({ body: `replica ${i % 3}, writer ${i}` }),
              });
              return { status: res.status, body: await res.json() };
            }),
          );
          expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412, 412, 412, 412, 412, 412, 412]);
          const won = results.find((r) => r.status === 200)!;
          expect((await alice.call('GET', `/api/v1/notes/${note.id}`)).body).toMatchObject({ version: 2, body: won.body.body });
          expect((await alice.call('GET', `/api/v1/notes/${note.id}/revisions/1`)).body.body).toBe('step one\nstep two\n');
        } finally {
          await Promise.all(others.map((o) => o.close()));
        }
      });

    it('answers a conditional read with 304 when the version is the same', async () => {
      const note = await create();
      // fetch() adds "Cache-Control: no-cache" to a conditional request (which asks for a full answer) unless one is given.
      const headers = { authorization: `Bearer ${alice.token}`, 'if-none-match': '"v1"', 'cache-control': 'max-age=0' };
      expect((await fetch(`${t.url}/api/v1/notes/${note.id}`, { headers })).status).toBe(304);
      await patch(note.id, { title: 'moved on' });
      expect((await fetch(`${t.url}/api/v1/notes/${note.id}`, { headers })).status).toBe(200);
    });
  });

  describe('revisions over the API', () => {
    it('lists every version newest first, shows each, and restores one as a new version', async () => {
      const note = await create({ title: 'Plan', body: 'first draft', tags: ['a'] });
      await patch(note.id, { body: 'second draft' });
      await patch(note.id, { tags: ['a', 'b'] });
      await patch(note.id, { visibility: 'public' });

      const list = await alice.call('GET', `/api/v1/notes/${note.id}/revisions`);
      expect(list.status).toBe(200);
      expect(list.body.items.map((r: Json) => [r.version, r.current])).toEqual([
        [4, true],
        [3, false],
        [2, false],
        [1, false],
      ]);
      expect(list.body.items[3]).toMatchObject({ title: 'Plan', tags: ['a'], visibility: 'private', authorId: expect.any(String) });
      expect(list.body.items[0]).not.toHaveProperty('body');

      const page1 = await alice.call('GET', `/api/v1/notes/${note.id}/revisions?limit=3`);
      expect(page1.body.items.map((r: Json) => r.version)).toEqual([4, 3, 2]);
      const page2 = await alice.call('GET', `/api/v1/notes/${note.id}/revisions?limit=3&cursor=${page1.body.nextCursor}`);
      expect(page2.body).toEqual({ items: [expect.objectContaining({ version: 1 })], nextCursor: null });

      const v1 = await alice.call('GET', `/api/v1/notes/${note.id}/revisions/1`);
      expect(v1.body).toMatchObject({ version: 1, current: false, body: 'first draft', tags: ['a'] });

      const restored = await fetch(`${t.url}/api/v1/notes/${note.id}/revisions/1/restore`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.token}`, 'if-match': '"v4"' },
      });
      expect(restored.status).toBe(200);
      expect(restored.headers.get('etag')).toBe('"v5"');
      expect(await restored.json()).toMatchObject({ version: 5, title: 'Plan', body: 'first draft', tags: ['a'], visibility: 'private' });
      // The version the restore replaced is kept too.
      expect((await alice.call('GET', `/api/v1/notes/${note.id}/revisions/4`)).body).toMatchObject({ visibility: 'public', tags: ['a', 'b'] });
    });

    it("shows no one else's history, not even of a public note", async () => {
      const note = await create({ title: 'Shared', body: 'public text', visibility: 'public' });
      await patch(note.id, { body: 'public text, edited' });
      expect((await bob.call('GET', `/api/v1/notes/${note.id}`)).status).toBe(200);
      // Bob can read the note, so it is not hidden from him: its history is refused (403), as an edit of it is.
      expect((await bob.call('GET', `/api/v1/notes/${note.id}/revisions`)).status).toBe(403);
      expect((await bob.call('GET', `/api/v1/notes/${note.id}/revisions/1`)).status).toBe(403);
      expect((await bob.call('POST', `/api/v1/notes/${note.id}/revisions/1/restore`)).status).toBe(403);
      expect((await alice.call('GET', `/api/v1/notes/${note.id}`)).body).toMatchObject({ body: 'public text, edited', version: 2 });
    });

    it('answers 404 for a version that never was, and 400 for a cursor that is not one', async () => {
      const note = await create();
      expect((await alice.call('GET', `/api/v1/notes/${note.id}/revisions/7`)).status).toBe(404);
      expect((await alice.call('GET', `/api/v1/notes/${note.id}/revisions/abc`)).status).toBe(404);
      expect((await alice.call('GET', `/api/v1/notes/${note.id}/revisions?cursor=x`)).status).toBe(400);
    });
  });

  describe('the edit page', () => {
    const form = async (id: string) => {
      const page = await aliceWeb.get(`/notes/${id}/edit`);
      const value = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page.text)?.[1];
      return { version: value('version')!, csrf: value('_csrf')! };
    };

    it('never overwrites a version saved meanwhile: the form comes back with both texts, and saving it again keeps both', async () => {
      const note = await create({ title: 'Shared plan', body: 'line one\nline two\n', tags: [] });
      const opened = await form(note.id);
      expect(opened.version).toBe('1');
      await patch(note.id, { body: 'line one\nline two, from the other tab\n' });

      const mine = {
        _csrf: opened.csrf,
        version: opened.version,
        title: 'Shared plan',
        body: 'line one\nmy own second line\n',
        tags: '',
        visibility: 'private',
      };
      const conflict = await aliceWeb.request('POST', `/notes/${note.id}`, { form: mine });
      expect(conflict.status).toBe(409);
      expect(conflict.text).toContain('my own second line'); // mine, in the form
      expect(conflict.text).toContain('line two, from the other tab'); // theirs, beside it
      expect(conflict.text).toContain('name="version" value="2"');
      expect((await alice.call('GET', `/api/v1/notes/${note.id}`)).body).toMatchObject({ version: 2, body: 'line one\nline two, from the other tab\n' });
      // The other choice, "Discard my text", is a link back to the note as it stands: it writes nothing.
      expect(conflict.text).toContain(`<a href="/notes/${note.id}">Discard my text</a>`);
      const kept = await aliceWeb.get(`/notes/${note.id}`);
      expect(kept.text).toContain('line two, from the other tab');
      expect(kept.text).not.toContain('my own second line');

      const saved = await aliceWeb.request('POST', `/notes/${note.id}`, { form: { ...mine, version: '2', _csrf: aliceWeb.lastCsrf! } });
      expect(saved.status).toBe(303);
      const history = (await alice.call('GET', `/api/v1/notes/${note.id}/revisions`)).body.items.map((r: Json) => r.version);
      expect(history).toEqual([3, 2, 1]);
      expect((await alice.call('GET', `/api/v1/notes/${note.id}/revisions/2`)).body.body).toBe('line one\nline two, from the other tab\n');
      expect((await alice.call('GET', `/api/v1/notes/${note.id}`)).body.body).toBe('line one\nmy own second line\n');
    });

    it('shows the history, what each version changed, and restores one', async () => {
      const note = await create({ title: 'Recipe', body: 'flour\nwater\n', tags: [] });
      await patch(note.id, { body: 'flour\nwater\nsalt\n' });
      const history = await aliceWeb.get(`/notes/${note.id}/history`);
      expect(history.status).toBe(200);
      expect(history.text).toContain(`/notes/${note.id}/history/1`);
      const v1 = await aliceWeb.get(`/notes/${note.id}/history/1`);
      expect(v1.status).toBe(200);
      expect(v1.text).toMatch(/<ins><span class="sign" aria-hidden="true">\+<\/span>salt<\/ins>/);
      const restored = await aliceWeb.submit(`/notes/${note.id}/history/1/restore`, {});
      expect(restored.status).toBe(303);
      expect((await alice.call('GET', `/api/v1/notes/${note.id}`)).body).toMatchObject({ version: 3, body: 'flour\nwater\n' });
    });
  });

  describe('retention', () => {
    it('keeps the revisions of the last NOTE_REVISIONS_KEEP versions, and a note deleted for good takes its revisions', async () => {
      const db = t.app.get(Database);
      const count = async (id: string) => Number((await db.select<{ n: number }>('SELECT count(*) AS n FROM note_revisions WHERE note_id = $1', [id]))[0].n);
      const note = await create({ title: 'Often edited', body: 'v1' });
      for (let v = 2; v <= 7; v++) await patch(note.id, { body: `v${v}` });
      expect(await count(note.id)).toBe(6);

      clock.set(Date.UTC(2026, 11, 2, 4, 23, 30)); // the daily prune-records slot
      expect(await t.app.get(TaskScheduler).runSlot('prune-records')).toBe('succeeded');
      const kept = await alice.call('GET', `/api/v1/notes/${note.id}/revisions`);
      expect(kept.body.items.map((r: Json) => r.version)).toEqual([7, 6, 5, 4]);
      expect((await alice.call('GET', `/api/v1/notes/${note.id}/revisions/3`)).status).toBe(404);

      expect((await alice.call('DELETE', `/api/v1/notes/${note.id}`)).status).toBe(204);
      clock.set(Date.UTC(2027, 0, 3, 4, 23, 30)); // 31 days on: purged from the trash
      expect(await t.app.get(TaskScheduler).runSlot('prune-records')).toBe('succeeded');
      expect(await count(note.id)).toBe(0);
    });
  });
});
