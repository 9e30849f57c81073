import { tempDir } from '@kiroku/testing';
import { ageKeyPair } from './support/backup-keys';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';

/** Polls read() until done(value), for work that goes on after a redirect. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeEachEngine('the backups console', (engine) => {
  let t: TestApp;
  let admin: WebClient;

  beforeAll(async () => {
    const keys = await ageKeyPair();
    t = await startTestApp({
      ...(await freshDatabase(engine)),
      BACKUP_DIR: tempDir(),
      BACKUP_AGE_RECIPIENTS: keys.recipient,
      BACKUP_AGE_IDENTITY_FILE: keys.identityFile,
    });
    admin = new WebClient(t.url);
    await admin.signup('admin@example.com', PASSWORD, 'Admin');
  });
  afterAll(() => t?.close());

  it('shows where backups go and that none has run, then runs one, verifies it again, and records who did', async () => {
    const empty = await admin.get('/admin/backups');
    expect(empty.status).toBe(200);
    expect(empty.text).toContain('No backup has run yet.');
    expect(empty.text).toMatch(/Stored in .+, on the schedule 0 2 \* \* \* \(UTC\), kept 30 days/);
    expect(empty.text).not.toContain('Backups cannot be made here');

    const ran = await admin.submit('/admin/backups/run', {});
    expect(ran.status).toBe(303);
    expect(ran.headers.get('location')).toBe('/admin/backups');
    // The page answers within 1.5 s: "made and verified" when the run was that quick, "started" otherwise.
    const after = await admin.get('/admin/backups');
    expect(after.text).toMatch(/Backup made and verified\.|Backup started: it appears below when it finishes\./);
    const listed = await until(
      async () => (await admin.get('/admin/backups')).text,
      (text) => /<span class="badge">passed<\/span>/.test(text),
    );
    expect(listed).toMatch(/<span class="badge">stored<\/span>/);
    expect(listed).toMatch(/<span class="badge">passed<\/span>.*\(restore\)/s);
    const id = /action="\/admin\/backups\/([0-9a-f-]{36})\/verify"/.exec(listed)![1];

    expect((await admin.submit(`/admin/backups/${id}/verify`, {})).status).toBe(303);
    expect((await admin.get('/admin/backups')).text).toMatch(/The backup passed verification\.|Verification started\./);
    expect((await admin.submit('/admin/backups/00000000-0000-4000-8000-000000000000/verify', {})).status).toBe(404);

    const audit = await admin.get('/admin/audit');
    expect(audit.text).toContain('backup.run');
    expect(audit.text).toContain('backup.verify');
  });

  it('says plainly, in the reader’s language, when backups cannot be made, and offers no "Back up now" that would only fail', async () => {
    const bare = await startTestApp({ ...(await freshDatabase(engine)), BACKUP_DIR: tempDir() });
    try {
      const someone = new WebClient(bare.url);
      await someone.signup('first@example.com', PASSWORD, 'First');
      const page = await someone.get('/admin/backups');
      expect(page.text).toContain('data-backup-problem="noKey"');
      expect(page.text).toContain('Backups cannot be made: no encryption key is set.');
      expect(page.text).not.toContain('action="/admin/backups/run"');
      expect(page.text).toContain('data-run-now-unavailable');
      const ja = await someone.get('/admin/backups', { 'accept-language': 'ja' });
      expect(ja.text).toContain('バックアップを作成できません。暗号化キーが設定されていません。');

      // A post made anyway (an old tab) starts nothing and records no failed run.
      const ran = await someone.submit('/admin/backups/run', {});
      expect(ran.status).toBe(303);
      const after = await someone.get('/admin/backups');
      expect(after.text).toContain('data-flash="flash.backupCannot"');
      expect(after.text).toContain('No backup has run yet.');
    } finally {
      await bare.close();
    }
  });
});
