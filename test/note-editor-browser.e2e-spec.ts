import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserMissing, launchChromium, signUpInBrowser, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();

(missing ? describe.skip : describe)('the note editor in a real browser (Chromium)', () => {
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

  it('saves with Ctrl+Enter and Cmd+Enter, through the same checks as the Save button', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    await signUpInBrowser(page, base, 'shortcut@example.com');
    await page.goto(`${base}/notes/new`);
    expect(await page.isVisible('[data-save-shortcut]')).toBe(true);
    await page.fill('#title', 'Shortcut');
    await page.fill('#body', 'saved from the keyboard');
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.press('#body', 'Control+Enter')]);
    expect(await page.textContent('.flash')).toBe('Note saved.');
    expect(await page.textContent('.markdown')).toContain('saved from the keyboard');
    const id = page.url().split('/').pop()!;

    await page.goto(`${base}/notes/${id}/edit`);
    await page.fill('#title', 'Shortcut, again');
    await Promise.all([page.waitForURL(`${base}/notes/${id}`), page.press('#title', 'Meta+Enter')]);
    expect(await page.textContent('h1')).toBe('Shortcut, again');

    // Over a limit: the shortcut sends nothing, as the button would not.
    await page.goto(`${base}/notes/${id}/edit`);
    await page.fill('#body', 'x'.repeat(100_001));
    await page.press('#body', 'Control+Enter');
    expect(page.url()).toBe(`${base}/notes/${id}/edit`);
    expect(await page.textContent('#body-count[role="alert"]')).toContain('The text can be at most 100,000 characters.');
    await context.close();
  });
});
