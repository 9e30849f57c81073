import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Database } from '@kiroku/persistence';
import { ApiToken } from '../src/modules/auth';
import { browserMissing, launchChromium, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
const PASSWORD = 'a long enough passphrase';

(missing ? describe.skip : describe)('note forms in a real browser (Chromium): nothing typed is lost', () => {
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

  async function signUp(page: Page, email: string): Promise<void> {
    await page.goto(`${base}/signup`);
    await page.fill('#displayName', 'Writer');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
  }

  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(`${base}/login`);
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/notes$/), page.click('main button.primary')]);
  }

  /** A saved note, its edit page open. */
  async function noteOpen(page: Page, title: string): Promise<string> {
    await page.goto(`${base}/notes/new`);
    await page.fill('#title', title);
    await page.fill('#body', 'first words');
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('form.note-form button.primary')]);
    const id = page.url().split('/').pop()!;
    await page.goto(`${base}/notes/${id}/edit`);
    return id;
  }

  it('loses nothing when the session ends mid-edit: the form comes back, sign-in in a new tab, the same text saves', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    await signUp(page, 'midedit@example.com');
    const id = await noteOpen(page, 'Mid-edit');
    await page.fill('#body', 'a paragraph written while the session ended elsewhere');

    // Signed out elsewhere: another device ends every other session.
    const other = await open(await browser.newContext());
    await signIn(other, 'midedit@example.com');
    await other.goto(`${base}/account`);
    await Promise.all([other.waitForURL(`${base}/account`), other.click('form[action="/account/sessions/revoke-others"] button')]);

    await Promise.all([page.waitForURL(`${base}/notes/${id}`), page.click('form.note-form button.primary')]);
    expect(await page.textContent('[data-refusal="signedOut"]')).toContain('You were signed out, so nothing was saved.');
    expect(await page.inputValue('#body')).toBe('a paragraph written while the session ended elsewhere');
    expect(await page.isVisible('nav a[href="/login"]')).toBe(true);

    const [tab] = await Promise.all([context.waitForEvent('page'), page.click('[data-refusal="signedOut"] a[target="_blank"]')]);
    await watchCsp(tab, violations);
    await tab.waitForLoadState();
    await tab.fill('#email', 'midedit@example.com');
    await tab.fill('#password', PASSWORD);
    await Promise.all([tab.waitForURL(/\/notes$/), tab.click('main button.primary')]);
    await tab.close();

    await page.bringToFront();
    await Promise.all([page.waitForURL(`${base}/notes/${id}`), page.click('form.note-form button.primary')]);
    expect(await page.textContent('.flash')).toBe('Note saved.');
    expect(await page.textContent('.markdown')).toContain('a paragraph written while the session ended elsewhere');
    await context.close();
  });

  it('refuses a 150,000-character paste with the limit named and every character kept, with and without JavaScript', async () => {
    const text = 'word '.repeat(30_000);
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await open(context);
      await signUp(page, `paste-${javaScriptEnabled}@example.com`);
      const id = await noteOpen(page, 'Paste');
      await page.fill('#body', text);
      if (javaScriptEnabled) {
        expect(await page.textContent('#body-count')).toBe('150,000 / 100,000 characters: 50,000 over the limit');
        await page.click('form.note-form button.primary');
        expect(page.url()).toBe(`${base}/notes/${id}/edit`);
        expect(await page.textContent('#body-count[role="alert"]')).toContain('The text can be at most 100,000 characters.');
      } else {
        await Promise.all([page.waitForURL(`${base}/notes/${id}`), page.click('form.note-form button.primary')]);
        expect(await page.textContent('#body-error')).toBe('The text can be at most 100,000 characters.');
        expect(await page.textContent('#body-count')).toBe('150,000 / 100,000 characters: 50,000 over the limit');
      }
      expect(await page.inputValue('#body')).toBe(text);
      await context.close();
    }
  });

  it('keeps a draft when the tab is closed, offers it back, asks before leaving, and forgets it once saved', async () => {
    const context = await browser.newContext();
    const first = await open(context);
    await signUp(first, 'drafts@example.com');
    await first.goto(`${base}/notes/new`);
    await first.fill('#title', 'Half written');
    await first.fill('#body', 'a thought not yet saved');
    await first.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('kiroku:draft:new')));
    // Leaving with unsaved changes asks first.
    const asked = new Promise<string>((resolve) =>
      first.once('dialog', (dialog) => {
        resolve(dialog.type());
        void dialog.accept();
      }),
    );
    await first.close({ runBeforeUnload: true });
    expect(await asked).toBe('beforeunload');

    const second = await open(context);
    await second.goto(`${base}/notes/new`);
    expect(await second.isVisible('[data-draft-prompt]')).toBe(true);
    expect(await second.textContent('[data-draft-text]')).toContain('This browser kept a draft of this note that was not saved');
    expect(await second.inputValue('#body')).toBe('');
    await second.click('[data-draft-restore]');
    expect(await second.inputValue('#title')).toBe('Half written');
    expect(await second.inputValue('#body')).toBe('a thought not yet saved');
    expect(await second.isHidden('[data-draft-prompt]')).toBe(true);
    await Promise.all([second.waitForURL(/\/notes\/[0-9a-f-]{36}$/), second.click('form.note-form button.primary')]);
    expect(await second.textContent('.flash')).toBe('Note saved.');
    await second.waitForFunction(() => !Object.keys(localStorage).some((k) => k.startsWith('kiroku:draft:')));
    await second.goto(`${base}/notes/new`);
    expect(await second.isHidden('[data-draft-prompt]')).toBe(true);

    // A discarded draft is gone.
    await second.fill('#body', 'to be thrown away');
    await second.waitForFunction(() => localStorage.getItem('kiroku:draft:new') !== null);
    await second.reload();
    await second.click('[data-draft-discard]');
    await second.reload();
    expect(await second.isHidden('[data-draft-prompt]')).toBe(true);
    await context.close();
  });

  it('counts a title in code points as the server does: 150 emoji are saved, 201 refused with the same message', async () => {
    const message = 'Give the note a title of 1 to 200 characters.';
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await open(context);
      await signUp(page, `emoji-${javaScriptEnabled}@example.com`);
      await page.goto(`${base}/notes/new`);
      await page.fill('#title', '🍣'.repeat(201));
      await page.fill('#body', 'kept');
      if (javaScriptEnabled) {
        expect(await page.textContent('#title-count')).toBe('201 / 200 characters: 1 over the limit');
        await page.click('form.note-form button.primary');
        expect(await page.textContent('#title-count[role="alert"]')).toContain(message);
        expect(page.url()).toBe(`${base}/notes/new`);
      } else {
        await Promise.all([page.waitForURL(`${base}/notes`), page.click('form.note-form button.primary')]);
        expect(await page.textContent('#title-error')).toBe(message);
      }
      expect(await page.inputValue('#title')).toBe('🍣'.repeat(201));
      await page.fill('#title', '🍣'.repeat(150));
      if (javaScriptEnabled) expect(await page.textContent('#title-count')).toBe('150 / 200 characters');
      await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('form.note-form button.primary')]);
      expect(await page.textContent('h1')).toBe('🍣'.repeat(150));
      await context.close();
    }
  });

  it('creates one API token: a reload of the page that shows it creates no second one and shows it no more', async () => {
    const context = await browser.newContext();
    const page = await open(context);
    await signUp(page, 'token-reload@example.com');
    await page.goto(`${base}/account`);
    await page.fill('#token-name', 'reload test');
    await Promise.all([page.waitForURL(`${base}/account`), page.click('form[action="/account/tokens"] button')]);
    const token = await page.textContent('#new-token');
    expect(token).toMatch(/^krk_/);
    await page.reload();
    expect(await page.isVisible('#new-token')).toBe(false);
    expect(await page.content()).not.toContain(token!);
    expect(await t.app.get(Database).manager.countBy(ApiToken, { name: 'reload test' })).toBe(1);
    await context.close();
  });
});
