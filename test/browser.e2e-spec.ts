import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Database } from '@kiroku/persistence';
import { User } from '../src/modules/auth';
import { browserMissing, launchChromium, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();

(missing ? describe.skip : describe)('in a real browser (Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  let attacker: Server;
  let attackerPort: number;
  let base: string;
  const violations: string[] = [];

  beforeAll(async () => {
    ({ t, base } = await startBrowserTestApp());
    browser = await launchChromium(['evil.test']);
    // Another site that tries to change the victim's preferences with a self-submitting form.
    attacker = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form id="f" method="post" action="${base}/account/preferences">
        <input name="locale" value="ja"><input name="timeZone" value="Pacific/Kiritimati"><input name="_csrf" value="guess"></form>
        <script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await browser?.close();
    attacker?.close();
    await t?.close();
  });

  beforeEach(() => {
    violations.length = 0;
  });

  async function open(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await watchCsp(page, violations);
    return page;
  }

  async function signIn(page: Page, email: string, password: string) {
    await page.goto(`${base}/login`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
  }

  it('signs up, signs out, signs in, changes the password and revokes another session, with no CSP violation', async () => {
    const laptop = await browser.newContext();
    const page = await open(laptop);
    await page.goto(`${base}/signup`);
    await page.fill('#displayName', 'Aiko');
    await page.fill('#email', 'aiko@example.com');
    await page.fill('#password', 'first secret phrase');
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
    expect(await page.textContent('h1')).toBe('Notes');
    expect(await page.textContent('.flash')).toBe('Welcome to Kiroku.');

    const cookie = (await laptop.cookies()).find((c) => c.name === 'kiroku_sid')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false });

    await Promise.all([page.waitForURL(/\/login\?signedOut=1$/), page.click('button.link')]);
    expect(await page.textContent('.flash')).toBe('You are signed out.');
    await page.goto(`${base}/account`);
    expect(page.url()).toBe(`${base}/login?next=%2Faccount`);

    await signIn(page, 'aiko@example.com', 'first secret phrase');
    const phoneContext = await browser.newContext({ userAgent: 'KirokuTestPhone/1.0' });
    const phone = await open(phoneContext);
    await signIn(phone, 'aiko@example.com', 'first secret phrase');

    await page.goto(`${base}/account`);
    await page.fill('#currentPassword', 'first secret phrase');
    await page.fill('#newPassword', 'second secret phrase');
    await Promise.all([page.waitForURL(`${base}/account`), page.click('form[action="/account/password"] button')]);
    expect(await page.textContent('.flash')).toContain('Password changed.');
    await phone.goto(`${base}/account`);
    expect(phone.url()).toContain('/login');

    await signIn(phone, 'aiko@example.com', 'second secret phrase');
    await page.goto(`${base}/account`);
    const other = page.locator('li.row', { hasText: 'KirokuTestPhone/1.0' });
    await Promise.all([page.waitForURL(`${base}/account`), other.locator('button').click()]);
    expect(await page.textContent('.flash')).toBe('That device was signed out.');
    await phone.goto(`${base}/account`);
    expect(phone.url()).toContain('/login');
    await page.goto(`${base}/account`);
    expect(page.url()).toBe(`${base}/account`);

    for (const path of ['/admin', '/admin/users', '/admin/audit', '/nowhere', '/signup']) await page.goto(`${base}${path}`);
    expect(violations).toEqual([]);
    // The policy does block injected markup, and the watcher sees it: serve the real page and headers with an inline script added.
    await page.route(`${base}/nowhere`, async (route) => {
      const real = await route.fetch();
      const html = (await real.text()).replace('</main>', '<script>document.title = "pwned"</script><img src=x onerror="document.title=\'pwned\'"></main>');
      await route.fulfill({ response: real, body: html });
    });
    await page.goto(`${base}/nowhere`);
    await page.waitForTimeout(200);
    expect(await page.title()).toBe('Page not found · Kiroku');
    expect(violations.some((v) => /script-src/.test(v))).toBe(true);
    await laptop.close();
    await phoneContext.close();
  });

  it('writes a tagged note, finds it by search, shares it, reads it signed out, deletes and restores it', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await signIn(page, 'aiko@example.com', 'second secret phrase');
    await page.click('a.button[href="/notes/new"]');
    await page.fill('#title', '東京出張の準備');
    await page.fill('#body', '## 持ち物\n\n- ノートPC\n- 名刺\n\n明日は東京で会議。[agenda](https://example.com/agenda)');
    await page.fill('#tags', 'travel, Tokyo');
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button.primary')]);
    const noteUrl = page.url();
    expect(await page.textContent('.flash')).toBe('Note saved.');
    expect(await page.textContent('.markdown h2')).toBe('持ち物');
    expect(await page.getAttribute('.markdown a', 'rel')).toBe('noopener noreferrer nofollow ugc');

    await page.goto(`${base}/notes`);
    await page.fill('#q', '東京');
    await Promise.all([page.waitForURL(/q=/), page.click('form.search button')]);
    expect(await page.textContent('.note-item h2')).toBe('東京出張の準備');
    expect(await page.textContent('.note-item mark')).toBe('東京');
    // The help lists the grammar without a script; the last word typed matches as a prefix (tok: the tag tokyo).
    expect(await page.isVisible('.search-help dl')).toBe(false);
    await page.click('.search-help summary');
    expect(await page.textContent('.search-help dl')).toContain('apple OR pear');
    await page.fill('#q', 'tok');
    await Promise.all([page.waitForURL(/q=tok/), page.click('form.search button')]);
    expect(await page.textContent('.note-item h2')).toBe('東京出張の準備');
    await page.click('.note-item a.tag[href="/notes?tag=tokyo"]');
    expect(await page.locator('.note-item').count()).toBe(1);

    await page.goto(`${noteUrl}/edit`);
    await page.check('input[name="visibility"][value="public"]');
    await Promise.all([page.waitForURL(noteUrl), page.click('button.primary')]);
    const shareUrl = await page.inputValue('#share-url');
    expect(shareUrl).toBe(noteUrl);

    const stranger = await open(await browser.newContext());
    await stranger.goto(shareUrl);
    expect(await stranger.textContent('h1')).toBe('東京出張の準備');
    expect(await stranger.locator(`a[href$="/edit"]`).count()).toBe(0);

    await page.goto(noteUrl);
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('form[action$="/delete"] button')]);
    expect(await page.textContent('.flash')).toContain('Moved to the trash');
    await stranger.goto(shareUrl);
    expect(await stranger.textContent('h1')).toBe('Page not found');
    await page.goto(`${base}/notes/trash`);
    await Promise.all([page.waitForURL(noteUrl), page.click('form[action$="/restore"] button')]);
    expect(await page.textContent('.flash')).toBe('Note restored.');

    // Hostile input in every field: shown as text, no script runs.
    const xss = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    await page.goto(`${base}/notes/new`);
    await page.fill('#title', `${xss}"><svg onload=alert(3)>`);
    await page.fill('#body', `${xss}\n\n[x](javascript:alert(4)) <a href="javascript:alert(5)">y</a> </textarea><script>alert(6)</script>`);
    await page.fill('#tags', 'safe');
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button.primary')]);
    expect(await page.textContent('h1')).toContain('<script>alert(1)</script>');
    await page.click('.markdown a').catch(() => undefined);
    for (const path of ['/notes', `/notes?q=${encodeURIComponent('script')}`]) await page.goto(`${base}${path}`);
    await page.goto(`${page.url()}`);
    expect(dialogs).toEqual([]);
    expect(violations).toEqual([]);
    await context.close();
  });

  it('refuses a form posted from another site, and nothing changes', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    await signIn(page, 'aiko@example.com', 'second secret phrase');
    const refused = page.waitForResponse((r) => r.url() === `${base}/account/preferences`);
    await page.goto(`http://evil.test:${attackerPort}/`);
    expect((await refused).status()).toBe(403);
    const user = await t.app.get(Database).manager.findOneByOrFail(User, { email: 'aiko@example.com' });
    expect(user).toMatchObject({ locale: null, timeZone: 'UTC' });
    await context.close();
  });
});
