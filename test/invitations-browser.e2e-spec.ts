import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FakeClock } from '@kiroku/clock';
import { projectRoot, tempDir } from '@kiroku/testing';
import { Accounts } from '../src/modules/auth';
import { browserMissing, launchChromium, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
// Taken on every run (the pages must render); written over docs/screenshots only with KIROKU_SCREENSHOTS=1.
const SHOTS = process.env.KIROKU_SCREENSHOTS === '1' ? join(projectRoot(), 'docs', 'screenshots') : tempDir();
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const PASSWORD = 'a long enough passphrase';

(missing ? describe.skip : describe)('an invitation in a real browser (Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const violations: string[] = [];
  // Time stands still unless a test moves it (the last one lets links expire).
  const clock = new FakeClock(Date.now());

  beforeAll(async () => {
    // Sign-up is closed: the invitation is the only way in.
    ({ t, base } = await startBrowserTestApp({ REGISTRATION: 'closed' }, { clock }));
    browser = await launchChromium();
    await t.app.get(Accounts).create({ email: 'admin@example.com', displayName: 'Admin', password: PASSWORD });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  beforeEach(() => {
    violations.length = 0;
  });
  afterEach(() => {
    expect(violations).toEqual([]);
  });

  async function open(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await watchCsp(page, violations);
    return page;
  }

  async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
    await page.goto(`${base}/login`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
  }

  /** Both sizes of the page as it is now, the phone one last (the page is left at phone size). */
  async function shoot(page: Page, name: string): Promise<void> {
    await page.setViewportSize(SIZES.desktop);
    await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
    await page.setViewportSize(SIZES.phone);
    await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  }

  it.each([
    ['en', 'en-GB', 'colleague@example.com', 'Colleague', 'Welcome to Kiroku.', 'This invitation does not work'],
    ['ja', 'ja-JP', 'doryo@example.com', '同僚 花子', 'Kiroku へようこそ。', 'この招待リンクは使えません'],
  ])(
    '[%s] an admin invites, the colleague signs up through the link and is signed in; the used link is refused',
    async (lang, locale, email, name, welcome, gone) => {
      const adminContext = await browser.newContext({ locale, viewport: SIZES.desktop });
      const admin = await open(adminContext);
      await admin.goto(`${base}/login`);
      await admin.fill('#email', 'admin@example.com');
      await admin.fill('#password', PASSWORD);
      await Promise.all([admin.waitForURL(`${base}/notes`), admin.click('button.primary')]);
      await admin.goto(`${base}/admin/users`);
      await admin.fill('#invite-email', email);
      await Promise.all([admin.waitForURL(`${base}/admin/users`), admin.click('form[action="/admin/users/invite"] button')]);
      const link = (await admin.textContent('#new-link'))!.trim();
      expect(link).toMatch(new RegExp(`^${base}/invite\\?token=[A-Za-z0-9_-]{43}$`));
      expect(await admin.textContent('#links')).toContain(email);
      await shoot(admin, `admin-users-invite-${lang}`);
      // Shown once: a reload no longer has it.
      await admin.reload();
      expect(await admin.$('#new-link')).toBeNull();

      // The colleague, in a browser of their own.
      const colleagueContext = await browser.newContext({ locale, viewport: SIZES.desktop });
      const colleague = await open(colleagueContext);
      expect((await colleague.goto(link))!.status()).toBe(200);
      expect(await colleague.inputValue('#email')).toBe(email);
      expect(await colleague.getAttribute('#email', 'readonly')).not.toBeNull();
      await shoot(colleague, `invite-${lang}`);
      await colleague.setViewportSize(SIZES.desktop);
      await colleague.fill('#displayName', name);
      await colleague.fill('#password', PASSWORD);
      await Promise.all([colleague.waitForURL(`${base}/notes`), colleague.click('button.primary')]);
      expect(await colleague.textContent('.flash')).toBe(welcome);
      await shoot(colleague, `invite-joined-${lang}`);
      await colleague.goto(`${base}/account`);
      expect(await colleague.textContent('main')).toContain(email);

      // The link again, from anyone: refused with a page that says what to do.
      const laterContext = await browser.newContext({ locale, viewport: SIZES.desktop });
      const later = await open(laterContext);
      expect((await later.goto(link))!.status()).toBe(410);
      expect(await later.textContent('h1')).toBe(gone);
      expect(await later.$('#password')).toBeNull();
      await shoot(later, `invite-used-${lang}`);

      await admin.goto(`${base}/admin/users`);
      expect(await admin.getAttribute('#links li', 'data-link-state')).toBe('used');
      for (const c of [adminContext, colleagueContext, laterContext]) await c.close();
    },
  );

  it.each([
    ['en', 'en-GB', 'made@example.com', 'Made by Admin', 'Account created for made@example.com: their password link'],
    ['ja', 'ja-JP', 'sakusei@example.com', '作成 太郎', 'sakusei@example.com のアカウントを作成しました（パスワード設定リンク）'],
  ])('[%s] an admin creates an account with a role; the person chooses a password through the link shown once', async (lang, locale, email, name, heading) => {
    const adminContext = await browser.newContext({ locale, viewport: SIZES.desktop });
    const admin = await open(adminContext);
    await signIn(admin, 'admin@example.com');
    await admin.goto(`${base}/admin/users`);
    await admin.fill('#account-email', email);
    await admin.fill('#account-displayName', name);
    await admin.selectOption('#account-role', 'admin');
    await Promise.all([admin.waitForURL(`${base}/admin/users`), admin.click('form[action="/admin/users/create"] button')]);
    expect(await admin.textContent('#new-link-card h2')).toBe(heading);
    const link = (await admin.textContent('#new-link'))!.trim();
    expect(link).toMatch(new RegExp(`^${base}/reset\\?token=[A-Za-z0-9_-]{43}$`));
    expect(await admin.textContent('main')).toContain(name);
    await shoot(admin, `admin-users-account-${lang}`);

    const person = await open(await browser.newContext({ locale, viewport: SIZES.phone }));
    expect((await person.goto(link))!.status()).toBe(200);
    expect(await person.inputValue('#email')).toBe(email);
    await person.fill('#password', PASSWORD);
    await Promise.all([person.waitForURL(`${base}/notes`), person.click('button.primary')]);
    expect((await person.goto(`${base}/admin`))!.status()).toBe(200); // an admin, as made
    for (const c of [adminContext, person.context()]) await c.close();
  });

  it('a member sets a new password through a password link and is signed in; the used link is refused, and so are an expired invitation and an expired password link', async () => {
    const context = await browser.newContext({ viewport: SIZES.desktop });
    const admin = await open(context);
    await signIn(admin, 'admin@example.com');
    await admin.goto(`${base}/admin/users`);
    await Promise.all([admin.waitForURL(`${base}/admin/users`), admin.click('li:has-text("colleague@example.com") form[action$="/reset-link"] button')]);
    expect(await admin.textContent('#new-link-card h2')).toBe('Password link for colleague@example.com');
    const link = (await admin.textContent('#new-link'))!.trim();

    // The colleague the English test above invited, signed in on another browser.
    const memberContext = await browser.newContext({ viewport: SIZES.desktop });
    const member = await open(memberContext);
    await signIn(member, 'colleague@example.com');
    const phoneContext = await browser.newContext({ viewport: SIZES.phone });
    const phone = await open(phoneContext);
    expect((await phone.goto(link))!.status()).toBe(200);
    await phone.fill('#password', 'a brand new passphrase');
    await Promise.all([phone.waitForURL(`${base}/notes`), phone.click('button.primary')]);
    expect(await phone.textContent('.flash')).toBe('Your new password is set. Every other device was signed out.');
    // The member's other browser was signed out by the reset.
    await member.goto(`${base}/account`);
    expect(member.url()).toContain('/login');
    expect((await member.goto(link))!.status()).toBe(410);
    expect(await member.textContent('h1')).toBe('This password link does not work');
    expect(await member.textContent('main')).toContain('Ask an administrator for a new password link.');

    // An invitation nobody used, a week later.
    await admin.goto(`${base}/admin/users`);
    await admin.fill('#invite-email', 'late@example.com');
    await Promise.all([admin.waitForURL(`${base}/admin/users`), admin.click('form[action="/admin/users/invite"] button')]);
    const late = (await admin.textContent('#new-link'))!.trim();
    // … and a password link nobody used.
    await Promise.all([admin.waitForURL(`${base}/admin/users`), admin.click('li:has-text("colleague@example.com") form[action$="/reset-link"] button')]);
    const lateReset = (await admin.textContent('#new-link'))!.trim();
    clock.advance(7 * 24 * 3_600_000);
    const stranger = await open(await browser.newContext({ viewport: SIZES.phone }));
    expect((await stranger.goto(late))!.status()).toBe(410);
    expect(await stranger.textContent('main')).toContain('It has expired.');
    expect(await stranger.$('#password')).toBeNull();
    expect((await stranger.goto(lateReset))!.status()).toBe(410);
    expect(await stranger.textContent('h1')).toBe('This password link does not work');
    expect(await stranger.textContent('main')).toContain('It has expired.');
    expect(await stranger.$('#password')).toBeNull();
    for (const c of [context, memberContext, phoneContext, stranger.context()]) await c.close();
  });
});
