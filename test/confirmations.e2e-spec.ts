import { Database } from '@kiroku/persistence';
import { ApiToken, User } from '../src/modules/auth';
import { Note } from '../src/modules/notes';
import { ApiClient } from './support/api-client';
import { describeEachEngine, freshDatabase } from './support/engines';
import { databaseDigest } from './support/snapshot';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

/** Destructive actions in the pages take two steps: a confirmation page naming what goes, then a form with confirm=yes. */
describeEachEngine('confirmation of destructive actions, and the trash read-only', (engine) => {
  let t: TestApp;
  let db: Database;
  let admin: WebClient;
  let alice: ApiClient;
  let aliceWeb: WebClient;
  let bobWeb: WebClient;

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine));
    db = t.app.get(Database);
    admin = new WebClient(t.url);
    await admin.signup('admin@example.com', 'a long enough passphrase', 'Admin');
    ({ api: alice, web: aliceWeb } = await ApiClient.forNewUser(t.url, 'alice@example.com'));
    ({ web: bobWeb } = await ApiClient.forNewUser(t.url, 'bob@example.com'));
  });
  afterAll(() => t.close());

  const trashed = async (title: string, body = 'text'): Promise<string> => {
    const created = await alice.call('POST', '/api/v1/notes', { title, body });
    expect((await alice.call('DELETE', `/api/v1/notes/${created.body.id as string}`)).status).toBe(204); // the API needs no second step
    return created.body.id as string;
  };
  const exists = async (id: string) => (await db.manager.countBy(Note, { id })) === 1;

  it('opens a trashed note read-only: title, rendered text, when it was trashed, Restore and Delete forever; 404 to others', async () => {
    const id = await trashed('Old plan', '# Heading\n\n**bold** and <script>x()</script>');
    const page = await aliceWeb.get(`/notes/trash/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>Old plan</h1>');
    expect(page.text).toContain('<strong>bold</strong>');
    expect(page.text).not.toContain('<script>x()');
    expect(page.text).toContain('This note is in the trash: restore it to edit it.');
    expect(page.text).toContain('Moved to trash'); // when
    expect(page.text).toContain(`action="/notes/${id}/restore"`);
    expect(page.text).toContain(`action="/notes/trash/${id}/delete"`);
    expect(page.text).not.toContain(`/notes/${id}/edit`);
    expect((await aliceWeb.get('/notes/trash')).text).toContain(`href="/notes/trash/${id}"`);
    // Bob's, nobody's, and a note not in the trash are all the same 404.
    expect((await bobWeb.get(`/notes/trash/${id}`)).status).toBe(404);
    expect((await aliceWeb.get('/notes/trash/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const live = await alice.call('POST', '/api/v1/notes', { title: 'Live', body: 'x' });
    expect((await aliceWeb.get(`/notes/trash/${live.body.id as string}`)).status).toBe(404);
    // Restore from it: the note is back where it was.
    expect((await aliceWeb.submit(`/notes/${id}/restore`, {})).headers.get('location')).toBe(`/notes/${id}`);
    expect((await alice.call('GET', `/api/v1/notes/${id}`)).body).toMatchObject({ title: 'Old plan' });
  });

  it('deletes one trashed note forever only from its confirmation page', async () => {
    const id = await trashed('Scratch', 'gone soon');
    // The first post (the trash's button) changes nothing: it leads to the confirmation page.
    await aliceWeb.get('/notes/trash');
    const before = await databaseDigest(db);
    const first = await aliceWeb.submit(`/notes/trash/${id}/delete`, {});
    expect([first.status, first.headers.get('location')]).toEqual([303, `/notes/trash/${id}/delete`]);
    expect(await databaseDigest(db)).toEqual(before);
    const confirm = await aliceWeb.get(`/notes/trash/${id}/delete`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('Delete this note forever?');
    expect(confirm.text).toContain('<li>Scratch</li>');
    expect(confirm.text).toContain('<input type="hidden" name="confirm" value="yes">');
    expect(confirm.text).toContain(`href="/notes/trash/${id}"`); // Cancel goes back to the note
    // Another value is not a confirmation; Bob's confirmed post finds nothing.
    expect((await aliceWeb.submit(`/notes/trash/${id}/delete`, { confirm: 'true' })).status).toBe(303);
    expect(await exists(id)).toBe(true);
    await bobWeb.get('/notes/trash');
    expect((await bobWeb.submit(`/notes/trash/${id}/delete`, { confirm: 'yes' })).status).toBe(404);
    expect((await bobWeb.get(`/notes/trash/${id}/delete`)).status).toBe(404);
    expect(await exists(id)).toBe(true);
    // Without the CSRF token, refused.
    expect((await aliceWeb.request('POST', `/notes/trash/${id}/delete`, { form: { confirm: 'yes' } })).status).toBe(403);
    expect(await exists(id)).toBe(true);

    await aliceWeb.get(`/notes/trash/${id}/delete`);
    const done = await aliceWeb.submit(`/notes/trash/${id}/delete`, { confirm: 'yes' });
    expect([done.status, done.headers.get('location')]).toEqual([303, '/notes/trash']);
    expect(await exists(id)).toBe(false);
    expect(Number((await db.dataSource.query(`SELECT count(*) AS n FROM note_revisions WHERE note_id = '${id}'`))[0].n)).toBe(0);
    expect((await aliceWeb.get('/notes/trash')).text).toContain('Note deleted forever.');
    // Again: nothing there any more.
    expect((await aliceWeb.submit(`/notes/trash/${id}/delete`, { confirm: 'yes' })).status).toBe(404);
  });

  it('empties the trash only from its confirmation page, which names the notes and counts them', async () => {
    const ids = [];
    for (let i = 1; i <= 12; i++) ids.push(await trashed(`Trashed ${String(i).padStart(2, '0')}`));
    await aliceWeb.get('/notes/trash');
    const before = await databaseDigest(db);
    const first = await aliceWeb.submit('/notes/trash/empty', {});
    expect([first.status, first.headers.get('location')]).toEqual([303, '/notes/trash/empty']);
    expect(await databaseDigest(db)).toEqual(before);
    const confirm = await aliceWeb.get('/notes/trash/empty');
    expect(confirm.status).toBe(200);
    const count = Number(
      (
        await db.dataSource.query(
          `SELECT count(*) AS n FROM notes n JOIN users u ON u.id = n.owner_id WHERE u.email = 'alice@example.com' AND n.deleted_at IS NOT NULL`,
        )
      )[0].n,
    );
    expect(count).toBeGreaterThanOrEqual(12);
    expect(confirm.text).toContain(`${count} notes in the trash will be deleted for good, with their history:`);
    expect(confirm.text.match(/<li>Trashed \d\d<\/li>/g)).toHaveLength(10);
    expect(confirm.text).toContain(`…and ${count - 10} more.`);
    expect(confirm.text).toContain('This cannot be undone.');
    expect(confirm.text).toContain('action="/notes/trash/empty"');
    // Bob's trash is his own: his confirmation of an empty trash goes back to it, and Alice's notes stay.
    const bobs = await bobWeb.get('/notes/trash/empty');
    expect([bobs.status, bobs.headers.get('location')]).toEqual([303, '/notes/trash']);
    await bobWeb.get('/notes/trash');
    await bobWeb.submit('/notes/trash/empty', { confirm: 'yes' });
    for (const id of ids) expect(await exists(id)).toBe(true);

    await aliceWeb.get('/notes/trash/empty');
    const done = await aliceWeb.submit('/notes/trash/empty', { confirm: 'yes' });
    expect([done.status, done.headers.get('location')]).toEqual([303, '/notes/trash']);
    for (const id of ids) expect(await exists(id)).toBe(false);
    expect((await aliceWeb.get('/notes/trash')).text).toContain('Trash emptied.');
  });

  it('revokes a token only from its confirmation page; a script keeps working until then', async () => {
    await aliceWeb.get('/account');
    await aliceWeb.submit('/account/tokens', { name: 'deploy bot' });
    const token = /id="new-token">([^<]+)</.exec((await aliceWeb.get('/account')).text)![1];
    const row = await db.manager.findOneByOrFail(ApiToken, { name: 'deploy bot' });
    const me = () => fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    const account = await aliceWeb.get('/account');
    expect(account.text).toContain(`action="/account/tokens/${row.id}/revoke"`);
    const first = await aliceWeb.submit(`/account/tokens/${row.id}/revoke`, {});
    expect([first.status, first.headers.get('location')]).toEqual([303, `/account/tokens/${row.id}/revoke`]);
    expect(await me()).toBe(200);
    const confirm = await aliceWeb.get(`/account/tokens/${row.id}/revoke`);
    expect(confirm.text).toContain('Revoke this token?');
    expect(confirm.text).toContain(`<li>deploy bot (${row.prefix}…)</li>`);
    expect(confirm.text).toContain('Scripts that use it are refused from now on.');
    // Someone else's token is a 404 at either step.
    expect((await bobWeb.get(`/account/tokens/${row.id}/revoke`)).status).toBe(404);
    await bobWeb.get('/account');
    expect((await bobWeb.submit(`/account/tokens/${row.id}/revoke`, { confirm: 'yes' })).status).toBe(404);
    expect(await me()).toBe(200);

    await aliceWeb.get(`/account/tokens/${row.id}/revoke`);
    const done = await aliceWeb.submit(`/account/tokens/${row.id}/revoke`, { confirm: 'yes' });
    expect([done.status, done.headers.get('location')]).toEqual([303, '/account']);
    expect(await me()).toBe(401);
    expect((await aliceWeb.get(`/account/tokens/${row.id}/revoke`)).status).toBe(404);
  });

  it('disables an account only from its confirmation page, which names whom', async () => {
    const carol = new WebClient(t.url);
    await carol.signup('carol@example.com', 'a long enough passphrase', 'Carol');
    const carolId = (await db.manager.findOneByOrFail(User, { email: 'carol@example.com' })).id;
    await admin.get('/admin/users');
    const first = await admin.submit(`/admin/users/${carolId}/disable`, {});
    expect([first.status, first.headers.get('location')]).toEqual([303, `/admin/users/${carolId}/disable`]);
    expect((await carol.get('/account')).status).toBe(200);
    const confirm = await admin.get(`/admin/users/${carolId}/disable`);
    expect(confirm.text).toContain('Disable this account?');
    expect(confirm.text).toContain('<li>Carol &lt;carol@example.com&gt;</li>');
    expect(confirm.text).toContain('They are signed out on every device');
    expect((await aliceWeb.get(`/admin/users/${carolId}/disable`)).status).toBe(403); // admins only
    const adminId = (await db.manager.findOneByOrFail(User, { email: 'admin@example.com' })).id;
    expect((await admin.get(`/admin/users/${adminId}/disable`)).status).toBe(404); // not oneself

    await admin.get(`/admin/users/${carolId}/disable`);
    const done = await admin.submit(`/admin/users/${carolId}/disable`, { confirm: 'yes' });
    expect([done.status, done.headers.get('location')]).toEqual([303, '/admin/users']);
    expect((await db.manager.findOneByOrFail(User, { id: carolId })).disabledAt).not.toBeNull();
    expect((await carol.get('/account')).status).toBe(302);
    // Enabling again takes one step: it loses nothing.
    await admin.get('/admin/users');
    expect((await admin.submit(`/admin/users/${carolId}/enable`, {})).status).toBe(303);
    expect((await db.manager.findOneByOrFail(User, { id: carolId })).disabledAt).toBeNull();
  });

  it('speaks Japanese on the confirmation and trashed-note pages', async () => {
    const id = await trashed('古い計画');
    const ja = { 'accept-language': 'ja' };
    const page = await aliceWeb.get(`/notes/trash/${id}`, ja);
    expect(page.text).toContain('このノートはゴミ箱にあります。');
    const confirm = await aliceWeb.get('/notes/trash/empty', ja);
    expect(confirm.text).toMatch(/ゴミ箱の \d+ 件のノートが、履歴とともに完全に削除されます/);
    expect(confirm.text).toContain('キャンセル');
  });

  it('keeps the JSON API to one step', async () => {
    const created = (await alice.call('POST', '/api/v1/notes', { title: 'API', body: 'x' })).body;
    expect((await alice.call('DELETE', `/api/v1/notes/${created.id as string}`)).status).toBe(204);
    expect((await alice.call('GET', `/api/v1/notes/${created.id as string}`)).status).toBe(404);
  });
});
