import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserMissing, launchChromium, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
/** Where the phone-width screenshots of this suite go, to be looked at (KIROKU_SHOTS_DIR, or not kept). */
const SHOTS = process.env.KIROKU_SHOTS_DIR;

const LATIN = 'abcdefghijklmnopqrstuvwxyz012345';
const CJK = '議事録'.repeat(10) + '会議';

(missing ? describe.skip : describe)('tags and pinning on a phone (Chromium, 390 px)', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const violations: string[] = [];

  beforeAll(async () => {
    ({ t, base } = await startBrowserTestApp());
    browser = await launchChromium();
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** How far the page is wider than the window: 0 when nothing makes it scroll sideways. */
  const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

  it('wraps 32-character tags without widening the list, the note page or the tag filter, and pins from the note page', async () => {
    expect([...LATIN]).toHaveLength(32);
    expect([...CJK]).toHaveLength(32);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'ja-JP' });
    const page = await context.newPage();
    await watchCsp(page, violations);
    await page.goto(`${base}/signup`);
    await page.fill('#displayName', 'Tagger');
    await page.fill('#email', 'phone-tags@example.com');
    await page.fill('#password', 'a long enough passphrase');
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);

    for (const title of ['first note', 'long tags']) {
      await page.goto(`${base}/notes/new`);
      await page.fill('#title', title);
      await page.fill('#body', '- [ ] **check** the `tags`, then pin');
      await page.fill('#tags', title === 'long tags' ? `${LATIN.toUpperCase()}、${CJK}, node.js` : 'short');
      await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button.primary')]);
    }
    const noteUrl = page.url();
    expect(await page.locator('.note-head .tag').allTextContents()).toEqual([`#${LATIN}`, '#node.js', `#${CJK}`]);
    expect(await overflow(page)).toBe(0);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'note-long-tags-390.png'), fullPage: true });

    // Pinned from the note page: the first note, created earlier, comes first in the list.
    await page.goto(`${base}/notes`);
    await page.click('a:has-text("first note")');
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('button:has-text("先頭にピン留め")')]);
    expect(await page.textContent('.flash')).toContain('ピン留めしました');

    await page.goto(`${base}/notes`);
    expect(await page.locator('.note-item h2').allTextContents()).toEqual(['first note', 'long tags']);
    expect(await page.locator('.note-item.pinned h2').allTextContents()).toEqual(['first note']);
    expect(await page.textContent('.note-item .snippet')).toBe('check the tags, then pin');
    expect(await overflow(page)).toBe(0);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'list-long-tags-390.png'), fullPage: true });

    await page.click(`.tag-cloud a:has-text("${CJK}")`);
    await page.waitForURL(/\/notes\?tag=/);
    expect(await page.locator('.note-item h2').allTextContents()).toEqual(['long tags']);
    expect(await overflow(page)).toBe(0);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'tag-filter-390.png'), fullPage: true });

    // Every tag element fits inside the window.
    for (const url of [noteUrl, `${base}/notes`, `${base}/notes?tag=${encodeURIComponent(LATIN.toLowerCase())}`]) {
      await page.goto(url);
      const widest = await page.evaluate(() => Math.max(...[...document.querySelectorAll('.tag')].map((e) => e.getBoundingClientRect().right)));
      expect({ url, fits: widest <= 390 }).toEqual({ url, fits: true });
    }
    expect(violations).toEqual([]);
    await context.close();
  });
});
