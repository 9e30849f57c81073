import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, tempDir } from '@kiroku/testing';
import type { Browser, Page } from 'playwright-core';
import { ageKeyPair } from '../support/backup-keys';
import { launchChromium, startBrowserTestApp } from '../support/browser';
import { TestApp } from '../support/test-app';

/** A zip of Markdown files in which one file's tags are invalid. */
async function badNotesZip(): Promise<Buffer> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  zip.addBuffer(Buffer.from('---\ntitle: Fine\n---\nbody'), 'Journal/fine.md');
  zip.addBuffer(Buffer.from('---\ntags: [Not A Tag]\n---\nbody'), 'Journal/broken.md');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `npm run screenshots`: every page at phone and desktop width, written to docs/screenshots/ to be looked at. */
const OUT = join(projectRoot(), 'docs', 'screenshots');
const SIZES = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } };

describe('screenshots', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });

    const keys = await ageKeyPair();
    ({ t, base } = await startBrowserTestApp({
      BACKUP_DIR: tempDir(),
      BACKUP_AGE_RECIPIENTS: keys.recipient,
      BACKUP_AGE_IDENTITY_FILE: keys.identityFile,
      LOG_DIR: tempDir(),
    }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function shoot(page: Page, name: string) {
    for (const [label, size] of Object.entries(SIZES)) {
      await page.setViewportSize(size);
      await page.screenshot({ path: join(OUT, `${name}-${label}.png`), fullPage: true });
    }
  }

  async function signUp(page: Page, name: string, email: string) {
    await page.goto(`${base}/signup`);
    await page.fill('#displayName', name);
    await page.fill('#email', email);
    await page.fill('#password', 'a long enough passphrase');
    await Promise.all([page.waitForURL(`${base}/notes`), page.click('button.primary')]);
  }

  it('takes them', async () => {
    const anon = await (await browser.newContext({ locale: 'en-GB' })).newPage();
    await anon.goto(`${base}/login`);
    await shoot(anon, 'login');
    await anon.fill('#email', 'someone@example.com');
    await anon.fill('#password', 'not the password');
    await anon.click('button.primary');
    await shoot(anon, 'login-failed');
    await anon.goto(`${base}/signup`);
    await shoot(anon, 'signup');
    await anon.fill('#displayName', 'Aiko');
    await anon.fill('#email', 'not-an-email');
    await anon.fill('#password', 'password');
    await anon.click('button.primary');
    await shoot(anon, 'signup-errors');

    const admin = await (await browser.newContext({ locale: 'en-GB', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156 Safari/537.36' })).newPage();
    await signUp(admin, 'Aiko Tanaka', 'aiko@example.com');
    const ja = await (
      await browser.newContext({ locale: 'ja-JP', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1' })
    ).newPage();
    await signUp(ja, '山田 花子', 'hanako@example.com');
    await ja.goto(`${base}/account`);
    await ja.selectOption('#timeZone', 'Asia/Tokyo');
    await Promise.all([ja.waitForURL(`${base}/account`), ja.click('form[action="/account/preferences"] button')]);
    await shoot(ja, 'account-ja');

    await admin.goto(`${base}/account`);
    await admin.fill('#token-name', 'backup script');
    await Promise.all([admin.waitForLoadState(), admin.click('form[action="/account/tokens"] button')]);
    await shoot(admin, 'account-token-created');
    await admin.goto(`${base}/account`);
    await shoot(admin, 'account');
    await admin.goto(`${base}/admin`);
    await shoot(admin, 'admin');
    await admin.goto(`${base}/admin/users`);
    await shoot(admin, 'admin-users');
    await admin.goto(`${base}/admin/backups`);
    await shoot(admin, 'admin-backups-empty');
    await admin.click('button:has-text("Back up now")');
    await admin.waitForURL(`${base}/admin/backups`);
    await shoot(admin, 'admin-backups');
    await admin.goto(`${base}/admin/logs?stream=access`);
    await shoot(admin, 'admin-logs');
    await admin.goto(`${base}/admin/audit`);
    await shoot(admin, 'admin-audit');
    await admin.goto(`${base}/no/such/page`);
    await shoot(admin, 'error-404');
    // Notes: a small collection in two languages.
    const notes = [
      {
        title: 'Deploy checklist',
        body: '## Before\n\n- Announce in #ops\n- Check the **backups** ran\n\n## Rolling restart\n\n```sh\nkubectl rollout restart deployment/kiroku\nkubectl rollout status deployment/kiroku\n```\n\nSee [the runbook](https://example.com/runbook).',
        tags: 'ops, deploy',
        visibility: 'public',
      },
      {
        title: '東京出張の準備',
        body: '## 持ち物\n\n- ノートPC\n- 名刺\n\n明日は東京で会議。議題は Kiroku の設計レビュー。',
        tags: 'travel, tokyo',
        visibility: 'private',
      },
      { title: 'Weekly review', body: 'What went well, what did not, what to change next week.', tags: 'review', visibility: 'private' },
    ];
    let lastUrl = '';
    for (const n of notes) {
      await admin.goto(`${base}/notes/new`);
      await admin.fill('#title', n.title);
      await admin.fill('#body', n.body);
      await admin.fill('#tags', n.tags);
      await admin.check(`input[name="visibility"][value="${n.visibility}"]`);
      await Promise.all([admin.waitForURL(/\/notes\/[0-9a-f-]{36}$/), admin.click('button.primary')]);
      lastUrl = admin.url();
    }
    await admin.goto(`${base}/notes`);
    await shoot(admin, 'notes');
    await admin.goto(`${base}/notes?q=${encodeURIComponent('東京')}`);
    await shoot(admin, 'notes-search');
    await admin.goto(lastUrl);
    await admin.goto(`${base}/notes`);
    await admin.click('text=Deploy checklist');
    const deployUrl = admin.url();
    await shoot(admin, 'note');
    await admin.goto(`${deployUrl}/edit`);
    await shoot(admin, 'note-edit');
    // A draft this browser kept: offered back when the page opens again (note-form.js).
    await admin.fill('#body', 'A change that was never saved.\n\n- Announce in #ops');
    await admin.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('kiroku:draft:')));
    await admin.goto(`${deployUrl}/edit`);
    await admin.waitForSelector('[data-draft-prompt]:not([hidden])');
    await shoot(admin, 'note-edit-draft');
    await admin.click('[data-draft-discard]');
    await ja.goto(`${base}/notes/new`);
    await ja.fill('#title', '週次ふりかえり');
    await ja.fill('#body', '## 良かったこと\n\n- 設計レビューが早く終わった\n\n## 次に変えること\n\n'.repeat(12));
    await ja.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('kiroku:draft:')));
    await ja.goto(`${base}/notes/new`);
    await ja.waitForSelector('[data-draft-prompt]:not([hidden])');
    await shoot(ja, 'note-new-draft-ja');
    await ja.click('[data-draft-restore]');
    await ja.fill('#title', '会議'.repeat(100) + 'メ');
    await ja.click('form.note-form button.primary');
    await shoot(ja, 'note-new-over-limit-ja');
    await admin.goto(`${base}/notes/new`);
    await admin.fill('#tags', 'Not A Tag');
    // The server's answer, not the browser's "fill out this field" bubble: skip the form's own checks.
    await admin.$eval('form.note-form', (form) => ((form as HTMLFormElement).noValidate = true));
    await Promise.all([admin.waitForLoadState('load'), admin.click('button.primary')]);
    await admin.waitForSelector('.field-error');
    await shoot(admin, 'note-errors');
    await admin.goto(lastUrl);
    await admin.click('form[action$="/delete"] button');
    await admin.goto(`${base}/notes/trash`);
    await shoot(admin, 'trash');
    // A zip with one bad file: the import is refused, naming the file.
    await admin.goto(`${base}/account`);
    await admin.setInputFiles('#notes-zip', { name: 'notes.zip', mimeType: 'application/zip', buffer: await badNotesZip() });
    await Promise.all([admin.waitForLoadState(), admin.click('form[action="/account/notes/import"] button')]);
    await shoot(admin, 'notes-import-refused');
    await admin.goto(`${base}/api/docs`);
    await shoot(admin, 'api-docs');
    const stranger = await (await browser.newContext({ locale: 'en-GB' })).newPage();
    await stranger.goto(deployUrl);
    await shoot(stranger, 'note-public-signed-out');

    const jaAnon = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
    await jaAnon.goto(`${base}/login`);
    await shoot(jaAnon, 'login-ja');
  });
});
