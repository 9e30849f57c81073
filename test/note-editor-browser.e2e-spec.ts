import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { projectRoot, tempDir } from '@kiroku/testing';
import { browserMissing, launchChromium, signUpInBrowser, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
// Taken on every run (the pages must render); written over docs/screenshots only with KIROKU_SCREENSHOTS=1.
const SHOTS = process.env.KIROKU_SCREENSHOTS === '1' ? join(projectRoot(), 'docs', 'screenshots') : tempDir();
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

/** A note with most of what Markdown has: the preview must be the note page's HTML for all of it. */
const DOCUMENT = [
  '# Release plan 🚀',
  '',
  'Ship **v2.0.1** on _Friday_; see [the checklist](https://example.com/check) and `npm run build`.',
  '',
  '- [x] freeze the branch',
  '- [ ] tag the release',
  '  1. write notes',
  '',
  '> 会議は東京で。',
  '',
  '| step | owner |',
  '|:-----|------:|',
  '| build | Ada |',
  '',
  '```ts',
  'export function add(a: number, b: number): number {',
  '  return a + b; // <script>alert(1)</script>',
  '}',
  '```',
  '',
  '<img src=x onerror=alert(1)> [bad](javascript:alert(1))',
].join('\n');

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

  it('shows a live preview beside the text on a wide screen: the HTML readers of the saved note get, code highlighted', async () => {
    const context = await browser.newContext({ viewport: SIZES.desktop });
    const page = await open(context);
    await signUpInBrowser(page, base, 'preview@example.com');
    await page.goto(`${base}/notes/new`);
    expect(await page.isVisible('[data-preview]')).toBe(true);
    expect(await page.isVisible('[data-editor-tabs]')).toBe(false); // side by side: no tabs
    const [text, pane] = await Promise.all([page.locator('#body').boundingBox(), page.locator('[data-preview]').boundingBox()]);
    expect(pane!.x).toBeGreaterThan(text!.x + text!.width - 1); // beside, not below
    await page.fill('#title', 'Release plan');
    await page.fill('#body', DOCUMENT);
    await page.waitForFunction(() => document.querySelector('[data-preview-html] table') !== null);
    const preview = await page.innerHTML('[data-preview-html]');
    expect(preview).toContain('<span class="hljs-keyword">export</span>');
    expect(await page.isVisible('[data-preview-empty]')).toBe(false);
    await page.check('input[name="visibility"][value="public"]');
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button.primary')]);

    // What a reader of the public note sees, signed out: the same HTML, byte for byte.
    const reader = await open(await browser.newContext());
    await reader.goto(page.url());
    expect(await reader.innerHTML('article .markdown')).toBe(preview);
    expect(await reader.isVisible('.hljs-keyword')).toBe(true);

    // Typing updates it; the text typed last is the text shown.
    await page.goto(`${page.url()}/edit`);
    await page.focus('#body');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n\n## Typed *live*');
    await page.waitForFunction(() => document.querySelector('[data-preview-html] h2')?.innerHTML === 'Typed <em>live</em>');
    await context.close();
  });

  it('offers Write and Preview tabs on a phone, by pointer and by keyboard', async () => {
    const context = await browser.newContext({ viewport: SIZES.phone, isMobile: true, hasTouch: true });
    const page = await open(context);
    await signUpInBrowser(page, base, 'phone-preview@example.com');
    await page.goto(`${base}/notes/new`);
    expect(await page.isVisible('[data-editor-tabs]')).toBe(true);
    expect(await page.isVisible('#body')).toBe(true);
    expect(await page.isVisible('[data-preview]')).toBe(false);
    await page.fill('#body', '## On the go\n\n- [ ] buy milk');
    await page.tap('#tab-preview');
    await page.waitForFunction(() => document.querySelector('[data-preview-html] h2')?.textContent === 'On the go');
    expect(await page.isVisible('#body')).toBe(false);
    expect(await page.getAttribute('#tab-preview', 'aria-selected')).toBe('true');
    expect(await page.isChecked('[data-preview-html] input[type="checkbox"]')).toBe(false);
    await page.focus('#tab-preview');
    await page.keyboard.press('ArrowLeft');
    expect(await page.isVisible('#body')).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-write');
    // The page is never wider than the phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(SIZES.phone.width);
    await context.close();
  });

  it('says so when the preview cannot follow (signed out elsewhere), and keeps the text', async () => {
    const context = await browser.newContext({ viewport: SIZES.desktop });
    const page = await open(context);
    await signUpInBrowser(page, base, 'preview-signed-out@example.com');
    await page.goto(`${base}/notes/new`);
    await page.fill('#body', 'first words');
    await page.waitForFunction(() => document.querySelector('[data-preview-html]')?.textContent?.includes('first words'));
    const other = await open(context);
    await other.goto(`${base}/account`);
    await Promise.all([other.waitForURL(/\/login/), other.click('form[action="/logout"] button')]);
    await page.fill('#body', 'first words, and more');
    await page.waitForSelector('[data-preview-failed]:not([hidden])');
    expect(await page.textContent('[data-preview-failed]')).toBe(
      'The preview could not be updated (you are signed out: sign in again in a new tab). Your text is still here, and Save works as before.',
    );
    expect(await page.inputValue('#body')).toBe('first words, and more');
    await context.close();
  });

  it('ticks a task on the note page with one click, without JavaScript too', async () => {
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await open(context);
      await signUpInBrowser(page, base, `tasks-${javaScriptEnabled}@example.com`);
      await page.goto(`${base}/notes/new`);
      await page.fill('#title', 'Errands');
      await page.fill('#body', '- [ ] post office\n- [ ] bakery');
      await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button.primary')]);
      const url = page.url();
      await Promise.all([page.waitForURL(`${url}#task-1`), page.click('#task-1 button')]);
      expect(await page.getAttribute('#task-1 button', 'aria-checked')).toBe('true');
      expect(await page.getAttribute('#task-0 button', 'aria-checked')).toBe('false');
      await page.goto(`${url}/edit`);
      expect(await page.inputValue('#body')).toBe('- [ ] post office\n- [x] bakery');
      await context.close();
    }
  });

  it.each([
    ['en', 'en-GB', 'Release plan'],
    ['ja', 'ja-JP', 'リリース計画'],
  ])('[%s] screenshots of the editor with its preview, on a desktop and a phone', async (lang, locale, title) => {
    const context = await browser.newContext({ locale, viewport: SIZES.desktop });
    const page = await open(context);
    await signUpInBrowser(page, base, `shots-${lang}@example.com`);
    await page.goto(`${base}/notes/new`);
    await page.fill('#title', title);
    await page.fill('#body', DOCUMENT);
    await page.waitForFunction(() => document.querySelector('[data-preview-html] table') !== null);
    await page.screenshot({ path: join(SHOTS, `note-editor-preview-${lang}-desktop.png`), fullPage: true });
    await page.setViewportSize(SIZES.phone);
    await page.click('#tab-preview');
    await page.screenshot({ path: join(SHOTS, `note-editor-preview-${lang}-phone.png`), fullPage: true });
    await context.close();
  });
});
