import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { hash } from '@node-rs/argon2';
import { AuditEvent } from '../src/modules/audit';
import { ApiToken, PasswordHasher, Session, User } from '../src/modules/auth';
import { refuseInserts } from './support/database';
import { describeEachEngine, freshDatabase, postgresMissing } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';

describeEachEngine('authentication', (engine) => {
  let t: TestApp;
  let db: Database;
  let clock: FakeClock;
  beforeEach(async () => {
    clock = new FakeClock(Date.UTC(2026, 10, 28, 9, 0));
    t = await startTestApp(await freshDatabase(engine), { clock });
    db = t.app.get(Database);
  });
  afterEach(() => t.close());

  it('makes the first account admin and later ones users; closes sign-up when REGISTRATION=closed', async () => {
    await new WebClient(t.url).signup('first@example.com', PASSWORD);
    await new WebClient(t.url).signup('second@example.com', PASSWORD);
    const roles = (await db.manager.find(User, { order: { createdAt: 'ASC' } })).map((u) => [u.email, u.role]);
    expect(roles).toEqual([
      ['first@example.com', 'admin'],
      ['second@example.com', 'user'],
    ]);
    const closed = await startTestApp({ ...(await freshDatabase(engine)), REGISTRATION: 'closed' }, { clock });
    try {
      const c = new WebClient(closed.url);
      const page = await c.get('/signup');
      expect(page.status).toBe(403);
      expect(page.text).toContain('Sign-up is closed on this server.');
      expect((await c.submit('/signup', { email: 'x@example.com', password: PASSWORD, displayName: 'X' })).status).toBe(403);
      expect(await closed.app.get(Database).manager.count(User)).toBe(0);
    } finally {
      await closed.close();
    }
  });

  it('signs up whole: when the browser cannot be signed in, no account is kept, and signing up again works', async () => {
    const c = new WebClient(t.url);
    await c.get('/signup');
    const form = { email: 'whole@example.com', password: PASSWORD, displayName: 'Whole' };
    // The account and its event are written; the new session, last in the same transaction, is refused.
    const allow = await refuseInserts(db, engine, 'sessions');
    try {
      expect((await c.submit('/signup', form)).status).toBe(500);
    } finally {
      await allow();
    }
    expect(await db.manager.countBy(User, { email: 'whole@example.com' })).toBe(0);
    expect(await db.manager.countBy(AuditEvent, { type: 'account.created' })).toBe(0);
    await c.get('/signup');
    const again = await c.submit('/signup', form);
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/notes');
    expect((await c.get('/account')).status).toBe(200);
  });

  it('hashes with argon2id m=19456 t=2 p=1 and re-hashes weaker stored hashes at sign-in', async () => {
    await new WebClient(t.url).signup('alice@example.com', PASSWORD);
    const user = await db.manager.findOneByOrFail(User, { email: 'alice@example.com' });
    expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const weak = await hash(PASSWORD, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await db.manager.update(User, { id: user.id }, { passwordHash: weak });
    expect((await new WebClient(t.url).login('alice@example.com', PASSWORD)).status).toBe(303);
    expect((await db.manager.findOneByOrFail(User, { id: user.id })).passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it("records a session's last activity at most once a minute, in its row", async () => {
    const c = new WebClient(t.url);
    await c.signup('alice@example.com', PASSWORD);
    const seen = async () => (await db.manager.find(Session)).map((s) => s.lastSeenAt.getTime());
    const signedIn = clock.now().getTime();
    expect(await seen()).toEqual([signedIn]);
    clock.advance(30_000);
    expect((await c.get('/account')).status).toBe(200);
    expect(await seen()).toEqual([signedIn]); // within the minute: no write
    clock.advance(45_000);
    expect((await c.get('/account')).status).toBe(200);
    expect(await seen()).toEqual([clock.now().getTime()]);
  });

  it.each([
    ['seven77', 'Use at least 8 characters.'],
    ['x'.repeat(129), 'Use at most 128 characters.'],
    ['password123', 'This password is among the most common ones.'],
    ['Iloveyou', 'This password is among the most common ones.'],
  ])('refuses the password %j', async (password, message) => {
    const reply = await new WebClient(t.url).signup('weak@example.com', password);
    expect(reply.status).toBe(400);
    expect(reply.text).toContain(message);
    expect(await db.manager.count(User)).toBe(0);
  });

  it('accepts 8 characters with no composition rules, and counts characters, not bytes', async () => {
    expect((await new WebClient(t.url).signup('a@example.com', 'kirokuno')).status).toBe(303);
    expect((await new WebClient(t.url).signup('b@example.com', '記録の合言葉です')).status).toBe(303);
  });

  it('answers an unknown email and a wrong password identically', async () => {
    await new WebClient(t.url).signup('alice@example.com', PASSWORD);
    const normalise = (html: string) => html.replace(/value="[A-Za-z0-9_-]{43}"/g, 'value="TOKEN"').replace(/value="[^"]*@[^"]*"/, 'value="EMAIL"');
    const unknown = await new WebClient(t.url).login('nobody@example.com', PASSWORD);
    const wrong = await new WebClient(t.url).login('alice@example.com', 'wrong passphrase!');
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(unknown.status);
    expect(normalise(wrong.text)).toBe(normalise(unknown.text));
    expect(wrong.text).toContain('Email or password is incorrect.');
  });

  it('spends the same argon2 work on an unknown email as on a wrong password', async () => {
    await new WebClient(t.url).signup('alice@example.com', PASSWORD);
    // Wall-clock time on two shared cores cannot tell a 15 ms hash from request overhead reliably;
    // counting the argon2 verifications each answer costs can.
    const hasher = t.app.get(PasswordHasher);
    const verify = jest.spyOn(hasher, 'verify');
    await new WebClient(t.url).login('nobody@example.com', 'wrong passphrase!');
    const unknownCalls = verify.mock.calls.length;
    await new WebClient(t.url).login('alice@example.com', 'wrong passphrase!');
    const knownCalls = verify.mock.calls.length - unknownCalls;
    const [unknownAgainst] = verify.mock.calls[0];
    verify.mockRestore();
    expect({ unknownCalls, knownCalls }).toEqual({ unknownCalls: 1, knownCalls: 1 });
    // …and the unknown email's verification ran against a real argon2id hash of today's parameters.
    expect(unknownAgainst).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(unknownAgainst, 'x')).toBe(false);
  });

  it('slows repeated failures per account with 429 and Retry-After, never locks for good, and logs each lock', async () => {
    await new WebClient(t.url).signup('victim@example.com', PASSWORD);
    const attacker = new WebClient(t.url);
    for (let i = 0; i < 5; i++) expect((await attacker.login('victim@example.com', `guess number ${i}`)).status).toBe(401);
    const locked = await attacker.login('victim@example.com', PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('1');
    expect(locked.text).toContain('Too many attempts. Try again in 1 second.');
    // Even the right password waits: nothing is verified while locked.
    expect((await new WebClient(t.url).login('victim@example.com', PASSWORD)).status).toBe(429);
    clock.advance(1000);
    expect((await attacker.login('victim@example.com', 'guess number 6')).status).toBe(401);
    const second = await attacker.login('victim@example.com', PASSWORD);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('2'); // doubled
    clock.advance(16 * 60_000); // the cap is 15 minutes
    expect((await new WebClient(t.url).login('victim@example.com', PASSWORD)).status).toBe(303);
    const locks = await db.dataSource.query(`SELECT "details" FROM "audit_events" WHERE "type" = 'login.locked'`);
    expect(locks.length).toBe(2);
    expect(t.logs.lines.some((l) => l.event === 'login.locked' && l.stream === 'security')).toBe(true);
  });

  it('lets parallel guesses through no faster than one at a time', async () => {
    await new WebClient(t.url).signup('victim@example.com', PASSWORD);
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const c = new WebClient(t.url);
        await c.get('/login');
        return c;
      }),
    );
    const statuses = await Promise.all(
      clients.map((c, i) => c.submit('/login', { email: 'victim@example.com', password: `parallel guess ${i}` }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it('throttles an unknown email exactly like a known one (no enumeration through 429s)', async () => {
    const attacker = new WebClient(t.url);
    for (let i = 0; i < 5; i++) expect((await attacker.login('ghost@example.com', `guess ${i} guess`)).status).toBe(401);
    expect((await attacker.login('ghost@example.com', 'guess 6 guess')).status).toBe(429);
  });

  it('rations sign-ups per address (each costs a hash and says whether an email exists)', async () => {
    for (let i = 0; i < 10; i++) expect((await new WebClient(t.url).signup(`new${i}@example.com`, PASSWORD)).status).toBe(303);
    const refused = await new WebClient(t.url).signup('new10@example.com', PASSWORD);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(await db.manager.count(User)).toBe(10);
  });

  it('throttles guessing the current password from a signed-in session', async () => {
    const c = new WebClient(t.url);
    await c.signup('alice@example.com', PASSWORD);
    for (let i = 0; i < 5; i++) {
      await c.get('/account');
      expect((await c.submit('/account/password', { currentPassword: `guess ${i} guess`, newPassword: 'brand new passphrase' })).status).toBe(400);
    }
    await c.get('/account');
    const refused = await c.submit('/account/password', { currentPassword: PASSWORD, newPassword: 'brand new passphrase' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    const failures = await db.dataSource.query(`SELECT count(*) AS n FROM "audit_events" WHERE "type" = 'password.change_failed'`);
    expect(Number(failures[0].n)).toBe(5);
  });

  it('issues personal access tokens shown once, stored as hashes, revocable, with last-used time', async () => {
    const c = new WebClient(t.url);
    await c.signup('alice@example.com', PASSWORD, 'Alice');
    await c.get('/account');
    const created = await c.submit('/account/tokens', { name: 'backup script' });
    expect(created.status).toBe(303);
    expect(created.headers.get('location')).toBe('/account');
    expect(created.text).not.toMatch(/krk_/);
    const shown = await c.get('/account');
    expect(shown.text).toContain('Token created.');
    const token = /<code class="token" id="new-token">([^<]+)<\/code>/.exec(shown.text)![1];
    expect(token).toMatch(/^krk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const row = await db.manager.findOneByOrFail(ApiToken, { name: 'backup script' });
    expect(JSON.stringify(row)).not.toContain(token.slice(17));
    expect(token.startsWith(row.prefix)).toBe(true);
    expect((await c.get('/account')).text).not.toContain(token);

    clock.advance(5 * 60_000);
    const me = await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ id: row.userId, email: 'alice@example.com', displayName: 'Alice', role: 'admin' });
    expect((await db.manager.findOneByOrFail(ApiToken, { id: row.id })).lastUsedAt).toEqual(clock.now());

    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expect((await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${tampered}` } })).status).toBe(401);
    await c.get('/account');
    expect((await c.submit(`/account/tokens/${row.id}/revoke`, { confirm: 'yes' })).status).toBe(303);
    const revoked = await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

(postgresMissing() ? describe.skip : describe)('throttling across two instances on one PostgreSQL', () => {
  it('counts failures made through either instance together', async () => {
    const db = await freshDatabase('postgres');
    const one = await startTestApp(db);
    const two = await startTestApp(db);
    try {
      await new WebClient(one.url).signup('victim@example.com', PASSWORD);
      for (let i = 0; i < 5; i++) {
        const via = i % 2 === 0 ? one : two;
        expect((await new WebClient(via.url).login('victim@example.com', `guess number ${i}`)).status).toBe(401);
      }
      expect((await new WebClient(two.url).login('victim@example.com', PASSWORD)).status).toBe(429);
      expect((await new WebClient(one.url).login('victim@example.com', PASSWORD)).status).toBe(429);
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('throttling by client address behind a trusted proxy', () => {
  it('never slows the owner signing in from elsewhere, and counts IPv6 clients per /64', async () => {
    const t = await startTestApp({ ...(await freshDatabase('sqlite')), TRUST_PROXY: 'loopback' });
    try {
      await new WebClient(t.url).signup('victim@example.com', PASSWORD);
      const from = (ip: string) => ({ 'x-forwarded-for': ip });
      const attacker = new WebClient(t.url);
      for (let i = 0; i < 5; i++) {
        await attacker.get('/login', from('203.0.113.7'));
        await attacker.submit('/login', { email: 'victim@example.com', password: `guess ${i} guess` }, from('203.0.113.7'));
      }
      await attacker.get('/login', from('203.0.113.7'));
      expect((await attacker.submit('/login', { email: 'victim@example.com', password: PASSWORD }, from('203.0.113.7'))).status).toBe(429);
      const owner = new WebClient(t.url);
      await owner.get('/login', from('198.51.100.2'));
      expect((await owner.submit('/login', { email: 'victim@example.com', password: PASSWORD }, from('198.51.100.2'))).status).toBe(303);

      const v6 = new WebClient(t.url);
      for (let i = 0; i < 5; i++) {
        const ip = `2001:db8:1:2::${(i + 1).toString(16)}`;
        await v6.get('/login', from(ip));
        expect((await v6.submit('/login', { email: 'victim@example.com', password: `v6 guess ${i}` }, from(ip))).status).toBe(401);
      }
      await v6.get('/login', from('2001:db8:1:2:ffff::9'));
      expect((await v6.submit('/login', { email: 'victim@example.com', password: PASSWORD }, from('2001:db8:1:2:ffff::9'))).status).toBe(429);
    } finally {
      await t.close();
    }
  });
});
