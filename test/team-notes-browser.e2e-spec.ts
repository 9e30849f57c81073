import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { projectRoot, tempDir } from '@kiroku/testing';
import { Accounts } from '../src/modules/auth';
import { browserMissing, launchChromium, startBrowserTestApp, watchCsp } from './support/browser';
import { TestApp } from './support/test-app';

const missing = browserMissing();
const PASSWORD = 'a long enough passphrase';
// Taken on every run (the pages must render); written over docs/screenshots only with KIROKU_SCREENSHOTS=1.
const SHOTS = process.env.KIROKU_SCREENSHOTS === '1' ? join(projectRoot(), 'docs', 'screenshots') : tempDir();
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

(missing ? describe.skip : describe)('team notes in a real browser (Chromium)', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const violations: string[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    ({ t, base } = await startBrowserTestApp());
    browser = await launchChromium();
    // The administrator (the first account) owns the notes of the invitation tests; a third member reads them.
    await t.app.get(Accounts).create({ email: 'owner@example.com', displayName: 'Olivia Owner', password: PASSWORD });
    await t.app.get(Accounts).create({ email: 'reader@example.com', displayName: 'Rei Reader', password: PASSWORD });
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
  });

  async function open(options: { locale?: string } = {}): Promise<Page> {
    const context = await browser.newContext({ viewport: SIZES.desktop, ...options });
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

  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(`${base}/login`);
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
  }

  /** A note made through the form; its address. */
  async function write(page: Page, title: string, body: string, visibility: string, editableByTeam: boolean): Promise<string> {
    await page.goto(`${base}/notes/new`);
    await page.fill('#title', title);
    await page.fill('#body', body);
    await page.check(`input[name="visibility"][value="${visibility}"]`);
    if (editableByTeam) await page.check('input[name="editableByTeam"]');
    await Promise.all([page.waitForURL(/\/notes\/[0-9a-f-]{36}$/), page.click('form.note-form button.primary')]);
    return page.url();
  }

  /** Both sizes of the page as it is now, the desktop one last (the page is left at desktop size). */
  async function shoot(page: Page, name: string): Promise<void> {
    await page.setViewportSize(SIZES.phone);
    await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize(SIZES.desktop);
    await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
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

  it.each([
    {
      lang: 'en',
      locale: 'en-GB',
      email: 'carol@example.com',
      name: 'Carol Colleague',
      welcome: 'Welcome to Kiroku.',
      word: 'quokka',
      editable: { title: 'Release checklist', body: 'Tag the release, then tell the quokka team.' },
      readOnly: { title: 'Security policy', body: 'Only the owner changes the quokka rules.' },
      own: { title: 'Onboarding notes', body: 'Where the coffee is.' },
      added: 'Carol checked the staging run.',
      byOwner: 'by Olivia Owner',
      byColleague: 'by Carol Colleague',
      byYou: 'by you',
    },
    {
      lang: 'ja',
      locale: 'ja-JP',
      email: 'hanako@example.com',
      name: '同僚 花子',
      welcome: 'Kiroku へようこそ。',
      word: 'wombat',
      editable: { title: 'リリース手順', body: 'タグを付けてから wombat チームに知らせる。' },
      readOnly: { title: 'セキュリティ方針', body: 'wombat の規則は作成者だけが変える。' },
      own: { title: '新人向けメモ', body: 'コーヒーの場所。' },
      added: '花子がステージングを確認しました。',
      byOwner: 'Olivia Owner が保存',
      byColleague: '同僚 花子 が保存',
      byYou: 'あなたが保存',
    },
  ])(
    '[$lang] an admin invites a colleague, who signs up, searches the team notes, edits the editable one, is refused the other; History names both authors',
    async ({ lang, locale, email, name, welcome, word, editable, readOnly, own, added, byOwner, byColleague, byYou }) => {
      violations.length = 0;
      const owner = await open({ locale });
      await signIn(owner, 'owner@example.com');
      const editableUrl = await write(owner, editable.title, editable.body, 'team', true);
      const readOnlyUrl = await write(owner, readOnly.title, readOnly.body, 'team', false);
      // The invitation, made on /admin/users and shown once (see invitations-browser.e2e-spec.ts, which also
      // shows a used link refused with a 410 page).
      await owner.goto(`${base}/admin/users`);
      await owner.fill('#invite-email', email);
      await Promise.all([owner.waitForURL(`${base}/admin/users`), owner.click('form[action="/admin/users/invite"] button')]);
      const link = (await owner.textContent('#new-link'))!.trim();

      // The colleague opens the link, signs up and lands signed in on the notes list.
      const colleague = await open({ locale });
      expect((await colleague.goto(link))!.status()).toBe(200);
      await colleague.fill('#displayName', name);
      await colleague.fill('#password', PASSWORD);
      await Promise.all([colleague.waitForURL(`${base}/notes`), colleague.click('button.primary')]);
      expect(await colleague.textContent('.flash')).toBe(welcome);

      // Searches the Team tab for a word of the owner's notes: both found, with their author.
      await Promise.all([colleague.waitForURL(`${base}/notes?scope=team`), colleague.click('.list-scope a[href="/notes?scope=team"]')]);
      await colleague.fill('#q', word);
      await Promise.all([colleague.waitForURL(/\/notes\?q=.*scope=team/), colleague.click('form.search button.primary')]);
      const found = (await colleague.textContent('.note-list'))!;
      expect(found).toContain(editable.title);
      expect(found).toContain(readOnly.title);
      expect(found).toContain('Olivia Owner');
      expect(await colleague.locator('.note-list mark', { hasText: word }).count()).toBeGreaterThan(0);
      // The Mine and team tab keeps the search and finds them too.
      await Promise.all([colleague.waitForURL(/scope=all/), colleague.click('.list-scope a[href*="scope=all"]')]);
      expect(await colleague.inputValue('#q')).toBe(word);
      expect(await colleague.textContent('.note-list')).toContain(editable.title);

      // Edits the note the owner let the team edit: the save works.
      await Promise.all([colleague.waitForURL(editableUrl), colleague.click(`.note-list a:has-text("${editable.title}")`)]);
      await Promise.all([colleague.waitForURL(`${editableUrl}/edit`), colleague.click('.note-actions a.button')]);
      expect(await colleague.locator('input[name="visibility"]').count()).toBe(0);
      await colleague.fill('#body', `${editable.body}\n\n${added}`);
      await Promise.all([colleague.waitForURL(editableUrl), colleague.click('form.note-form button.primary')]);
      expect(await colleague.textContent('.markdown')).toContain(added);

      // The other team note is read, but no edit is offered, and going to its edit page is refused.
      await colleague.goto(readOnlyUrl);
      expect(await colleague.textContent('h1')).toBe(readOnly.title);
      expect(await colleague.locator(`main a[href$="/edit"]`).count()).toBe(0);
      expect((await colleague.goto(`${readOnlyUrl}/edit`))!.status()).toBe(403);
      expect((await colleague.goto(`${readOnlyUrl}/history`))!.status()).toBe(403);

      // History: the colleague's version and the owner's, by name.
      await colleague.goto(`${editableUrl}/history`);
      const versions = (await colleague.textContent('.versions'))!;
      expect(versions).toContain(byYou);
      expect(versions).toContain(byOwner);
      await owner.goto(`${editableUrl}/history`);
      expect(await owner.textContent('.versions')).toContain(byColleague);
      // A third member sees both names.
      await write(colleague, own.title, own.body, 'team', false);
      const reader = await open({ locale });
      await signIn(reader, 'reader@example.com');
      await reader.goto(`${editableUrl}/history`);
      const both = (await reader.textContent('.versions'))!;
      expect(both).toContain(byOwner);
      expect(both).toContain(byColleague);
      await shoot(reader, `team-history-${lang}`);
      await reader.goto(`${base}/notes`);
      await Promise.all([reader.waitForURL(`${base}/notes?scope=team`), reader.click('.list-scope a[href="/notes?scope=team"]')]);
      const team = (await reader.textContent('.note-list'))!;
      for (const title of [editable.title, readOnly.title, own.title]) expect(team).toContain(title);
      await shoot(reader, `team-view-${lang}`);
      expect(violations).toEqual([]);
    },
  );
});
