import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@kiroku/testing';
import type { Browser, Page } from 'playwright-core';
import { browserMissing, launchChromium, signUpInBrowser, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();

(missing ? describe.skip : describe)('notes zip from /account in a real browser (Chromium)', () => {
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

  async function signUp(email: string): Promise<Page> {
    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    await watchCsp(page, violations);
    await signUpInBrowser(page, base, email);
    return page;
  }

  it('downloads the zip with the link and imports it with the form (multipart with its CSRF field)', async () => {
    const aiko = await signUp('aiko@example.com');
    await aiko.goto(`${base}/notes/new`);
    await aiko.fill('#title', 'Grocery list 🥕');
    await aiko.fill('#body', '- carrots\n- 味噌');
    await Promise.all([aiko.waitForURL(/\/notes\/[0-9a-f-]{36}$/), aiko.click('button.primary')]);

    await aiko.goto(`${base}/account`);
    const [download] = await Promise.all([aiko.waitForEvent('download'), aiko.click('a[href="/account/notes/export"]')]);
    expect(download.suggestedFilename()).toMatch(/^kiroku-notes-\d{4}-\d{2}-\d{2}\.zip$/);
    const file = join(tempDir(), download.suggestedFilename());
    await download.saveAs(file);
    expect(readFileSync(file).subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');

    const ren = await signUp('ren@example.com');
    await ren.goto(`${base}/account`);
    await ren.locator('#notes').scrollIntoViewIfNeeded();
    await ren.setInputFiles('#notes-zip', file);
    await Promise.all([ren.waitForURL(`${base}/notes`), ren.click('form[action="/account/notes/import"] button')]);
    expect(await ren.textContent('.flash')).toBe('Notes imported.');
    expect(await ren.textContent('main')).toContain('Grocery list 🥕');

    await ren.goto(`${base}/account`);
    await ren.setInputFiles('#notes-zip', { name: 'broken.zip', mimeType: 'application/zip', buffer: Buffer.from('no zip here') });
    await Promise.all([ren.waitForLoadState(), ren.click('form[action="/account/notes/import"] button')]);
    expect(await ren.textContent('h1')).toBe('Import refused');
    expect(await ren.textContent('main')).toContain('not a zip file');
    expect(violations).toEqual([]);
  });
});
