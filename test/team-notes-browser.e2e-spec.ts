import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserMissing, launchChromium, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
const PASSWORD = 'a long enough passphrase';

(missing ? describe.skip : describe)('team notes in a real browser (Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const violations: string[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    ({ t, base } = await startBrowserTestApp());
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
  });

  async function open(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await watchCsp(page, violations);
    return page;
  }

  async function signUp(page: Page, name: string, email: string): Promise<void> {
    await page.goto(`${base}/signup`);
    await page.fill('#displayName', name);
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
  }

  it('an owner shares a note with the team, a member finds it in the Team view and edits it, a signed-out visitor signs in back to it', async () => {
    const alice = await open();
    await signUp(alice, 'Alice Author', 'alice@example.com');
    await alice.goto(`${base}/notes/new`);
    await alice.fill('#title', 'Standup agenda');
    await alice.fill('#body', 'first item');
    await alice.check('input[name="visibility"][value="team"]');
    await alice.check('input[name="editableByTeam"]');
    await Promise.all([alice.waitForURL(/\/notes\/[0-9a-f-]{36}$/), alice.click('form.note-form button.primary')]);
    const url = alice.url();
    expect(await alice.textContent('.note-head .badge')).toContain('Team can edit');

    const bob = await open();
    await signUp(bob, 'Bob Member', 'bob@example.com');
    await bob.click('.list-scope a:has-text("Team")');
    await bob.waitForURL(`${base}/notes?scope=team`);
    expect(await bob.textContent('.note-list')).toContain('by Alice Author');
    await Promise.all([bob.waitForURL(url), bob.click('.note-list a:has-text("Standup agenda")')]);
    await Promise.all([bob.waitForURL(`${url}/edit`), bob.click('.note-actions a.button')]);
    expect(await bob.locator('input[name="visibility"]').count()).toBe(0);
    await bob.fill('#body', 'first item\nsecond item, from Bob');
    await Promise.all([bob.waitForURL(url), bob.click('form.note-form button.primary')]);
    expect(await bob.textContent('.markdown')).toContain('second item, from Bob');
    await alice.goto(`${url}/history`);
    expect(await alice.textContent('.versions')).toContain('by Bob Member');

    const visitor = await open();
    const answer = await visitor.goto(url);
    expect(answer?.status()).toBe(404);
    expect(await visitor.textContent('main')).not.toContain('Standup agenda');
    await Promise.all([visitor.waitForURL(/\/login\?next=/), visitor.click('main a.button')]);
    await visitor.fill('#email', 'bob@example.com');
    await visitor.fill('#password', PASSWORD);
    await Promise.all([visitor.waitForURL(url), visitor.click('main button.primary')]);
    expect(await visitor.textContent('h1')).toBe('Standup agenda');
    expect(violations).toEqual([]);
  });
});
