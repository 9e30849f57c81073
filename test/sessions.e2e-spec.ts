import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { Session, SessionStore } from '../src/modules/auth';
import { sha256 } from '../src/modules/web';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';
const HOUR = 3_600_000;

describeEachEngine('sessions', (engine) => {
  let t: TestApp;
  let clock: FakeClock;
  let db: Database;
  beforeEach(async () => {
    clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0));
    t = await startTestApp(await freshDatabase(engine), { clock });
    db = t.app.get(Database);
  });
  afterEach(() => t.close());

  /** The revoke handle of the session a client holds. */
  const handleOf = (c: WebClient) => t.app.get(SessionStore).handleOf(sha256(c.cookies.get('kiroku_sid')!));
  const signedUp = async (email = 'alice@example.com') => {
    const c = new WebClient(t.url);
    expect((await c.signup(email, PASSWORD)).status).toBe(303);
    return c;
  };
  const isSignedIn = async (c: WebClient) => (await c.get('/account')).status === 200;

  it('sets a random session cookie with the right flags and stores only its hash', async () => {
    const c = await signedUp();
    const cookie = c.cookies.get('kiroku_sid')!;
    expect(Buffer.from(cookie, 'base64url').length).toBeGreaterThanOrEqual(32);
    const reply = await c.login('alice@example.com', PASSWORD);
    const header = reply.setCookies.find((h) => h.startsWith('kiroku_sid='))!;
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Lax/);
    expect(header).not.toMatch(/Secure|Domain/);
    const rows = await db.manager.find(Session);
    const value = c.cookies.get('kiroku_sid')!;
    expect(rows.map((r) => r.idHash)).toContain(sha256(value));
    expect(JSON.stringify(rows)).not.toContain(value);
  });

  it('treats cookies that cookie-parser reads as JSON (`j:…`) as absent: anonymous, never a 5xx', async () => {
    for (const value of ['j:{"a":1}', 'j:["x"]', 'j:1']) {
      const c = new WebClient(t.url);
      for (const name of ['kiroku_sid', 'kiroku_csrf', 'kiroku_flash']) c.cookies.set(name, value);
      expect((await c.get('/account')).status).toBe(302);
      expect((await c.get('/login')).status).toBe(200);
      expect((await c.get('/api/v1/me', { accept: 'application/json' })).status).toBe(401);
      expect((await c.submit('/login', { email: 'nobody@example.com', password: 'wrong password!' })).status).toBe(401);
    }
  });

  it('issues a new id at sign-in; the old cookie is anonymous afterwards', async () => {
    const c = await signedUp();
    const before = c.cookies.get('kiroku_sid')!;
    await c.login('alice@example.com', PASSWORD);
    const after = c.cookies.get('kiroku_sid')!;
    expect(after).not.toBe(before);
    expect(await db.manager.countBy(Session, { idHash: sha256(before) })).toBe(0);
    const replay = new WebClient(t.url);
    replay.cookies.set('kiroku_sid', before);
    expect((await replay.get('/account')).status).toBe(302);
    expect(await isSignedIn(c)).toBe(true);
  });

  it('logs out with a POST that deletes the row before answering and clears site cookies', async () => {
    const c = await signedUp();
    const cookie = c.cookies.get('kiroku_sid')!;
    const reply = await c.logout();
    expect(reply.status).toBe(303);
    expect(reply.headers.get('location')).toBe('/login?signedOut=1');
    expect(reply.headers.get('clear-site-data')).toBe('"cookies"');
    expect(await db.manager.countBy(Session, { idHash: sha256(cookie) })).toBe(0);
    const replay = new WebClient(t.url);
    replay.cookies.set('kiroku_sid', cookie);
    expect((await replay.get('/account')).headers.get('location')).toBe('/login?next=%2Faccount');
    expect((await new WebClient(t.url).request('GET', '/logout')).status).toBe(404);
  });

  it('ends a session after the idle timeout, on the server', async () => {
    const c = await signedUp();
    clock.advance(12 * HOUR - 1000);
    expect(await isSignedIn(c)).toBe(true); // activity renews the idle window
    clock.advance(12 * HOUR - 1000);
    expect(await isSignedIn(c)).toBe(true);
    clock.advance(12 * HOUR);
    expect(await isSignedIn(c)).toBe(false);
    expect(await db.manager.count(Session)).toBe(0);
  });

  it('ends a session at its absolute lifetime however active it is', async () => {
    const c = await signedUp();
    for (let i = 0; i < 16; i++) {
      clock.advance(10 * HOUR);
      expect(await isSignedIn(c)).toBe(true);
    }
    clock.advance(7 * HOUR); // 167 h after sign-in
    expect(await isSignedIn(c)).toBe(true);
    clock.advance(2 * HOUR); // 169 h: past 7 days
    expect(await isSignedIn(c)).toBe(false);
  });

  it('changing the password ends every other session and renews this one', async () => {
    const laptop = await signedUp();
    const phone = new WebClient(t.url);
    await phone.login('alice@example.com', PASSWORD);
    const laptopBefore = laptop.cookies.get('kiroku_sid')!;
    await laptop.get('/account');
    const reply = await laptop.submit('/account/password', { currentPassword: PASSWORD, newPassword: 'another fine passphrase' });
    expect(reply.status).toBe(303);
    expect(laptop.cookies.get('kiroku_sid')).not.toBe(laptopBefore);
    expect(await isSignedIn(laptop)).toBe(true);
    expect(await isSignedIn(phone)).toBe(false);
    expect(await db.manager.count(Session)).toBe(1);
  });

  it('refuses a password change without the current password', async () => {
    const c = await signedUp();
    await c.get('/account');
    const reply = await c.submit('/account/password', { currentPassword: 'wrong password!', newPassword: 'another fine passphrase' });
    expect(reply.status).toBe(400);
    expect(reply.text).toContain('The current password is not correct.');
    expect((await new WebClient(t.url).login('alice@example.com', PASSWORD)).status).toBe(303);
  });

  it('lists active sessions, revokes one, and signs out everywhere else', async () => {
    const a = await signedUp();
    const b = new WebClient(t.url);
    const c = new WebClient(t.url);
    await b.login('alice@example.com', PASSWORD);
    await c.login('alice@example.com', PASSWORD);
    const page = await a.get('/account');
    const ids = [...page.text.matchAll(/action="\/account\/sessions\/([A-Za-z0-9_-]{22})\/revoke"/g)].map((m) => m[1]);
    expect(page.text).not.toMatch(/[0-9a-f]{64}/); // neither a cookie nor its stored hash
    expect(ids).toHaveLength(3);
    expect(page.text).toContain('This device');
    await a.submit(`/account/sessions/${handleOf(b)}/revoke`, {});
    expect(await isSignedIn(b)).toBe(false);
    expect(await isSignedIn(c)).toBe(true);
    await a.get('/account');
    await a.submit('/account/sessions/revoke-others', {});
    expect(await isSignedIn(c)).toBe(false);
    expect(await isSignedIn(a)).toBe(true);
    // Another user's session id is not found, not revoked.
    const mallory = await signedUp('mallory@example.com');
    await mallory.get('/account');
    expect((await mallory.submit(`/account/sessions/${handleOf(a)}/revoke`, {})).status).toBe(404);
    expect(await isSignedIn(a)).toBe(true);
  });

  it('prunes expired rows in batches through the claimed scheduled task', async () => {
    for (let i = 0; i < 7; i++) await signedUp(`u${i}@example.com`);
    clock.advance(13 * HOUR);
    const keep = await signedUp('fresh@example.com');
    const { TaskScheduler } = await import('@kiroku/scheduler');
    const scheduler = t.app.get(TaskScheduler);
    clock.set(Date.UTC(2026, 10, 29, 4, 23, 1));
    expect(await scheduler.runSlot('prune-records')).toBe('succeeded');
    expect(await scheduler.runSlot('prune-records')).toBe('skipped'); // the same slot runs once
    expect(await db.manager.count(Session)).toBe(1);
    expect(await isSignedIn(keep)).toBe(true);
  });

  it('answers 503, not anonymous, when the session store cannot be read', async () => {
    const c = await signedUp();
    await db.dataSource.query('DROP TABLE "sessions"');
    const page = await c.get('/account');
    expect(page.status).toBe(503);
    const post = await c.request('POST', '/logout', { form: { _csrf: c.lastCsrf! } });
    expect(post.status).toBe(503);
  });
});
