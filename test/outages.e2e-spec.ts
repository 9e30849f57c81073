import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'pg';
import { Database } from '@kiroku/persistence';
import { tempDir } from '@kiroku/testing';
import { DatabaseWatch } from '../src/modules/alerts';
import { MetricSample, MetricsSampler } from '../src/modules/metrics';
import { ApiClient } from './support/api-client';
import { freshDatabase, postgresAdminUrl, postgresMissing } from './support/engines';
import { runCli, spawnServer, waitForStatus } from './support/process';
import { WebhookReceiver } from './support/receivers';
import { startTestApp } from './support/test-app';

const withPostgres = postgresMissing() ? describe.skip : describe;
const headlines = (webhook: WebhookReceiver) => webhook.messages.map((m) => m.text.split('\n')[0].replace(/ — .*$/, ''));

withPostgres('the database goes away (PostgreSQL)', () => {
  it('each instance tells it once, from memory, and that it is back; the requests failed meanwhile reach the samples afterwards', async () => {
    const webhook = await WebhookReceiver.start();
    const env = await freshDatabase('postgres');
    const name = new URL(env.DATABASE_URL).pathname.slice(1);
    const admin = new Client({ connectionString: postgresAdminUrl() });
    await admin.connect();
    const t = await startTestApp({ ...env, ALERT_WEBHOOK_URL: webhook.url, METRICS_SAMPLE_INTERVAL: '1h' });
    try {
      const watch = t.app.get(DatabaseWatch);
      const sampler = t.app.get(MetricsSampler);
      await watch.check();
      expect(webhook.messages).toEqual([]);

      // The outage: no new connection, the open ones cut.
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [name]);
      for (let i = 0; i < 3; i++) await watch.check();
      await webhook.waitForCount(1);
      expect(headlines(webhook)).toEqual(['[FIRING] Kiroku critical: Database unreachable']);
      expect(webhook.messages[0].kiroku).toMatchObject({ rule: 'database-down', status: 'firing' });
      expect(webhook.messages[0].kiroku.summary).toMatch(/cannot reach the PostgreSQL database: .+/);
      let failed = 0;
      for (let i = 0; i < 5; i++) if ((await fetch(`${t.url}/api/v1/notes`, { headers: { authorization: 'Bearer x' } })).status >= 500) failed++;
      expect(failed).toBeGreaterThan(0);
      await expect(sampler.sample()).rejects.toThrow(); // kept, not dropped

      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await watch.check();
      await watch.check();
      await webhook.waitForCount(2);
      expect(headlines(webhook)).toEqual(['[FIRING] Kiroku critical: Database unreachable', '[RESOLVED] Kiroku critical: Database unreachable']);
      await sampler.sample();
      const samples = await t.app.get(Database).manager.find(MetricSample, { order: { at: 'ASC' } });
      expect(samples).toHaveLength(2); // the one kept through the outage, then the one after
      expect(samples[0].errors).toBeGreaterThanOrEqual(failed);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.end();
      await t.close();
      await webhook.close();
    }
  });
});

describe('a lone instance killed (SQLite)', () => {
  it('says once, at the next start, that it restarted after an unclean stop; a clean stop says nothing', async () => {
    const webhook = await WebhookReceiver.start();
    const env = { DATABASE_PATH: join(tempDir(), 'kiroku.sqlite'), ALERT_WEBHOOK_URL: webhook.url, WEB_CONCURRENCY: '1' };
    try {
      const first = await spawnServer(env);
      await waitForStatus(`${first.url}/health/ready`, [200]);
      expect(await first.stop('SIGKILL')).toBe('SIGKILL');

      const second = await spawnServer(env);
      await waitForStatus(`${second.url}/health/ready`, [200]);
      await webhook.waitForCount(1);
      expect(headlines(webhook)).toEqual(['[FIRING] Kiroku warning: Restarted after an unclean stop']);
      expect(webhook.messages[0].kiroku.summary).toMatch(/restarted after an unclean stop: the previous run \(pid \d+, started .+\) last showed life at .+/);
      expect(await second.stop('SIGTERM')).toBe(0);

      const third = await spawnServer(env);
      await waitForStatus(`${third.url}/health/ready`, [200]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await third.stop('SIGTERM')).toBe(0);
      expect(webhook.messages).toHaveLength(1);
    } finally {
      await webhook.close();
    }
  });
});

