import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { AuditTrail } from '../src/modules/audit';
import { ApiToken, ApiTokens, SessionStore, User } from '../src/modules/auth';
import { refuseAuditEvents } from './support/database';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';
const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** The rows of one list on /account (sessions or tokens): what a reader sees of each device or token. */
const section = (html: string, heading: string) => html.split(`<h2>${heading}</h2>`)[1]?.split('</section>')[0] ?? '';

describeEachEngine('the account page', (engine) => {
  let t: TestApp;
  let clock: FakeClock;
  let owner: WebClient;

  beforeAll(async () => {
    clock = new FakeClock(Date.UTC(2026, 11, 1, 9, 0));
    t = await startTestApp(await freshDatabase(engine), { clock });
    owner = new WebClient(t.url);
    await owner.signup('owner@example.com', PASSWORD, 'Owner');
  });
  afterAll(() => t.close());

  const signInFrom = async (userAgent: string) => {
    const device = new WebClient(t.url);
    await device.get('/login');
    expect((await device.submit('/login', { email: 'owner@example.com', password: PASSWORD }, { 'user-agent': userAgent })).status).toBe(303);
    return device;
  };

  it('names signed-in devices by browser and system, keeping what the browser sent for the curious', async () => {
    await signInFrom(FIREFOX_MAC);
    await signInFrom(SAFARI_IPHONE);
    await signInFrom('curl/8.5.0');
    const page = await owner.get('/account');
    const devices = section(page.text, 'Signed-in devices');
    expect(devices).toContain(`<strong title="${FIREFOX_MAC}">Firefox 133 on macOS</strong>`);
    expect(devices).toContain('>Safari 17 on iOS 17.5</strong>');
    expect(devices).toContain('<strong title="curl/8.5.0">An unknown browser</strong>');
    expect(devices).toContain(
      `<details class="small muted"><summary>As the browser describes itself</summary><code class="user-agent">${FIREFOX_MAC}</code></details>`,
    );
    const ja = await owner.get('/account', { 'accept-language': 'ja' });
    expect(section(ja.text, 'サインイン中の端末')).toContain('>macOS の Firefox 133</strong>');
  });

  it('stays small with hundreds of tokens and devices: the newest 20 of each, counted, and every token a page at a time', async () => {
    const ownerId = (await t.app.get(Database).manager.findOneByOrFail(User, { email: 'owner@example.com' })).id;
    const tokens = t.app.get(ApiTokens);
    const made = new Set<string>();
    // Some share a creation instant: the keyset's id breaks the tie, so no page repeats or skips one.
    for (let i = 0; i < 300; i++) {
      made.add((await tokens.create(ownerId, `script ${String(i).padStart(3, '0')} ${'x'.repeat(60)}`)).row.id);
      if (i % 3 === 0) clock.advance(1000);
    }
    const store = t.app.get(SessionStore);
    for (let i = 0; i < 200; i++) await store.create(ownerId, '192.0.2.1', FIREFOX_MAC);
    clock.advance(1000);

    const page = await owner.get('/account');
    expect(page.status).toBe(200);
    expect(Buffer.byteLength(page.text)).toBeLessThan(60_000);
    const tokenRows = section(page.text, 'Personal access tokens').match(/action="\/account\/tokens\/[0-9a-f-]{36}\/revoke"/g) ?? [];
    expect(tokenRows).toHaveLength(20);
    expect(page.text).toContain('The newest 20 of 300 tokens. <a href="/account/tokens">All tokens</a>');
    expect(page.text).toContain('script 299'); // the newest first
    const devices = section(page.text, 'Signed-in devices');
    expect(devices.match(/action="\/account\/sessions\/[^/"]+\/revoke"/g)).toHaveLength(20);
    const active = (await store.listForUser(ownerId)).length;
    expect(devices).toContain(`${active - 20} more devices, seen less recently, are not listed`);
    expect(devices).toContain('<span class="badge">This device</span>'); // this one is always listed

    // Every token, once each, 50 a page, newest first; each page small too.
    const seen: string[] = [];
    let next: string | null = '/account/tokens';
    while (next) {
      const reply = await owner.get(next);
      expect(reply.status).toBe(200);
      expect(Buffer.byteLength(reply.text)).toBeLessThan(60_000);
      expect(reply.text).toContain('300 active tokens, newest first.');
      seen.push(...[...reply.text.matchAll(/action="\/account\/tokens\/([0-9a-f-]{36})\/revoke"/g)].map((m) => m[1]));
      next = /<a href="(\/account\/tokens\?after=[^"]+)">Older tokens<\/a>/.exec(reply.text)?.[1].replace(/&amp;/g, '&') ?? null;
    }
    expect(seen).toHaveLength(300);
    expect(new Set(seen).size).toBe(300);
    for (const id of made) expect(seen).toContain(id);
    // A cursor it did not hand out is a 404; another member sees only their own.
    expect((await owner.get('/account/tokens?after=bm9wZQ')).status).toBe(404);
    const other = new WebClient(t.url);
    await other.signup('other@example.com', PASSWORD, 'Other');
    const theirs = await other.get('/account/tokens');
    expect(theirs.text).toContain('No active tokens.');
    expect(theirs.text).not.toContain('script 0');
  });

  it('keeps a token made or revoked together with its audit event: when the event cannot be written nothing changes, and trying again works', async () => {
    const db = t.app.get(Database);
    const ownerId = (await db.manager.findOneByOrFail(User, { email: 'owner@example.com' })).id;
    const named = async (name: string) => (await db.manager.findBy(ApiToken, { userId: ownerId, name })).map((row) => row.id);
    const events = async () =>
      (await t.app.get(AuditTrail).recent(1000, 'token.created')).filter((e) => e.userId === ownerId).map((e) => JSON.parse(e.details).tokenId);
    const before = await events();
    await owner.get('/account');
    const allow = await refuseAuditEvents(db, engine, 'token.created');
    try {
      expect((await owner.submit('/account/tokens', { name: 'nightly export' })).status).toBe(500);
    } finally {
      await allow();
    }
    // Neither the token (whose secret nobody saw) nor its event.
    expect(await named('nightly export')).toEqual([]);
    expect(await events()).toEqual(before);
    await owner.get('/account');
    expect((await owner.submit('/account/tokens', { name: 'nightly export' })).status).toBe(303);
    const kept = await named('nightly export');
    expect(kept).toHaveLength(1);
    expect((await events()).sort()).toEqual([kept[0], ...before].sort());

    // Revoking it likewise: refused with its event, the token stays active; tried again, it goes, with one event.
    const active = async () => (await db.manager.findOneByOrFail(ApiToken, { id: kept[0] })).revokedAt;
    const revoked = async () => (await t.app.get(AuditTrail).recent(1000, 'token.revoked')).filter((e) => JSON.parse(e.details).tokenId === kept[0]);
    const refuse = await refuseAuditEvents(db, engine, 'token.revoked');
    try {
      expect((await owner.submit(`/account/tokens/${kept[0]}/revoke`, { confirm: 'yes' })).status).toBe(500);
    } finally {
      await refuse();
    }
    expect(await active()).toBeNull();
    expect(await revoked()).toEqual([]);
    await owner.get('/account');
    expect((await owner.submit(`/account/tokens/${kept[0]}/revoke`, { confirm: 'yes' })).status).toBe(303);
    expect(await active()).not.toBeNull();
    expect(await revoked()).toHaveLength(1);
  });

  it('changes a password whole or not at all: when its event cannot be written, the old password and the other sessions still work', async () => {
    const me = new WebClient(t.url);
    await me.signup('jo@example.com', PASSWORD, 'Jo');
    const phone = new WebClient(t.url);
    expect((await phone.login('jo@example.com', PASSWORD)).status).toBe(303);
    const change = async () => {
      await me.get('/account');
      return me.submit('/account/password', { currentPassword: PASSWORD, newPassword: 'another long passphrase' });
    };
    const allow = await refuseAuditEvents(t.app.get(Database), engine, 'password.changed');
    try {
      expect((await change()).status).toBe(500);
    } finally {
      await allow();
    }
    // Never the new password with a (perhaps stolen) session still signed in.
    expect((await phone.get('/account')).status).toBe(200);
    expect((await new WebClient(t.url).login('jo@example.com', PASSWORD)).status).toBe(303);
    expect((await change()).status).toBe(303);
    expect((await phone.get('/account')).status).not.toBe(200);
    expect((await new WebClient(t.url).login('jo@example.com', 'another long passphrase')).status).toBe(303);
  });

  it('keeps a theme per account (light, dark or system) and sets it on every page', async () => {
    const themed = new WebClient(t.url);
    await themed.signup('themed@example.com', PASSWORD, 'Themed');
    expect((await themed.get('/notes')).text).toContain('data-theme="system"'); // as before: the browser decides
    const form = await themed.get('/account');
    expect(form.text).toContain('<input type="radio" name="theme" value="system" checked> As the device is set</label>');
    expect((await themed.submit('/account/preferences', { locale: '', timeZone: 'UTC', theme: 'dark' })).status).toBe(303);
    expect((await themed.get('/notes')).text).toMatch(/^<!doctype html>\n<html lang="en" data-theme="dark">/);
    expect((await themed.get('/account')).text).toContain('<input type="radio" name="theme" value="dark" checked> Dark</label>');
    const row = async () => (await t.app.get(Database).manager.findOneByOrFail(User, { email: 'themed@example.com' })).theme;
    expect(await row()).toBe('dark');
    // Another value is refused and changes nothing; a form without the field (an older page) keeps the theme.
    await themed.get('/account');
    expect((await themed.submit('/account/preferences', { locale: '', timeZone: 'UTC', theme: 'sepia' })).status).toBe(400);
    expect(await row()).toBe('dark');
    await themed.get('/account');
    expect((await themed.submit('/account/preferences', { locale: 'ja', timeZone: 'Asia/Tokyo' })).status).toBe(303);
    expect(await row()).toBe('dark');
    await themed.get('/account');
    await themed.submit('/account/preferences', { locale: '', timeZone: 'UTC', theme: 'light' });
    expect((await themed.get('/notes')).text).toContain('data-theme="light"');
    // Another account and a signed-out page are not touched by it.
    expect((await owner.get('/notes')).text).toContain('data-theme="system"');
    expect((await new WebClient(t.url).get('/login')).text).toContain('data-theme="system"');
  });
});
