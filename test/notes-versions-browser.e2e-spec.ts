import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { projectRoot, tempDir } from '@kiroku/testing';
import { browserMissing, launchChromium, signUpInBrowser, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
// Taken on every run (the pages must render); written over docs/screenshots only with KIROKU_SCREENSHOTS=1.
const SHOTS = process.env.KIROKU_SCREENSHOTS === '1' ? join(projectRoot(), 'docs', 'screenshots') : tempDir();
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

(missing ? describe.skip : describe)('note versions in a real browser (Chromium)', () => {
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

  async function open(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await watchCsp(page, violations);
    return page;
  }

  async function newNote(page: Page, title: string, body: string): Promise<string> {
    await page.goto(`${base}/notes/new`);
    await page.fill('#title', title);
    await page.fill('#body', body);
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button.primary')]);
    return page.url();
  }

  async function shoot(page: Page, name: string) {
    for (const [label, size] of Object.entries(SIZES)) {
      await page.setViewportSize(size);
      await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
    }
    await page.setViewportSize(SIZES.desktop);
  }

  it.each([
    ['en', 'en-GB', 'Save my text as the newest version', 'History'],
    ['ja', 'ja-JP', '自分の内容を最新バージョンとして保存', '履歴'],
  ])('[%s] two tabs editing one note: the second save keeps both texts, and both are in the history', async (lang, locale, saveMine, historyTitle) => {
    violations.length = 0;
    const context = await browser.newContext({ locale });
    const first = await open(context);
    await signUpInBrowser(first, base, `two-tabs-${lang}@example.com`, 'Mika');
    const noteUrl = await newNote(first, 'Meeting plan', 'Agenda\n\n- budget\n- hiring\n- offsite\n');
    const second = await open(context);

    await first.goto(`${noteUrl}/edit`);
    await second.goto(`${noteUrl}/edit`);
    await first.fill('#body', 'Agenda\n\n- budget\n- hiring (two roles)\n- offsite\n');
    await Promise.all([first.waitForURL(noteUrl), first.click('button.primary')]);

    const mine = 'Agenda\n\n- budget, approved\n- hiring\n- offsite in March\n';
    await second.fill('#body', mine);
    const answer = second.waitForResponse((r) => r.url() === noteUrl && r.request().method() === 'POST');
    await second.click('button.primary');
    expect((await answer).status()).toBe(409);
    await second.waitForSelector('#conflict-title');
    expect(await second.inputValue('#body')).toBe(mine); // my text, untouched, still in the form
    expect(await second.locator('.conflict').innerText()).toContain('hiring (two roles)'); // theirs beside it
    expect(await second.locator('.conflict pre.diff-lines ins').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('budget, approved')]));
    await second.click('.conflict details:nth-of-type(2) summary');
    await shoot(second, `note-conflict-${lang}`);

    await Promise.all([second.waitForURL(noteUrl), second.click(`button:has-text("${saveMine}")`)]);
    expect(await second.locator('.markdown').innerText()).toContain('budget, approved');

    await second.goto(`${noteUrl}/history`);
    expect(await second.textContent('h1')).toBe(historyTitle);
    const versions = second.locator('ol.versions > li');
    expect(await versions.count()).toBe(3);
    await shoot(second, `note-history-${lang}`);
    // The other tab's save is version 2: reachable, readable, restorable.
    await second.goto(`${noteUrl}/history/2`);
    expect(await second.locator('pre.source').innerText()).toContain('hiring (two roles)');
    expect(await second.locator('pre.diff-lines del').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringContaining('hiring (two roles)')]));
    await shoot(second, `note-version-${lang}`);
    await Promise.all([second.waitForURL(noteUrl), second.click('form.actions button.primary')]);
    expect(await second.locator('.markdown').innerText()).toContain('hiring (two roles)');
    expect(violations).toEqual([]);
    await context.close();
  });
});
