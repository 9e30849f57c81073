import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { projectRoot, tempDir } from '@kiroku/testing';
import { browserMissing, launchChromium, signUpInBrowser, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
// Taken on every run (the pages must render); written over docs/screenshots only with KIROKU_SCREENSHOTS=1.
const SHOTS = process.env.KIROKU_SCREENSHOTS === '1' ? join(projectRoot(), 'docs', 'screenshots') : tempDir();
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const PASSWORD = 'a long enough passphrase';
const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

// The stylesheet's two palettes: the page's background and a highlighted keyword's colour.
const LIGHT = { background: 'rgb(246, 245, 242)', keyword: 'rgb(207, 34, 46)', scheme: 'light' };
const DARK = { background: 'rgb(22, 24, 27)', keyword: 'rgb(255, 123, 114)', scheme: 'dark' };

(missing ? describe.skip : describe)('the account page and confirmations in a real browser (Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const violations: string[] = [];

  beforeAll(async () => {
    ({ t, base } = await startBrowserTestApp());
    browser = await launchChromium();
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

  /** What the page looks like: its background, a highlighted keyword's colour, and the used color-scheme. */
  const looks = (page: Page) =>
    page.evaluate(() => ({
      background: getComputedStyle(document.body).backgroundColor,
      keyword: getComputedStyle(document.querySelector('.hljs-keyword')!).color,
      scheme: getComputedStyle(document.documentElement).colorScheme,
    }));

  it('follows the theme chosen on /account: light and dark whatever the device says, system as the device says', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    await signUpInBrowser(page, base, 'theme@example.com');
    await page.goto(`${base}/notes/new`);
    await page.fill('#title', 'Code');
    await page.fill('#body', '```ts\nconst answer = 42;\n```');
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button.primary')]);
    const note = page.url();

    const choose = async (theme: string) => {
      await page.goto(`${base}/account`);
      await page.check(`input[name="theme"][value="${theme}"]`);
      await Promise.all([page.waitForURL(`${base}/account`), page.click('form[action="/account/preferences"] button')]);
      expect(await page.isChecked(`input[name="theme"][value="${theme}"]`)).toBe(true);
      await page.goto(note);
    };
    const expected = { light: { light: LIGHT, dark: LIGHT }, dark: { light: DARK, dark: DARK }, system: { light: LIGHT, dark: DARK } } as const;
    for (const theme of ['light', 'dark', 'system'] as const) {
      await choose(theme);
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme });
        expect({ theme, colorScheme, looks: await looks(page) }).toEqual({ theme, colorScheme, looks: expected[theme][colorScheme] });
      }
      await page.emulateMedia({ colorScheme: null });
      if (theme === 'dark') await page.screenshot({ path: join(SHOTS, 'note-dark-en-desktop.png') });
    }
    // Signed out, pages follow the device.
    const anonymous = await open(await browser.newContext({ colorScheme: 'dark' }));
    await anonymous.goto(`${base}/login`);
    expect(await anonymous.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(DARK.background);
    await context.close();
  });

  it('empties the trash through its confirmation page with JavaScript off, and not before', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await open(context);
    await signUpInBrowser(page, base, 'nojs@example.com');
    for (const title of ['Draft one', 'Draft two']) {
      await page.goto(`${base}/notes/new`);
      await page.fill('#title', title);
      await page.fill('#body', 'old text');
      await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button.primary')]);
      await Promise.all([page.waitForURL(`${base}/notes`), page.click('form[action$="/delete"] button')]);
    }
    await page.goto(`${base}/notes/trash`);
    await Promise.all([page.waitForURL(`${base}/notes/trash/empty`), page.click('text=Empty trash now')]);
    expect(await page.textContent('h1')).toBe('Empty the trash?');
    expect(await page.$$eval('ul.lost li', (items) => items.map((li) => li.textContent))).toEqual(['Draft two', 'Draft one']);
    // Cancel loses nothing.
    await Promise.all([page.waitForURL(`${base}/notes/trash`), page.click('text=Cancel')]);
    expect(await page.$$eval('ul.rows li', (items) => items.length)).toBe(2);
    await page.click('text=Empty trash now');
    await Promise.all([page.waitForURL(`${base}/notes/trash`), page.click('.confirm button.danger')]);
    expect(await page.textContent('.flash')).toBe('Trash emptied.');
    expect(await page.textContent('main')).toContain('The trash is empty.');
    await context.close();
  });

  it.each([
    ['en', 'en-GB'],
    ['ja', 'ja-JP'],
  ])('[%s] screenshots of the account page (devices, theme) and a confirmation page, on a desktop and a phone', async (lang, locale) => {
    const email = `shots-${lang}@example.com`;
    const context = await browser.newContext({ locale, viewport: SIZES.desktop });
    const page = await open(context);
    await signUpInBrowser(page, base, email, lang === 'ja' ? '山田 花子' : 'Ada Lovelace');
    for (const userAgent of [FIREFOX_MAC, SAFARI_IPHONE]) {
      const device = await browser.newContext({ userAgent });
      const other = await device.newPage();
      await other.goto(`${base}/login`);
      await other.fill('#email', email);
      await other.fill('#password', PASSWORD);
      await Promise.all([other.waitForURL(`${base}/notes`), other.click('button.primary')]);
      await device.close();
    }
    await page.goto(`${base}/account`);
    await page.fill('#token-name', lang === 'ja' ? 'バックアップ用スクリプト' : 'backup script');
    await Promise.all([page.waitForURL(`${base}/account`), page.click('form[action="/account/tokens"] button')]);
    await page.goto(`${base}/account`);
    await page.check('input[name="theme"][value="system"]');
    await page.screenshot({ path: join(SHOTS, `account-devices-${lang}-desktop.png`), fullPage: true });
    await page.setViewportSize(SIZES.phone);
    await page.screenshot({ path: join(SHOTS, `account-devices-${lang}-phone.png`), fullPage: true });

    await page.setViewportSize(SIZES.desktop);
    await Promise.all([page.waitForURL(/\/account\/tokens\/[0-9a-f-]{36}\/revoke$/), page.click('form[action$="/revoke"][action^="/account/tokens/"] button')]);
    expect(await page.isVisible('.confirm button.danger')).toBe(true);
    await page.screenshot({ path: join(SHOTS, `confirm-revoke-token-${lang}-desktop.png`), fullPage: true });
    await page.setViewportSize(SIZES.phone);
    await page.screenshot({ path: join(SHOTS, `confirm-revoke-token-${lang}-phone.png`), fullPage: true });
    await context.close();
  });
});
