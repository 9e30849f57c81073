import { Database } from '@kiroku/persistence';
import { ApiToken } from '../src/modules/auth';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';

/** The text of the page's textarea, unescaped as a browser reads it. */
function textarea(html: string): string | undefined {
  const m = /<textarea id="body"[^>]*>([\s\S]*?)<\/textarea>/.exec(html);
  return m?.[1]
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function titleValue(html: string): string | undefined {
  return /<input id="title" name="title" required value="([^"]*)"/.exec(html)?.[1];
}

const signedIn = (html: string) => html.includes('action="/logout"');

describeEachEngine('note forms never lose what was typed', (engine) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(await freshDatabase(engine));
  });
  afterAll(() => t.close());

  async function writer(email: string): Promise<{ c: WebClient; id: string }> {
    const c = new WebClient(t.url);
    await c.signup(email, PASSWORD);
    await c.get('/notes/new');
    const created = await c.submit('/notes', { title: 'Draft', body: 'first words', tags: '', visibility: 'private' });
    expect(created.status).toBe(303);
    return { c, id: created.headers.get('location')!.split('/').pop()! };
  }

  it('has no maxlength that cuts a paste; a body over 100,000 characters comes back whole, with the limit named', async () => {
    const { c, id } = await writer('paste@example.com');
    const edit = await c.get(`/notes/${id}/edit`);
    expect(edit.text).not.toContain('maxlength');
    expect(edit.text).toContain('11 / 100,000 characters');
    const body = 'x'.repeat(150_000);
    const refused = await c.submit(`/notes/${id}`, { title: 'Draft', body, tags: '', visibility: 'private' });
    expect(refused.status).toBe(400);
    expect(textarea(refused.text)).toBe(body);
    expect(refused.text).toContain('The text can be at most 100,000 characters.');
    expect(refused.text).toContain('150,000 / 100,000 characters: 50,000 over the limit');
    expect(textarea((await c.get(`/notes/${id}/edit`)).text)).toBe('first words');
  });

  it('counts a title in code points: 150 emoji are accepted, 201 are refused with the title kept', async () => {
    const { c } = await writer('emoji@example.com');
    await c.get('/notes/new');
    const ok = await c.submit('/notes', { title: '😀'.repeat(150), body: '', tags: '', visibility: 'private' });
    expect(ok.status).toBe(303);
    expect((await c.get(ok.headers.get('location')!)).text).toContain('😀'.repeat(150));
    await c.get('/notes/new');
    const refused = await c.submit('/notes', { title: '😀'.repeat(201), body: 'kept', tags: '', visibility: 'private' });
    expect(refused.status).toBe(400);
    expect(titleValue(refused.text)).toBe('😀'.repeat(201));
    expect(refused.text).toContain('Give the note a title of 1 to 200 characters.');
    expect(refused.text).toContain('201 / 200 characters: 1 over the limit');
  });

  it('answers a stale token of a signed-in writer with the form as sent, then saves it with the fresh token', async () => {
    const { c, id } = await writer('stale@example.com');
    await c.get(`/notes/${id}/edit`);
    const stale = c.lastCsrf!;
    // Signed out and in again (another tab): a new session with a new token.
    await c.logout();
    await c.login('stale@example.com', PASSWORD);
    const refused = await c.request('POST', `/notes/${id}`, {
      form: { _csrf: stale, title: 'Draft', body: 'words <kept> & all', tags: 'a', visibility: 'public' },
    });
    expect(refused.status).toBe(403);
    expect(signedIn(refused.text)).toBe(true);
    expect(refused.text).toContain('This form had expired, so nothing was saved.');
    expect(textarea(refused.text)).toBe('words <kept> & all');
    expect(refused.text).toMatch(/value="public" checked/);
    const saved = await c.submit(`/notes/${id}`, { title: 'Draft', body: 'words <kept> & all', tags: 'a', visibility: 'public' });
    expect(saved.status).toBe(303);
    expect(textarea((await c.get(`/notes/${id}/edit`)).text)).toBe('words <kept> & all');
  });

  it('answers a form sent after the session ended with the text, a way to sign in again, and then saves the same text', async () => {
    const { c, id } = await writer('ended@example.com');
    await c.get(`/notes/${id}/edit`);
    const elsewhere = new WebClient(t.url);
    await elsewhere.login('ended@example.com', PASSWORD);
    await elsewhere.get('/account');
    expect((await elsewhere.submit('/account/sessions/revoke-others', {})).status).toBe(303);

    const sent = { title: 'Draft', body: 'written while signed out', tags: '', visibility: 'private' };
    const refused = await c.submit(`/notes/${id}`, sent);
    expect(refused.status).toBe(401);
    expect(signedIn(refused.text)).toBe(false);
    expect(refused.text).toContain('You were signed out, so nothing was saved.');
    expect(refused.text).toMatch(/<a href="\/login\?next=%2Fnotes" target="_blank" rel="noopener">/);
    expect(textarea(refused.text)).toBe('written while signed out');
    expect(refused.text).toContain(`action="/notes/${id}"`);

    // Sent again still signed out: the same page, nothing lost.
    const again = await c.submit(`/notes/${id}`, sent);
    expect(again.status).toBe(401);
    expect(textarea(again.text)).toBe('written while signed out');

    // Signed in again (in another tab): the page's token is from before, so the form comes back signed in, then saves.
    const old = c.lastCsrf!;
    await c.login('ended@example.com', PASSWORD);
    const back = await c.request('POST', `/notes/${id}`, { form: { _csrf: old, ...sent } });
    expect(back.status).toBe(403);
    expect(signedIn(back.text)).toBe(true);
    expect(textarea(back.text)).toBe('written while signed out');
    expect((await c.submit(`/notes/${id}`, sent)).status).toBe(303);
    expect(textarea((await c.get(`/notes/${id}/edit`)).text)).toBe('written while signed out');
  });

  it('does not hand a signed-out page of another note or a cross-site post anything but a refusal', async () => {
    const { c, id } = await writer('cross@example.com');
    await c.get(`/notes/${id}/edit`);
    const crossSite = await c.request('POST', `/notes/${id}`, {
      form: { _csrf: 'wrong', title: 'Draft', body: 'forged', tags: '', visibility: 'private' },
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.text).not.toContain('forged');
    const { c: other } = await writer('other@example.com');
    await other.get('/notes/new');
    const stranger = await other.request('POST', `/notes/${id}`, { form: { _csrf: 'stale', title: 'x', body: 'y', tags: '', visibility: 'private' } });
    expect(stranger.status).toBe(404);
    expect(textarea((await c.get(`/notes/${id}/edit`)).text)).toBe('first words');
  });

  it('answers a form too large to read with the limit named and the signed-in header', async () => {
    const { c, id } = await writer('large@example.com');
    await c.get(`/notes/${id}/edit`);
    const huge = await c.submit(`/notes/${id}`, { title: 'Draft', body: 'y'.repeat(5 * 1024 * 1024), tags: '', visibility: 'private' });
    expect(huge.status).toBe(413);
    expect(signedIn(huge.text)).toBe(true);
    expect(huge.text).toContain('larger than 2 MiB');
    expect(huge.text).toContain('at most 100,000');
    expect(huge.text).toContain('data-refused="tooLarge"');
    expect(textarea(huge.text)).toBe('first words');
    await c.get('/notes/new');
    const hugeNew = await c.submit('/notes', { title: 'New', body: 'y'.repeat(3 * 1024 * 1024), tags: '', visibility: 'private' });
    expect(hugeNew.status).toBe(413);
    expect(hugeNew.text).toContain('action="/notes"');
    expect(signedIn(hugeNew.text)).toBe(true);

    // A note at its limits in the widest characters (4 UTF-8 bytes, each sent as %XX) is never too large to read.
    await c.get('/notes/new');
    expect((await c.submit('/notes', { title: '😀'.repeat(200), body: '😀'.repeat(100_000), tags: '', visibility: 'private' })).status).toBe(303);

    // Signed out, and elsewhere: the error page, naming the limits.
    const anonymous = new WebClient(t.url);
    await anonymous.get('/login');
    const refused = await anonymous.submit('/notes', { title: 'x', body: 'y'.repeat(3 * 1024 * 1024) });
    expect(refused.status).toBe(413);
    expect(refused.text).toContain('2 MiB for a form');
    const api = await c.request('POST', '/api/v1/notes', { json: { title: 't', body: 'x'.repeat(1024 * 1024) } });
    expect(api.status).toBe(413);
    expect(api.headers.get('content-type')).toContain('application/problem+json');
  });

  it('shows a new API token once, after a redirect: a reload creates no second token and shows it no more', async () => {
    const c = new WebClient(t.url);
    await c.signup('tokens@example.com', PASSWORD);
    await c.get('/account');
    const created = await c.submit('/account/tokens', { name: 'once' });
    expect(created.status).toBe(303);
    expect(created.headers.get('location')).toBe('/account');
    expect(created.headers.get('location')).not.toContain('krk_');
    const shown = await c.get('/account');
    const token = /id="new-token">([^<]+)</.exec(shown.text)![1];
    expect(token).toMatch(/^krk_/);
    const reload = await c.get('/account');
    expect(reload.text).not.toContain(token);
    const db = t.app.get(Database);
    expect(await db.manager.countBy(ApiToken, { name: 'once' })).toBe(1);

    // The cookie that carried it opens for this session only.
    const carrier = created.setCookies.find((s) => s.startsWith('kiroku_new_token='))!.split(';')[0];
    const thief = new WebClient(t.url);
    await thief.signup('thief@example.com', PASSWORD);
    const [name, value] = carrier.split('=');
    thief.cookies.set(name, value);
    expect((await thief.get('/account')).text).not.toContain(token);
  });
});