describe('a write kept waiting past DATABASE_BUSY_TIMEOUT (SQLite)', () => {
  it('is answered 503 with Retry-After, nothing of it written, and the same request succeeds once the lock is free', async () => {
    const settings = await freshDatabase('sqlite');
    const t = await startTestApp({ ...settings, DATABASE_BUSY_TIMEOUT: '300ms' });
    // Another writer of the file (a worker in a long transaction, a hand-run statement) holds the write lock.
    const other = new BetterSqlite3(settings.DATABASE_PATH);
    try {
      const { api } = await ApiClient.forNewUser(t.url, 'busy@example.com');
      expect((await api.call('GET', '/api/v1/notes')).body.items).toEqual([]); // the token's first use is written now
      other.exec('BEGIN IMMEDIATE');
      const refused = await api.call('POST', '/api/v1/notes', { title: 'Kept waiting', body: 'x' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.detail).toMatch(/busy .*could not finish this request\. Try again/);
      // For whoever reads the error stream: what happened, the answer given, and SQLite's own words.
      expect(await t.logs.waitFor((l) => l.stream === 'error' && l.status === 503)).toMatchObject({
        level: 'error',
        msg: 'request failed: database busy',
        err: { code: 'SQLITE_BUSY', message: 'database is locked' },
      });
      other.exec('ROLLBACK');
      expect((await api.call('GET', '/api/v1/notes')).body.items).toEqual([]);
      expect((await api.call('POST', '/api/v1/notes', { title: 'Kept waiting', body: 'x' })).status).toBe(201);
      expect((await api.call('GET', '/api/v1/notes')).body.items.map((n: { title: string }) => n.title)).toEqual(['Kept waiting']);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await t.close();
    }
  });
});

describe('kiroku alert notify', () => {
  it('delivers to the channels with the database unreachable, and fails loudly with no channel', async () => {
    const webhook = await WebhookReceiver.start();
    try {
      const unreachable = { DATABASE_URL: 'postgres://kiroku@127.0.0.1:1/kiroku', PUBLIC_URL: 'https://notes.example.com' };
      const sent = await runCli(['alert', 'notify', '--subject', 'vm1/kiroku@8881.service', '--summary', 'systemd gave up on kiroku@8881.service'], {
        ...unreachable,
        ALERT_WEBHOOK_URL: webhook.url,
      });
      expect({ code: sent.code, stdout: sent.stdout, stderr: sent.stderr }).toEqual({ code: 0, stdout: 'webhook: sent\n', stderr: '' });
      expect(webhook.messages.map((m) => m.text)).toEqual([
        '[FIRING] Kiroku critical: Service failed — vm1/kiroku@8881.service\nsystemd gave up on kiroku@8881.service\nhttps://notes.example.com/admin/alerts',
      ]);
      const none = await runCli(['alert', 'notify', '--summary', 'x'], unreachable);
      expect(none.code).toBe(1);
      expect(none.stderr).toBe('kiroku: no alert channel is configured: set ALERT_WEBHOOK_URL, or ALERT_EMAIL_TO with SMTP_URL\n');
      const refused = await runCli(['alert', 'notify', '--summary', 'x', '--rule', 'made-up'], { ...unreachable, ALERT_WEBHOOK_URL: webhook.url });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^kiroku: --rule must be one of database-down, unclean-stop, service-failed/);
    } finally {
      await webhook.close();
    }
  });
});
