import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { tempDir } from '@kiroku/testing';
import { User } from '../src/modules/auth';
import { ApiClient, Json } from './support/api-client';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';

/**
 * Team notes (visibility team, editableByTeam) through the API and the pages, on each engine: who reads, who
 * edits, what only the owner changes, the scopes of lists and search, and a disabled member losing access.
 */
describeEachEngine('team notes', (engine) => {
  let t: TestApp;
  let db: Database;
  let clock: FakeClock;
  let adminWeb: WebClient;
  let alice: ApiClient;
  let aliceWeb: WebClient;
  let bob: ApiClient;
  let bobWeb: WebClient;
  let bobId: string;
  let anon: WebClient;
  /** Alice's notes: team read-only, team editable, private. */
  let readOnly: Json;
  let shared: Json;
  let secret: Json;

  /** A member signed up with a display name, and an API token made on the account page. */
  async function member(email: string, name: string): Promise<{ api: ApiClient; web: WebClient }> {
    const web = new WebClient(t.url);
    await web.signup(email, PASSWORD, name);
    await web.get('/account');
    await web.submit('/account/tokens', { name: 'tests' });
    const token = /id="new-token">([^<]+)</.exec((await web.get('/account')).text)![1];
    return { api: new ApiClient(t.url, token), web };
  }

  const create = async (api: ApiClient, note: Json) => {
    const res = await api.call('POST', '/api/v1/notes', note);
    expect(res.status).toBe(201);
    clock.advance(1000);
    return res.body;
  };

  /** A call with an If-Match header, as a script sends it. */
  const call = async (api: ApiClient, method: string, path: string, body?: Json, ifMatch?: string) => {
    const res = await fetch(t.url + path, {
      method,
      headers: {
        authorization: `Bearer ${api.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    clock.advance(1000);
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
  };

  beforeAll(async () => {
    clock = new FakeClock(Date.UTC(2026, 11, 5, 9, 0));
    t = await startTestApp(await freshDatabase(engine), { clock });
    db = t.app.get(Database);
    adminWeb = new WebClient(t.url);
    await adminWeb.signup('admin@example.com', PASSWORD, 'Admin'); // the first account is the administrator
    ({ api: alice, web: aliceWeb } = await member('alice@example.com', 'Alice Author'));
    ({ api: bob, web: bobWeb } = await member('bob@example.com', 'Bob Member'));
    bobId = (await db.manager.findOneByOrFail(User, { email: 'bob@example.com' })).id;
    anon = new WebClient(t.url);
    readOnly = await create(alice, { title: 'Team runbook', body: 'read only zebra', tags: ['ops'], visibility: 'team' });
    shared = await create(alice, { title: 'Team agenda', body: 'everyone edits zebra', visibility: 'team', editableByTeam: true });
    secret = await create(alice, { title: 'Alice diary', body: 'private zebra', visibility: 'private' });
  });
  afterAll(() => t.close());

  describe('through the API', () => {
    it('gives editableByTeam and the author in the Note; a member reads a team note, never a private one (404)', async () => {
      expect(shared).toMatchObject({ visibility: 'team', editableByTeam: true, ownerName: 'Alice Author', version: 1 });
      expect(secret).toMatchObject({ visibility: 'private', editableByTeam: false });
      const read = await bob.call('GET', `/api/v1/notes/${readOnly.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ id: readOnly.id, visibility: 'team', editableByTeam: false, ownerId: readOnly.ownerId, ownerName: 'Alice Author' });
      const hidden = await bob.call('GET', `/api/v1/notes/${secret.id}`);
      expect(hidden.status).toBe(404);
      expect(hidden.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });

    it('lets a member edit a note the team may edit: a new version written by them, and a stale If-Match is a 412', async () => {
      const edited = await call(bob, 'PATCH', `/api/v1/notes/${shared.id}`, { body: 'everyone edits zebra\nBob was here' }, '"v1"');
      expect(edited.status).toBe(200);
      expect(edited.body).toMatchObject({ version: 2, body: 'everyone edits zebra\nBob was here', visibility: 'team', ownerName: 'Alice Author' });
      const stale = await call(bob, 'PATCH', `/api/v1/notes/${shared.id}`, { body: 'from an old page' }, '"v1"');
      expect(stale.status).toBe(412);
      expect(stale.type).toMatch(/^application\/problem\+json/);
      expect(stale.body).toMatchObject({ status: 412, currentVersion: 2 });
      const history = await bob.call('GET', `/api/v1/notes/${shared.id}/revisions`);
      expect(history.status).toBe(200);
      expect(history.body.items.map((r: Json) => [r.version, r.authorName])).toEqual([
        [2, 'Bob Member'],
        [1, 'Alice Author'],
      ]);
      expect(history.body.items[0].authorId).toBe(bobId);
      const one = await alice.call('GET', `/api/v1/notes/${shared.id}/revisions/2`);
      expect(one.body).toMatchObject({ version: 2, authorId: bobId, authorName: 'Bob Member', editableByTeam: true });
    });

    it("refuses a member's edit of a team note the team may not edit (403), and a private note's is a 404 whatever the If-Match", async () => {
      const refused = await call(bob, 'PATCH', `/api/v1/notes/${readOnly.id}`, { body: 'mine now' });
      expect(refused.status).toBe(403);
      expect(refused.type).toMatch(/^application\/problem\+json/);
      expect((await bob.call('GET', `/api/v1/notes/${readOnly.id}/revisions`)).status).toBe(403);
      expect((await call(bob, 'PATCH', `/api/v1/notes/${secret.id}`, { body: 'x' }, '"v9"')).status).toBe(404);
      expect((await call(bob, 'DELETE', `/api/v1/notes/${secret.id}`)).status).toBe(404);
      expect((await alice.call('GET', `/api/v1/notes/${readOnly.id}`)).body).toMatchObject({ body: 'read only zebra', version: 1 });
    });

    it('leaves visibility, editableByTeam, pin and deletion to the owner: 403 naming the field, nothing written', async () => {
      for (const [field, value] of [
        ['visibility', 'private'],
        ['editableByTeam', false],
        ['pinned', true],
      ] as const) {
        const refused = await call(bob, 'PATCH', `/api/v1/notes/${shared.id}`, { body: 'sneaky', [field]: value });
        expect(refused.status).toBe(403);
        expect(refused.type).toMatch(/^application\/problem\+json/);
        expect(refused.body.errors).toEqual([{ field, message: "only the note's owner changes it" }]);
      }
      expect((await call(bob, 'DELETE', `/api/v1/notes/${shared.id}`)).status).toBe(403);
      expect((await alice.call('GET', `/api/v1/notes/${shared.id}`)).body).toMatchObject({
        body: 'everyone edits zebra\nBob was here',
        visibility: 'team',
        version: 2,
      });
      // The owner changes them.
      const owner = await call(alice, 'PATCH', `/api/v1/notes/${readOnly.id}`, { editableByTeam: true });
      expect(owner.body).toMatchObject({ editableByTeam: true, version: 2 });
      const back = await call(alice, 'PATCH', `/api/v1/notes/${readOnly.id}`, { editableByTeam: false });
      expect(back.body).toMatchObject({ editableByTeam: false, version: 3 });
    });

    it('validates visibility, editableByTeam and scope: 400 problem+json naming the field', async () => {
      const bad = await alice.call('POST', '/api/v1/notes', { title: 'x', body: '', visibility: 'everyone' });
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([{ field: 'visibility', message: 'must be private, team or public' }]);
      const notBoolean = await alice.call('POST', '/api/v1/notes', { title: 'x', body: '', editableByTeam: 'yes' });
      expect(notBoolean.status).toBe(400);
      expect(notBoolean.body.errors).toEqual([{ field: 'editableByTeam', message: 'must be true or false' }]);
      const scope = await alice.call('GET', '/api/v1/notes?scope=everyone');
      expect(scope.status).toBe(400);
      expect(scope.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(scope.body.errors).toEqual([{ field: 'scope', message: 'must be mine, team or all' }]);
    });

    it('lists and searches by scope on the same index: mine (the default), team, all', async () => {
      const bobsTeam = await create(bob, { title: 'Bob team zebra', body: '', visibility: 'team' });
      const bobsOwn = await create(bob, { title: 'Bob own zebra', body: '' });
      const ids = async (api: ApiClient, query: string) => {
        const res = await api.call('GET', `/api/v1/notes?${query}`);
        expect(res.status).toBe(200);
        return res.body.items.map((n: Json) => n.id);
      };
      for (const q of ['', '&q=zebra', '&q=zebra&sort=newest']) {
        expect(await ids(bob, `limit=50${q}`)).toEqual([bobsOwn.id, bobsTeam.id]);
        expect(await ids(bob, `scope=mine${q}`)).toEqual([bobsOwn.id, bobsTeam.id]);
        expect((await ids(bob, `scope=team${q}`)).sort()).toEqual([bobsTeam.id, shared.id, readOnly.id].sort());
        expect((await ids(bob, `scope=all${q}`)).sort()).toEqual([bobsOwn.id, bobsTeam.id, shared.id, readOnly.id].sort());
        expect((await ids(alice, `scope=all${q}`)).sort()).toEqual([bobsTeam.id, shared.id, readOnly.id, secret.id].sort());
      }
      // Newest first in the Team view (last updated), and a word only in Alice's private note is not found by Bob.
      expect(await ids(bob, 'scope=team')).toEqual([bobsTeam.id, readOnly.id, shared.id]);
      expect(await ids(bob, 'scope=all&q=diary')).toEqual([]);
      expect(await ids(alice, 'scope=all&q=diary')).toEqual([secret.id]);
      // Pages follow the scope.
      const first = await bob.call('GET', '/api/v1/notes?scope=team&limit=2&q=zebra');
      expect(first.body.items).toHaveLength(2);
      const second = await bob.call('GET', `/api/v1/notes?scope=team&limit=2&q=zebra&cursor=${encodeURIComponent(first.body.nextCursor)}`);
      expect([...first.body.items, ...second.body.items].map((n: Json) => n.id).sort()).toEqual([bobsTeam.id, shared.id, readOnly.id].sort());
      // A note made private leaves the team's search; made team again, it comes back.
      await call(bob, 'PATCH', `/api/v1/notes/${bobsTeam.id}`, { visibility: 'private' });
      expect(await ids(alice, 'scope=team&q=zebra')).not.toContain(bobsTeam.id);
      await call(bob, 'PATCH', `/api/v1/notes/${bobsTeam.id}`, { visibility: 'team' });
      expect(await ids(alice, 'scope=team&q=zebra')).toContain(bobsTeam.id);
    });
  });

  describe("no trace of another member's private note (IDOR)", () => {
    /** A word in nothing but Alice's private note: its body, its title and its tag. */
    const WORD = 'xylophonist';
    let hidden: Json;

    /** What a member's token gets back, as text: every byte of it is checked for the word. */
    const raw = async (api: ApiClient, method: string, path: string) => {
      const res = await fetch(t.url + path, { method, headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' } });
      return { status: res.status, text: await res.text() };
    };

    beforeAll(async () => {
      hidden = await create(alice, { title: `Plans ${WORD}`, body: `The ${WORD} arrives on Monday.`, tags: [WORD], visibility: 'private' });
      // A second version, so that revision 1 is a kept one.
      expect((await call(alice, 'PATCH', `/api/v1/notes/${hidden.id}`, { body: `The ${WORD} arrives on Tuesday.` })).status).toBe(200);
      // The owner finds it, so the word is searchable: nothing below is empty for want of an index entry.
      expect((await alice.call('GET', `/api/v1/notes?scope=all&q=${WORD}`)).body.items.map((n: Json) => n.id)).toEqual([hidden.id]);
      expect((await alice.call('GET', `/api/v1/notes/${hidden.id}/revisions/1`)).status).toBe(200);
    });

    it('answers the API with 404 for the note, its revisions and a revision, and search finds nothing in any scope', async () => {
      for (const path of [
        `/api/v1/notes/${hidden.id}`,
        `/api/v1/notes/${hidden.id}/revisions`,
        `/api/v1/notes/${hidden.id}/revisions/1`,
        `/api/v1/notes/${hidden.id}/revisions/2`,
      ]) {
        const res = await raw(bob, 'GET', path);
        expect([path, res.status]).toEqual([path, 404]);
        expect(res.text).not.toContain(WORD);
        expect(res.text).not.toContain('Tuesday');
      }
      expect((await raw(bob, 'POST', `/api/v1/notes/${hidden.id}/revisions/1/restore`)).status).toBe(404);
      for (const scope of ['mine', 'team', 'all']) {
        for (const q of [WORD, `tag:${WORD}`, 'Tuesday', `${WORD.slice(0, 5)}`]) {
          const res = await raw(bob, 'GET', `/api/v1/notes?scope=${scope}&q=${encodeURIComponent(q)}`);
          expect(res.status).toBe(200);
          expect(JSON.parse(res.text).items).toEqual([]);
          expect(res.text).not.toContain(WORD);
        }
        const list = await raw(bob, 'GET', `/api/v1/notes?scope=${scope}&limit=100`);
        expect(list.text).not.toContain(hidden.id);
        expect(list.text).not.toContain(WORD);
      }
      expect((await raw(bob, 'GET', `/api/v1/notes?scope=all&tag=${WORD}`)).text).not.toContain(hidden.id);
      // The owner still has it, unchanged.
      expect((await alice.call('GET', `/api/v1/notes/${hidden.id}`)).body).toMatchObject({ body: `The ${WORD} arrives on Tuesday.`, version: 2 });
    });

    it("answers the pages with 404 for the note, its edit form, history and a version; search pages, tags and the member's export hold nothing of it", async () => {
      for (const path of [`/notes/${hidden.id}`, `/notes/${hidden.id}/edit`, `/notes/${hidden.id}/history`, `/notes/${hidden.id}/history/1`]) {
        const page = await bobWeb.get(path);
        expect([path, page.status]).toEqual([path, 404]);
        expect(page.text).not.toContain(WORD);
      }
      for (const scope of ['mine', 'team', 'all']) {
        const page = await bobWeb.get(`/notes?scope=${scope}&q=${WORD}`);
        expect(page.status).toBe(200);
        expect(page.text).not.toContain(hidden.id);
        expect(page.text).not.toContain('<mark>');
        expect(page.text).not.toContain('class="snippet"');
        // The word is only where the page repeats what Bob typed: the search box and the tabs' links.
        expect(page.text.replaceAll(`value="${WORD}"`, '').replaceAll(`q=${WORD}`, '')).not.toContain(WORD);
        // Searched by its start or by another word of the note, the page has no trace of the word at all.
        for (const q of [WORD.slice(0, 8), 'Tuesday']) {
          const other = await bobWeb.get(`/notes?scope=${scope}&q=${q}`);
          expect(other.status).toBe(200);
          expect(other.text).not.toContain(WORD);
          expect(other.text).not.toContain(hidden.id);
          expect(other.text).not.toContain('<mark>');
        }
        const list = await bobWeb.get(`/notes?scope=${scope}`);
        expect(list.text).not.toContain(WORD);
        expect(list.text).not.toContain(hidden.id);
      }
      // Bob's export: his own notes, nothing of Alice's private one (read by unzip, since the entries are compressed).
      const download = await bobWeb.download('/account/notes/export');
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toBe('application/zip');
      const file = join(tempDir(), 'bob.zip');
      writeFileSync(file, download.bytes);
      const unzip = (args: string[]) => {
        const result = spawnSync('unzip', args, { encoding: 'utf8' });
        if (result.error) throw new Error(`unzip is not installed (apt-get install unzip): ${result.error.message}`);
        expect(result.status).toBe(0);
        return result.stdout;
      };
      const names = unzip(['-Z1', file]);
      const everything = unzip(['-p', file]);
      expect(everything).toContain('Bob own zebra'); // his own notes are there
      for (const text of [names, everything, download.bytes.toString('latin1')]) {
        expect(text).not.toContain(WORD);
        expect(text).not.toContain(hidden.id);
        expect(text).not.toContain('Tuesday');
      }
    });
  });

  describe('through the pages', () => {
    it('shows a signed-out visitor the same 404 for a team note and for no note, with a sign-in link that comes back to it', async () => {
      const page = await anon.get(`/notes/${readOnly.id}`);
      expect(page.status).toBe(404);
      expect(page.text).not.toContain('Team runbook');
      const back = `/login?next=${encodeURIComponent(`/notes/${readOnly.id}`)}`;
      expect(page.text).toContain(`href="${back.replace(/&/g, '&amp;')}"`);
      const none = await anon.get('/notes/00000000-0000-4000-8000-000000000000');
      expect(none.status).toBe(404);
      expect(none.text).toContain(`href="/login?next=${encodeURIComponent('/notes/00000000-0000-4000-8000-000000000000')}"`);
      const visitor = new WebClient(t.url);
      expect((await visitor.get(back)).status).toBe(200);
      const signedIn = await visitor.submit('/login', { email: 'bob@example.com', password: PASSWORD, next: `/notes/${readOnly.id}` });
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.get('location')).toBe(`/notes/${readOnly.id}`);
      expect((await visitor.get(`/notes/${readOnly.id}`)).text).toContain('Team runbook');
      // Only a path on this site: anything else signs in to the notes list.
      const elsewhere = new WebClient(t.url);
      await elsewhere.get('/login?next=//evil.example/notes');
      const refused = await elsewhere.submit('/login', { email: 'bob@example.com', password: PASSWORD, next: '//evil.example/notes' });
      expect(refused.headers.get('location')).toBe('/notes');
      // A public note is read signed out too, without its author's name, which is for members.
      const open = await create(alice, { title: 'Public recipe', body: 'flour', visibility: 'public' });
      const anonymousRead = await anon.get(`/notes/${open.id}`);
      expect(anonymousRead.status).toBe(200);
      expect(anonymousRead.text).not.toContain('Alice Author');
      expect((await bobWeb.get(`/notes/${open.id}`)).text).toContain('by Alice Author');
    });

    it('shows the Team view and the author; a member edits an editable note with a form without visibility, and their name is in the history', async () => {
      const team = await bobWeb.get('/notes?scope=team');
      expect(team.status).toBe(200);
      expect(team.text).toContain('Team runbook');
      expect(team.text).toContain('by Alice Author');
      expect(team.text).toContain('aria-current="page">Team<');
      expect(team.text).not.toContain('Alice diary');
      const found = await bobWeb.get('/notes?scope=all&q=zebra');
      expect(found.text).toContain('Team agenda');
      expect(found.text).toContain('name="scope" value="all"');
      const show = await bobWeb.get(`/notes/${shared.id}`);
      expect(show.text).toContain('by Alice Author');
      expect(show.text).toContain(`href="/notes/${shared.id}/edit"`);
      expect(show.text).not.toContain(`action="/notes/${shared.id}/delete"`);
      const form = await bobWeb.get(`/notes/${shared.id}/edit`);
      expect(form.status).toBe(200);
      expect(form.text).not.toContain('name="visibility"');
      expect(form.text).not.toContain('name="editableByTeam"');
      const version = /name="version" value="(\d+)"/.exec(form.text)![1];
      const saved = await bobWeb.submit(`/notes/${shared.id}`, { title: 'Team agenda', body: 'edited in the page', tags: '', version });
      expect(saved.status).toBe(303);
      const note = (await alice.call('GET', `/api/v1/notes/${shared.id}`)).body;
      expect(note).toMatchObject({ body: 'edited in the page', visibility: 'team', editableByTeam: true });
      const history = await aliceWeb.get(`/notes/${shared.id}/history`);
      expect(history.text).toContain('by Bob Member');
      // The same form from an older version: the conflict page, nothing written.
      await bobWeb.get(`/notes/${shared.id}/edit`);
      const conflict = await bobWeb.submit(`/notes/${shared.id}`, { title: 'Team agenda', body: 'late', tags: '', version });
      expect(conflict.status).toBe(409);
      expect((await alice.call('GET', `/api/v1/notes/${shared.id}`)).body.body).toBe('edited in the page');
    });

    it("refuses a member's visibility field, delete and edit of a read-only team note (403), and offers the owner the team fields", async () => {
      const form = await bobWeb.get(`/notes/${shared.id}/edit`);
      const version = /name="version" value="(\d+)"/.exec(form.text)![1];
      const sneaky = await bobWeb.submit(`/notes/${shared.id}`, { title: 'Team agenda', body: 'x', tags: '', visibility: 'private', version });
      expect(sneaky.status).toBe(403);
      await bobWeb.get(`/notes/${shared.id}`);
      expect((await bobWeb.submit(`/notes/${shared.id}/delete`, {})).status).toBe(403);
      expect((await bobWeb.get(`/notes/${readOnly.id}/edit`)).status).toBe(403);
      expect((await bobWeb.get(`/notes/${readOnly.id}/history`)).status).toBe(403);
      const readOnlyPage = await bobWeb.get(`/notes/${readOnly.id}`);
      expect(readOnlyPage.text).not.toContain(`href="/notes/${readOnly.id}/edit"`);
      expect((await bobWeb.get(`/notes/${secret.id}`)).status).toBe(404);
      expect((await bobWeb.get(`/notes/${secret.id}/edit`)).status).toBe(404);
      expect((await alice.call('GET', `/api/v1/notes/${shared.id}`)).body).toMatchObject({ body: 'edited in the page', visibility: 'team' });
      const ownerForm = await aliceWeb.get(`/notes/${shared.id}/edit`);
      expect(ownerForm.text).toContain('value="team" checked');
      expect(ownerForm.text).toMatch(/name="editableByTeam" value="1"[^>]* checked/);
      const ownerVersion = /name="version" value="(\d+)"/.exec(ownerForm.text)![1];
      // The checkbox unticked (absent): the team may no longer edit.
      const saved = await aliceWeb.submit(`/notes/${shared.id}`, {
        title: 'Team agenda',
        body: 'edited in the page',
        tags: '',
        visibility: 'team',
        version: ownerVersion,
      });
      expect(saved.status).toBe(303);
      expect((await alice.call('GET', `/api/v1/notes/${shared.id}`)).body).toMatchObject({ editableByTeam: false });
      expect((await bobWeb.get(`/notes/${shared.id}/edit`)).status).toBe(403);
      const made = await aliceWeb.get('/notes/new');
      expect(made.text).toContain('Team (signed-in members)');
      const created = await aliceWeb.submit('/notes', { title: 'Made in the page', body: '', tags: '', visibility: 'team', editableByTeam: '1' });
      const id = created.headers.get('location')!.split('/').pop()!;
      expect((await bob.call('GET', `/api/v1/notes/${id}`)).body).toMatchObject({ visibility: 'team', editableByTeam: true });
    });

    it('takes a disabled member’s access away: their token and their session read no team note', async () => {
      expect((await bob.call('GET', `/api/v1/notes/${readOnly.id}`)).status).toBe(200);
      await adminWeb.get('/admin/users');
      expect((await adminWeb.submit(`/admin/users/${bobId}/disable`, { confirm: 'yes' })).status).toBe(303);
      expect((await bob.call('GET', `/api/v1/notes/${readOnly.id}`)).status).toBe(401);
      expect((await bob.call('GET', '/api/v1/notes?scope=team')).status).toBe(401);
      const page = await bobWeb.get(`/notes/${readOnly.id}`);
      expect(page.status).toBe(404);
      expect(page.text).not.toContain('Team runbook');
      expect((await bobWeb.get('/notes?scope=team')).status).toBe(302);
    });
  });
});
