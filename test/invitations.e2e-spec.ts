import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { AuditEvent } from '../src/modules/audit';
import { AccountLink, Accounts, Session, User } from '../src/modules/auth';
import { sha256 } from '../src/modules/web';
import { refuseAuditEvents, refuseInserts } from './support/database';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { SmtpReceiver } from './support/receivers';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The link the users page shows once, after the redirect that follows its creation. */
const shownLink = (html: string) => /<code class="token" id="new-link">([^<]+)<\/code>/.exec(html)?.[1].replace(/&amp;/g, '&');
/** The path and query of a link (the test app listens elsewhere than PUBLIC_URL says). */
const pathOf = (link: string) => {
  const url = new URL(link);
  return url.pathname + url.search;
};

describeEachEngine('invitations and password links', (engine) => {
  let t: TestApp;
  let db: Database;
  let clock: FakeClock;
  let admin: WebClient;
  let adminId: string;
  beforeEach(async () => {
    clock = new FakeClock(Date.UTC(2026, 11, 5, 9, 0));
    // Sign-up is closed: an operator made the first (admin) account, and invitations are how people join.
    t = await startTestApp({ ...(await freshDatabase(engine)), REGISTRATION: 'closed' }, { clock });
    db = t.app.get(Database);
    const created = await t.app.get(Accounts).create({ email: 'admin@example.com', displayName: 'Admin', password: PASSWORD });
    if (!('user' in created)) throw new Error('no admin');
    adminId = created.user.id;
    admin = new WebClient(t.url);
    expect((await admin.login('admin@example.com', PASSWORD)).status).toBe(303);
  });
  afterEach(() => t.close());

  const invite = async (email: string) => {
    await admin.get('/admin/users');
    const reply = await admin.submit('/admin/users/invite', { email });
    expect(reply.status).toBe(303);
    expect(reply.headers.get('location')).toBe('/admin/users');
    return pathOf(shownLink((await admin.get('/admin/users')).text)!);
  };
  const events = async (type: string) => db.manager.find(AuditEvent, { where: { type }, order: { at: 'ASC' } });
  const isSignedIn = async (c: WebClient) => (await c.get('/account')).status === 200;

  it('invites while sign-up is closed: the link is shown once, stored as a hash, works once and signs the colleague in', async () => {
    expect((await new WebClient(t.url).get('/signup')).status).toBe(403);
    await admin.get('/admin/users');
    await admin.submit('/admin/users/invite', { email: ' Lin@Example.com ' });
    const page = await admin.get('/admin/users');
    const link = shownLink(page.text)!;
    expect(link).toMatch(/^http:\/\/localhost:\d+\/invite\?token=[A-Za-z0-9_-]{43}$/);
    expect(page.headers.get('cache-control')).toBe('no-store');
    // Shown once: the page after it no longer holds it.
    expect(shownLink((await admin.get('/admin/users')).text)).toBeUndefined();
    const token = new URL(link).searchParams.get('token')!;
    const [row] = await db.manager.find(AccountLink);
    expect(row).toMatchObject({ kind: 'invite', email: 'lin@example.com', tokenHash: sha256(token), usedAt: null, createdBy: adminId });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(7 * DAY);
    expect(JSON.stringify(await db.manager.find(AccountLink))).not.toContain(token);
    expect((await admin.get('/admin/users')).text).toMatch(/data-link-state="pending"[\s\S]*lin@example\.com/);

    const lin = new WebClient(t.url);
    const form = await lin.get(pathOf(link));
    expect(form.status).toBe(200);
    expect(form.text).toContain('value="lin@example.com" readonly');
    expect(form.headers.get('referrer-policy')).toBe('no-referrer');
    const joined = await lin.submit('/invite', { token, displayName: 'Lin', password: PASSWORD });
    expect(joined.status).toBe(303);
    expect(joined.headers.get('location')).toBe('/notes');
    expect(await isSignedIn(lin)).toBe(true);
    const user = await db.manager.findOneByOrFail(User, { email: 'lin@example.com' });
    expect(user).toMatchObject({ role: 'user', displayName: 'Lin' });
    expect(await db.manager.findOneByOrFail(AccountLink, { id: row.id })).toMatchObject({ userId: user.id });
    expect((await events('invite.created')).map((e) => e.actorId)).toEqual([adminId]);
    expect((await events('invite.used')).map((e) => [e.userId, e.actorId])).toEqual([[user.id, adminId]]);
    expect((await admin.get('/admin/users')).text).toMatch(/data-link-state="used"/);

    // Used: a clear page, for the same person or anyone else, and no second account.
    const again = await new WebClient(t.url).get(pathOf(link));
    expect(again.status).toBe(410);
    expect(again.text).toContain('This invitation does not work');
    expect(again.text).toContain('It has already been used');
    expect(again.text).toContain('Ask an administrator to send you a new invitation.');
    const other = new WebClient(t.url);
    await other.get('/login');
    expect((await other.submit('/invite', { token, displayName: 'Mallory', password: PASSWORD })).status).toBe(410);
    expect(await db.manager.count(User)).toBe(2);
    // The secret rides in the query string, which the access log leaves out: no log line holds it.
    const access = await t.logs.waitFor((l) => l.stream === 'access' && l.path === '/invite' && l.method === 'POST' && l.status === 410);
    expect(access.route).toBe('/invite');
    expect(JSON.stringify(t.logs.lines)).not.toContain(token);
  });

  it('keeps the link usable when the form is refused, and answers a refusal for a taken or broken address', async () => {
    const path = await invite('kai@example.com');
    const token = new URL(path, t.url).searchParams.get('token')!;
    const kai = new WebClient(t.url);
    await kai.get(path);
    const refused = await kai.submit('/invite', { token, displayName: '', password: 'short' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('value="kai@example.com" readonly');
    expect(refused.text).toContain('aria-invalid="true"');
    expect((await db.manager.findOneByOrFail(AccountLink, { tokenHash: sha256(token) })).usedAt).toBeNull();
    expect((await kai.submit('/invite', { token, displayName: 'Kai', password: PASSWORD })).status).toBe(303);

    await admin.get('/admin/users');
    const taken = await admin.submit('/admin/users/invite', { email: 'KAI@example.com' });
    expect(taken.status).toBe(400);
    expect(taken.text).toContain('This address already has an account.');
    const broken = await admin.submit('/admin/users/invite', { email: 'not an address' });
    expect(broken.status).toBe(400);
    expect(broken.text).toContain('value="not an address"');
    expect(await db.manager.count(AccountLink)).toBe(1);
  });

  it('refuses an expired link, a revoked one and one that never existed, each with a page that says what to do', async () => {
    const expiring = await invite('old@example.com');
    clock.advance(7 * DAY);
    const expired = await new WebClient(t.url).get(expiring);
    expect(expired.status).toBe(410);
    expect(expired.text).toContain('It has expired.');
    await admin.login('admin@example.com', PASSWORD); // a week later, the admin's session has ended too
    expect((await admin.get('/admin/users')).text).toMatch(/data-link-state="expired"/);

    const revoking = await invite('new@example.com');
    const row = await db.manager.findOneByOrFail(AccountLink, { email: 'new@example.com' });
    await admin.get('/admin/users');
    const revoked = await admin.submit(`/admin/links/${row.id}/revoke`, {});
    expect(revoked.status).toBe(303);
    expect((await events('invite.revoked')).map((e) => e.actorId)).toEqual([adminId]);
    const gone = await new WebClient(t.url).get(revoking);
    expect(gone.status).toBe(410);
    expect(gone.text).toContain('An administrator withdrew it.');
    await admin.get('/admin/users');
    expect((await admin.submit(`/admin/links/${row.id}/revoke`, {})).status).toBe(404);

    // A second invitation for the same address replaces the first.
    const first = await invite('again@example.com');
    await invite('again@example.com');
    expect((await new WebClient(t.url).get(first)).status).toBe(410);

    for (const path of ['/invite', '/invite?token=', `/invite?token=${'A'.repeat(43)}`, '/reset?token=x']) {
      const unknown = await new WebClient(t.url).get(path);
      expect({ path, status: unknown.status }).toEqual({ path, status: 404 });
      expect(unknown.text).toContain('There is no such link.');
    }
    // An invitation's secret opens no reset page.
    expect((await new WebClient(t.url).get(expiring.replace('/invite', '/reset'))).status).toBe(404);
    expect(await db.manager.count(User)).toBe(1);
  });

  it('lets exactly one of two uses at the same moment through', async () => {
    const path = await invite('twice@example.com');
    const token = new URL(path, t.url).searchParams.get('token')!;
    const [a, b] = [new WebClient(t.url), new WebClient(t.url)];
    await Promise.all([a.get(path), b.get(path)]);
    const replies = await Promise.all([
      a.submit('/invite', { token, displayName: 'A', password: PASSWORD }),
      b.submit('/invite', { token, displayName: 'B', password: PASSWORD }),
    ]);
    expect(replies.map((r) => r.status).sort()).toEqual([303, 410]);
    expect(await db.manager.countBy(User, { email: 'twice@example.com' })).toBe(1);
    expect(await events('invite.used')).toHaveLength(1);
  });

  it('keeps an invitation whole: when its event or the browser’s session cannot be written, no account is made and the link still works', async () => {
    const path = await invite('noor@example.com');
    const token = new URL(path, t.url).searchParams.get('token')!;
    const noor = new WebClient(t.url);
    // One statement of the acceptance fails, its event (the last but one) or the browser's session (the last): the
    // invitation used up, the account and its event go with it, and nobody is signed in.
    for (const refuse of [() => refuseAuditEvents(db, engine, 'invite.used'), () => refuseInserts(db, engine, 'sessions')]) {
      await noor.get(path);
      const allow = await refuse();
      try {
        expect((await noor.submit('/invite', { token, displayName: 'Noor', password: PASSWORD })).status).toBe(500);
      } finally {
        await allow();
      }
      expect(await db.manager.countBy(User, { email: 'noor@example.com' })).toBe(0);
      expect(await db.manager.findOneByOrFail(AccountLink, { tokenHash: sha256(token) })).toMatchObject({ usedAt: null, userId: null });
      expect(await events('account.created')).toHaveLength(1); // the admin's
      expect(await isSignedIn(noor)).toBe(false);
    }
    // Tried again, it works: the link was not spent on the failures.
    await noor.get(path);
    expect((await noor.submit('/invite', { token, displayName: 'Noor', password: PASSWORD })).status).toBe(303);
    expect(await db.manager.countBy(User, { email: 'noor@example.com' })).toBe(1);
    expect(await events('invite.used')).toHaveLength(1);
  });

  it('creates an account from the users page with its name and role: nobody can sign in until the person chooses a password through the link shown once', async () => {
    const pending = await invite('ada@example.com'); // an invitation for the address goes when the account is made
    await admin.get('/admin/users');
    const reply = await admin.submit('/admin/users/create', { email: ' Ada@Example.com ', displayName: 'Ada', role: 'admin' });
    expect(reply.status).toBe(303);
    expect(reply.headers.get('location')).toBe('/admin/users');
    const page = await admin.get('/admin/users');
    expect(page.text).toContain('Account created for ada@example.com: their password link');
    expect(page.text).toContain('Account created. Pass the link on');
    const link = shownLink(page.text)!;
    expect(link).toMatch(/^http:\/\/localhost:\d+\/reset\?token=[A-Za-z0-9_-]{43}$/);
    expect(shownLink((await admin.get('/admin/users')).text)).toBeUndefined(); // shown once

    const ada = await db.manager.findOneByOrFail(User, { email: 'ada@example.com' });
    expect(ada).toMatchObject({ displayName: 'Ada', role: 'admin', disabledAt: null });
    const row = await db.manager.findOneByOrFail(AccountLink, { kind: 'reset', userId: ada.id });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(7 * DAY); // as long as an invitation
    expect((await new WebClient(t.url).get(pending)).status).toBe(410);
    expect((await events('account.created')).filter((e) => e.userId === ada.id).map((e) => e.actorId)).toEqual([adminId]);
    expect((await events('reset.created')).map((e) => [e.userId, e.actorId])).toEqual([[ada.id, adminId]]);

    // The account exists, but no password anyone knows opens it.
    expect((await new WebClient(t.url).login('ada@example.com', PASSWORD)).status).toBe(401);
    const browser = new WebClient(t.url);
    expect((await browser.get(pathOf(link))).text).toContain('value="ada@example.com" readonly');
    const token = new URL(link).searchParams.get('token')!;
    expect((await browser.submit('/reset', { token, password: PASSWORD })).status).toBe(303);
    expect((await browser.get('/admin')).status).toBe(200); // signed in, as the admin she was made
    expect((await new WebClient(t.url).login('ada@example.com', PASSWORD)).status).toBe(303);
  });

  it('refuses an account for a taken or broken address or a bad name, keeping what was typed; a forged role creates nothing', async () => {
    await admin.get('/admin/users');
    const taken = await admin.submit('/admin/users/create', { email: 'ADMIN@example.com', displayName: 'Twin', role: 'user' });
    expect(taken.status).toBe(400);
    expect(taken.text).toMatch(/id="account-email-error">[^<]+/);
    expect(taken.text).toContain('value="Twin"');
    const broken = await admin.submit('/admin/users/create', { email: 'not an address', displayName: '', role: 'user' });
    expect(broken.status).toBe(400);
    expect(broken.text).toContain('id="account-email-error"');
    expect(broken.text).toContain('id="account-displayName-error"');
    expect(broken.text).toContain('value="not an address"');
    expect(broken.text).not.toContain('id="invite-email-error"'); // the other form on the page is left alone
    expect((await admin.submit('/admin/users/create', { email: 'root@example.com', displayName: 'Root', role: 'owner' })).status).toBe(404);
    expect(await db.manager.count(User)).toBe(1);
    expect(await db.manager.count(AccountLink)).toBe(0);
  });

  it('lets only admins issue and revoke links', async () => {
    await invite('lin@example.com');
    const lin = new WebClient(t.url);
    const created = await t.app.get(Accounts).create({ email: 'member@example.com', displayName: 'Member', password: PASSWORD });
    if (!('user' in created)) throw new Error('no member');
    await lin.login('member@example.com', PASSWORD);
    await lin.get('/account');
    expect((await lin.submit('/admin/users/invite', { email: 'x@example.com' })).status).toBe(403);
    expect((await lin.submit('/admin/users/create', { email: 'x@example.com', displayName: 'X', role: 'admin' })).status).toBe(403);
    expect((await lin.submit(`/admin/users/${adminId}/reset-link`, {})).status).toBe(403);
    const row = await db.manager.findOneByOrFail(AccountLink, { email: 'lin@example.com' });
    expect((await lin.submit(`/admin/links/${row.id}/revoke`, {})).status).toBe(403);
    expect(await db.manager.count(AccountLink)).toBe(1);
  });

  it('issues a reset link that sets a new password, ends every session of the member, and works once, for an hour', async () => {
    const created = await t.app.get(Accounts).create({ email: 'ben@example.com', displayName: 'Ben', password: PASSWORD });
    if (!('user' in created)) throw new Error('no member');
    const ben = created.user;
    const laptop = new WebClient(t.url);
    const phone = new WebClient(t.url);
    await laptop.login('ben@example.com', PASSWORD);
    await phone.login('ben@example.com', PASSWORD);
    expect(await db.manager.countBy(Session, { userId: ben.id })).toBe(2);

    await admin.get('/admin/users');
    const first = await admin.submit(`/admin/users/${ben.id}/reset-link`, {});
    expect(first.status).toBe(303);
    const firstLink = pathOf(shownLink((await admin.get('/admin/users')).text)!);
    // A second link replaces the first.
    await admin.submit(`/admin/users/${ben.id}/reset-link`, {});
    const page = await admin.get('/admin/users');
    expect(page.text).toContain('Password link for ben@example.com');
    const link = pathOf(shownLink(page.text)!);
    expect((await new WebClient(t.url).get(firstLink)).status).toBe(410);
    // Nothing changes until the link is used.
    expect(await isSignedIn(laptop)).toBe(true);

    const browser = new WebClient(t.url);
    const form = await browser.get(link);
    expect(form.status).toBe(200);
    expect(form.text).toContain('value="ben@example.com" readonly');
    const token = new URL(link, t.url).searchParams.get('token')!;
    expect((await browser.submit('/reset', { token, password: 'short' })).status).toBe(400);
    const done = await browser.submit('/reset', { token, password: 'a brand new passphrase' });
    expect(done.status).toBe(303);
    expect(await isSignedIn(browser)).toBe(true);
    expect(await isSignedIn(laptop)).toBe(false);
    expect(await isSignedIn(phone)).toBe(false);
    expect(await db.manager.countBy(Session, { userId: ben.id })).toBe(1);
    expect((await new WebClient(t.url).login('ben@example.com', PASSWORD)).status).toBe(401);
    expect((await new WebClient(t.url).login('ben@example.com', 'a brand new passphrase')).status).toBe(303);
    expect((await events('reset.created')).map((e) => [e.userId, e.actorId])).toEqual([
      [ben.id, adminId],
      [ben.id, adminId],
    ]);
    expect((await events('reset.used')).map((e) => e.userId)).toEqual([ben.id]);

    const reused = await new WebClient(t.url).get(link);
    expect(reused.status).toBe(410);
    expect(reused.text).toContain('This password link does not work');
    expect(reused.text).toContain('Ask an administrator for a new password link.');

    await admin.get('/admin/users');
    await admin.submit(`/admin/users/${ben.id}/reset-link`, {});
    const late = pathOf(shownLink((await admin.get('/admin/users')).text)!);
    clock.advance(HOUR);
    const expired = await new WebClient(t.url).get(late);
    expect(expired.status).toBe(410);
    expect(expired.text).toContain('It has expired.');
  });

  it('changes nothing when a password link cannot be kept whole: the old password, every session and the link still work', async () => {
    const created = await t.app.get(Accounts).create({ email: 'ida@example.com', displayName: 'Ida', password: PASSWORD });
    if (!('user' in created)) throw new Error('no member');
    const laptop = new WebClient(t.url);
    await laptop.login('ida@example.com', PASSWORD);
    await admin.get('/admin/users');
    await admin.submit(`/admin/users/${created.user.id}/reset-link`, {});
    const link = pathOf(shownLink((await admin.get('/admin/users')).text)!);
    const token = new URL(link, t.url).searchParams.get('token')!;
    const browser = new WebClient(t.url);
    await browser.get(link);
    // The last statement fails (its event): the link, the new password and the ended sessions go with it.
    const allow = await refuseAuditEvents(db, engine, 'password.reset');
    try {
      expect((await browser.submit('/reset', { token, password: 'a brand new passphrase' })).status).toBe(500);
    } finally {
      await allow();
    }
    expect(await isSignedIn(laptop)).toBe(true);
    expect((await new WebClient(t.url).login('ida@example.com', PASSWORD)).status).toBe(303);
    expect(await db.manager.findOneByOrFail(AccountLink, { tokenHash: sha256(token) })).toMatchObject({ usedAt: null });
    expect(await events('reset.used')).toEqual([]);
    await browser.get(link);
    expect((await browser.submit('/reset', { token, password: 'a brand new passphrase' })).status).toBe(303);
    expect(await isSignedIn(laptop)).toBe(false);
    expect((await events('reset.used')).map((e) => e.userId)).toEqual([created.user.id]);
  });

  it('refuses a reset link once its member is disabled', async () => {
    const created = await t.app.get(Accounts).create({ email: 'eve@example.com', displayName: 'Eve', password: PASSWORD });
    if (!('user' in created)) throw new Error('no member');
    await admin.get('/admin/users');
    await admin.submit(`/admin/users/${created.user.id}/reset-link`, {});
    const link = pathOf(shownLink((await admin.get('/admin/users')).text)!);
    await admin.submit(`/admin/users/${created.user.id}/disable`, { confirm: 'yes' });
    const token = new URL(link, t.url).searchParams.get('token')!;
    const c = new WebClient(t.url);
    await c.get('/login');
    expect((await c.submit('/reset', { token, password: 'a brand new passphrase' })).status).toBe(410);
    expect((await new WebClient(t.url).login('eve@example.com', PASSWORD)).status).toBe(403);
  });

  it('e-mails an invitation and a password link through SMTP_URL when asked, and still shows the link when the mail server refuses', async () => {
    expect((await admin.get('/admin/users')).text).not.toContain('name="send"'); // no SMTP_URL: nothing offered
    const smtp = await SmtpReceiver.start();
    const mailing = await startTestApp(
      { ...(await freshDatabase(engine)), REGISTRATION: 'closed', SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'kiroku@example.com' },
      { clock },
    );
    try {
      const accounts = mailing.app.get(Accounts);
      await accounts.create({ email: 'admin@example.com', displayName: 'Admin', password: PASSWORD });
      const member = await accounts.create({ email: 'ben@example.com', displayName: 'Ben', password: PASSWORD });
      if (!('user' in member)) throw new Error('no member');
      const boss = new WebClient(mailing.url);
      await boss.login('admin@example.com', PASSWORD);
      expect((await boss.get('/admin/users')).text).toContain('name="send"');
      expect((await boss.submit('/admin/users/invite', { email: 'lin@example.com', send: '1' })).status).toBe(303);
      const page = await boss.get('/admin/users');
      expect(page.text).toContain('Link created and e-mailed.');
      const link = shownLink(page.text)!;
      await boss.submit(`/admin/users/${member.user.id}/reset-link`, { send: '1' });
      const resetLink = shownLink((await boss.get('/admin/users')).text)!;
      const [invitation, reset] = await smtp.waitForCount(2);
      expect(invitation).toMatchObject({ from: 'kiroku@example.com', to: ['lin@example.com'] });
      expect(invitation.raw).toContain('Subject: You are invited to Kiroku');
      // Quoted-printable may fold the long line: read the body unfolded.
      const body = (mail: { raw: string }) => mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      expect(body(invitation)).toContain(link);
      expect(reset.to).toEqual(['ben@example.com']);
      expect(body(reset)).toContain(resetLink);
      const lin = new WebClient(mailing.url);
      await lin.get(pathOf(link));
      expect((await lin.submit('/invite', { token: new URL(link).searchParams.get('token')!, displayName: 'Lin', password: PASSWORD })).status).toBe(303);
      expect(await mailing.app.get(Database).manager.countBy(AuditEvent, { type: 'invite.mailed' })).toBe(1);
    } finally {
      await mailing.close();
      await smtp.close();
    }

    // A mail server that is not there: the link is created and shown, and the page says the mail did not go.
    const unreachable = await startTestApp({ ...(await freshDatabase(engine)), REGISTRATION: 'closed', SMTP_URL: 'smtp://127.0.0.1:9' }, { clock });
    try {
      await unreachable.app.get(Accounts).create({ email: 'admin@example.com', displayName: 'Admin', password: PASSWORD });
      const boss = new WebClient(unreachable.url);
      await boss.login('admin@example.com', PASSWORD);
      await boss.get('/admin/users');
      expect((await boss.submit('/admin/users/invite', { email: 'lin@example.com', send: '1' })).status).toBe(303);
      const page = await boss.get('/admin/users');
      expect(page.text).toContain('the e-mail could not be sent');
      expect(shownLink(page.text)).toMatch(/\/invite\?token=/);
    } finally {
      await unreachable.close();
    }
  });

  it('speaks Japanese on the invitation pages', async () => {
    const path = await invite('hana@example.com');
    const ja = { 'accept-language': 'ja' };
    const c = new WebClient(t.url);
    const form = await c.get(path, ja);
    expect(form.text).toContain('Kiroku に参加');
    const token = new URL(path, t.url).searchParams.get('token')!;
    await c.submit('/invite', { token, displayName: '花子', password: PASSWORD });
    const gone = await new WebClient(t.url).get(path, ja);
    expect(gone.status).toBe(410);
    expect(gone.text).toContain('すでに使用されています');
    expect(gone.text).toContain('管理者に新しい招待リンクを依頼してください');
  });
});
