import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@kiroku/testing';
import { checkDeployment, ensureGeneratedBackupKey, loadConfig } from '@kiroku/config';
import { runCli, spawnServer, waitForStatus } from './support/process';
import { WebClient } from './support/web-client';

/**
 * `npm start` on a fresh checkout has no backup key. In development Kiroku makes one for itself, so that the
 * nightly backup works (encrypted, verified) instead of failing and firing "Backup failing" on day one, and it
 * says everywhere an operator looks that the key must be copied off the machine. Nowhere else is one made.
 */
describe('a backup key generated in development', () => {
  it('is made once by the first start (0600, age-keygen format), used by backups and their verification, and said in the log, kiroku check and /admin/backups', async () => {
    const data = tempDir();
    const env = {
      NODE_ENV: 'development',
      LOG_FORMAT: 'json',
      DATABASE_PATH: join(data, 'kiroku.sqlite'),
      BACKUP_DIR: join(data, 'backups'),
      WEB_CONCURRENCY: '2',
    };
    const keyFile = join(data, 'backup-identity.txt');
    const first = await spawnServer(env);
    try {
      await waitForStatus(`${first.url}/health/ready`, [200]);
      await first.waitFor(/backups are encrypted to a key Kiroku generated/);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const key = readFileSync(keyFile, 'utf8');
      expect(key).toMatch(/^# created: \S+\n# public key: age1[0-9a-z]{58}\nAGE-SECRET-KEY-1[0-9A-Z]+\n$/);
      expect(first.output()).not.toContain('AGE-SECRET-KEY');

      const admin = new WebClient(first.url);
      await admin.signup('admin@example.com', 'a long enough passphrase', 'Admin');
      const page = (await admin.get('/admin/backups')).text;
      expect(page).toContain('data-generated-key');
      expect(page).toContain(keyFile);
      expect(page).toContain('Back up now'); // a key is there: backups can be made
      expect(await first.stop()).toBe(0);

      const second = await spawnServer(env);
      await waitForStatus(`${second.url}/health/ready`, [200]);
      expect(await second.stop()).toBe(0);
      expect(readFileSync(keyFile, 'utf8')).toBe(key); // kept, never replaced

      const backup = await runCli(['backup', 'run'], env);
      expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 0, stderr: '' });
      const listed = await runCli(['backup', 'list'], env);
      expect(listed.stdout).toMatch(/succeeded.*passed/);

      const check = await runCli(['check'], env);
      expect(check.stdout).toContain('backup-key-on-this-machine');
      expect(check.stdout).toContain(keyFile);
      expect(check.stdout).not.toContain('backup-encryption-missing');
    } finally {
      await first.stop();
    }
  });

  it('is never made, nor used, in test, staging or production, nor beside a key of your own', async () => {
    for (const NODE_ENV of ['test', 'staging', 'production']) {
      const data = tempDir();
      const config = loadConfig({ env: { NODE_ENV, DATABASE_PATH: join(data, 'kiroku.sqlite'), SESSION_SECRET: 'x'.repeat(40) } });
      expect(await ensureGeneratedBackupKey(config)).toBeNull();
      expect(existsSync(join(data, 'backup-identity.txt'))).toBe(false);
      expect(config.backup.ageRecipients).toBeUndefined();
    }
    const data = tempDir();
    const own = loadConfig({ env: { NODE_ENV: 'development', DATABASE_PATH: join(data, 'kiroku.sqlite'), BACKUP_AGE_PASSPHRASE: 'a passphrase of mine' } });
    expect(await ensureGeneratedBackupKey(own)).toBeNull();
    expect(existsSync(join(data, 'backup-identity.txt'))).toBe(false);
  });

  it('production refuses to start without a key, generated file or not', async () => {
    const data = tempDir();
    const env = { NODE_ENV: 'development', DATABASE_PATH: join(data, 'kiroku.sqlite') };
    await ensureGeneratedBackupKey(loadConfig({ env }));
    expect(existsSync(join(data, 'backup-identity.txt'))).toBe(true);
    const production = loadConfig({ env: { ...env, NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40) } });
    expect(production.backup.ageRecipients).toBeUndefined();
    expect(checkDeployment(production).find((f) => f.id === 'backup-encryption-missing')?.level).toBe('error');
    const refused = await spawnServer({
      ...env,
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://notes.example.com',
      SESSION_SECRET: 'q3J9v-Zk2L8xW0pT7mR4nY6bC1dF5hG_x',
    });
    expect(await refused.exited).toBe(78);
    expect(refused.output()).toContain('backup-encryption-missing');
  });

  it('two starts at once keep one key: the second uses the first', async () => {
    const data = tempDir();
    const env = { NODE_ENV: 'development', DATABASE_PATH: join(data, 'kiroku.sqlite') };
    const [a, b] = [loadConfig({ env }), loadConfig({ env })];
    const made = await Promise.all([ensureGeneratedBackupKey(a), ensureGeneratedBackupKey(b)]);
    expect(made.filter(Boolean)).toHaveLength(1);
    expect(a.backup.ageRecipients).toEqual(b.backup.ageRecipients);
    expect(a.backup.ageIdentityFile).toBe(join(data, 'backup-identity.txt'));
  });
});
