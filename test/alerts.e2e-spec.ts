import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { FakeClock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { AlertEvaluator, AlertNotification } from '../src/modules/alerts';
import { BackupRun, BackupService } from '../src/modules/backup';
import { Instance, InstanceRegistry } from '../src/modules/cluster';
import { MetricSample, MetricsSampler } from '../src/modules/metrics';
import { ageKeyPair } from './support/backup-keys';
import { describeEachEngine, freshDatabase } from './support/engines';
import { PushMonitor, SmtpReceiver, WebhookReceiver } from './support/receivers';
import { startTestApp, TestApp } from './support/test-app';

const TOKEN = 'metrics-token-for-alert-tests-0123';
const MIN = 60_000;

describeEachEngine('alerts', (engine) => {
  let webhook: WebhookReceiver;
  let smtp: SmtpReceiver;
  let t: TestApp;
  let clock: FakeClock;
  beforeEach(async () => {
    webhook = await WebhookReceiver.start();
    smtp = await SmtpReceiver.start();
    clock = new FakeClock(Date.UTC(2026, 10, 29, 3, 0));
  });
  afterEach(async () => {
    await t?.close();
    await webhook.close();
    await smtp.close();
  });
  const start = async (settings: Record<string, string>) => {
    t = await startTestApp(
      {
        ...(await freshDatabase(engine)),
        METRICS_TOKEN: TOKEN,
        ALERT_WEBHOOK_URL: webhook.url,
        ALERT_EMAIL_TO: 'ops@example.com',
        SMTP_URL: smtp.url,
        ALERT_EMAIL_FROM: 'kiroku@example.com',
        ...settings,
      },
      { clock },
    );
  };
  /** The clock moves on; this instance heartbeats as it would have; one evaluation round runs. */
  const tick = async (ms = MIN) => {
    clock.advance(ms);
    await t.app.get(InstanceRegistry).beat();
    await t.app.get(AlertEvaluator).tick();
  };
  /** What another replica would have recorded for the minute just ended. */
  const otherReplicaMinute = (requests: number, errors: number) =>
    t.app.get(Database).transaction((m) =>
      m.insert(MetricSample, {
        instanceId: 'replica-b',
        at: clock.now(),
        periodMs: MIN,
        requests,
        errors,
        latencyP95Us: 20_000,
        cpuPermille: 100,
        rssBytes: 1e8,
        heapUsedBytes: 5e7,
        loopLagP99Us: 1000,
        diskDataPermille: null,
        diskLogsPermille: null,
        logEmergency: 0,
      }),
    );
  const scrape = async () => (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  const texts = () => webhook.messages.map((m) => m.text.split('\n')[0]);

  it('error rate: fires after the pending period (once, by webhook and e-mail), reminds, holds through a flap, resolves after recovery', async () => {
    await start({
      ALERT_PENDING: '2m',
      ALERT_RECOVERY: '3m',
      ALERT_REMINDER_INTERVAL: '1h',
      ALERT_ERROR_WINDOW: '1m',
      ALERT_ERROR_MIN_REQUESTS: '20',
      ALERT_ERROR_RATE: '0.05',
    });
    const bad = async () => {
      clock.advance(MIN);
      await otherReplicaMinute(100, 30);
      await tick(0);
    };
    // A single bad minute: pending, then forgotten. Nobody is told.
    await bad();
    await tick();
    // Few requests, all failing: under ALERT_ERROR_MIN_REQUESTS, never fires.
    for (let i = 0; i < 4; i++) {
      clock.advance(MIN);
      await otherReplicaMinute(3, 3);
      await tick(0);
    }
    expect(webhook.messages).toEqual([]);

    await bad(); // pending
    await bad(); // 1 min
    expect(webhook.messages).toEqual([]);
    await bad(); // 2 min: fires
    await webhook.waitForCount(1);
    expect(texts()).toEqual(['[FIRING] Kiroku critical: Error rate high — all instances']);
    expect(webhook.messages[0].kiroku).toMatchObject({
      status: 'firing',
      kind: 'firing',
      rule: 'error-rate',
      severity: 'critical',
      url: `${t.config.app.publicUrl}/admin/alerts`,
    });
    expect(webhook.messages[0].kiroku.summary).toContain('30.0% of 100 requests');
    const [mail] = await smtp.waitForCount(1);
    expect(mail.to).toEqual(['ops@example.com']);
    const parsed = await simpleParser(mail.raw);
    expect(parsed.subject).toBe('[FIRING] Kiroku critical: Error rate high — all instances');
    expect(parsed.text).toContain('30.0% of 100 requests failed with a server error');
    expect(parsed.text).toContain(`${t.config.app.publicUrl}/admin/alerts`);
    expect(await scrape()).toMatch(/^kiroku_alerts\{rule="error-rate",state="firing"\} 1$/m);

    await bad();
    await bad();
    expect(webhook.messages).toHaveLength(1); // still firing: no repeat

    clock.advance(57 * MIN);
    await bad(); // an hour after it fired: one reminder
    await webhook.waitForCount(2);
    expect(texts()[1]).toBe('[STILL FIRING] Kiroku critical: Error rate high — all instances');

    await tick(); // clear for a minute
    await bad(); // back: still the same alert, no notice
    await tick(); // clear since now
    await tick();
    await tick();
    expect(webhook.messages).toHaveLength(2);
    await tick(); // clear for 3 minutes: resolved
    await webhook.waitForCount(3);
    expect(texts()[2]).toBe('[RESOLVED] Kiroku critical: Error rate high — all instances');
    expect(webhook.messages[2].kiroku).toMatchObject({ status: 'resolved', endsAt: clock.now().toISOString() });
    await smtp.waitForCount(3);
    await tick();
    await tick();
    expect(webhook.messages).toHaveLength(3);
    expect(smtp.mails).toHaveLength(3);
    expect(await scrape()).toMatch(/^kiroku_alerts\{rule="error-rate",state="firing"\} 0$/m);
    const history = await t.app.get(AlertEvaluator).history();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ rule: 'error-rate', status: 'resolved', openKey: null });
    expect(history[0].notifications.map((n) => `${n.kind}/${n.channel}/${n.status}`).sort()).toEqual([
      'firing/email/sent',
      'firing/webhook/sent',
      'reminder/email/sent',
      'reminder/webhook/sent',
      'resolved/email/sent',
      'resolved/webhook/sent',
    ]);
  });

  /**
   * Every rule through the same fake-clock timeline, its world set by writing what the other replica,
   * the heartbeats or the backup catalog would hold: one bad minute alone (nothing), bad for the
   * pending period (one notice), a reminder, a flap during recovery (nothing), clear for the recovery
   * period (one resolve notice).
   */
  const REPLICA = { id: 'replica-b', address: 'kiroku-b:8888' };
  const replicaLive = (db: Database) =>
    db.transaction(async (m) => {
      await m.delete(Instance, { id: REPLICA.id });
      await m.insert(Instance, {
        ...REPLICA,
        hostname: 'kiroku-b',
        pid: 7,
        ready: 1,
        notReadyReason: null,
        version: '0.1.0',
        engine,
        startedAt: new Date(clock.nowMs() - 3_600_000),
        heartbeatAt: clock.now(),
        stoppedAt: null,
      });
    });
  const replicaSample = (db: Database, figures: Partial<MetricSample>) =>
    db.transaction((m) =>
      m.insert(MetricSample, {
        instanceId: REPLICA.id,
        at: clock.now(),
        periodMs: MIN,
        requests: 10,
        errors: 0,
        latencyP95Us: 5000,
        cpuPermille: 100,
        rssBytes: 1e8,
        heapUsedBytes: 5e7,
        loopLagP99Us: 1000,
        diskDataPermille: null,
        diskLogsPermille: 500,
        logEmergency: 0,
        ...figures,
      }),
    );
  /** One run in the catalog: failed, or stored and verified, or stored but failing its restore drill. */
  const catalog = (db: Database, state: 'succeeded' | 'failed' | 'unrestorable', hoursAgo: number) =>
    db.transaction(async (m) => {
      const status = state === 'failed' ? 'failed' : 'succeeded';
      await m.clear(BackupRun);
      const at = new Date(clock.nowMs() - hoursAgo * 3_600_000);
      await m.insert(BackupRun, {
        // A long error (up to 1000 characters in the catalog) must not break an alert summary of 500.
        id: randomUUID(),
        trigger: 'schedule',
        slot: null,
        status,
        startedAt: at,
        finishedAt: at,
        error: status === 'failed' ? `disk full: ${'x'.repeat(980)}` : null,
        instanceId: REPLICA.id,
        destination: 'local',
        objectKey: null,
        engine,
        serverVersion: 'x',
        schemaVersion: 'x',
        encryption: 'age-x25519',
        keyFingerprint: 'f',
        plainBytes: null,
        plainSha256: null,
        storedBytes: null,
        storedSha256: null,
        rowCounts: null,
        verifiedAt: status === 'succeeded' ? at : null,
        verifyStatus: state === 'succeeded' ? 'passed' : state === 'unrestorable' ? 'failed' : null,
        verifyMode: status === 'succeeded' ? 'restore' : null,
        verifyError: state === 'unrestorable' ? 'permission denied to create database' : null,
        prunedAt: null,
      });
    });
  const worlds: Array<[string, string, (db: Database, bad: boolean) => Promise<unknown>]> = [
    [
      'instance-down',
      REPLICA.address,
      async (db, bad) => {
        if (!bad) return replicaLive(db);
        // Registered, then silent (no stop recorded) for longer than INSTANCE_STALE_AFTER.
        const silentSince = new Date(clock.nowMs() - 2 * MIN);
        if (!(await db.manager.findOneBy(Instance, { id: REPLICA.id }))) await replicaLive(db);
        return db.transaction((m) => m.update(Instance, { id: REPLICA.id }, { heartbeatAt: silentSince }));
      },
    ],
    ['disk-warning', `${REPLICA.address} logs`, async (db, bad) => (await replicaLive(db), replicaSample(db, { diskLogsPermille: bad ? 850 : 500 }))],
    ['disk-critical', `${REPLICA.address} logs`, async (db, bad) => (await replicaLive(db), replicaSample(db, { diskLogsPermille: bad ? 950 : 500 }))],
    ['log-emergency', REPLICA.address, async (db, bad) => (await replicaLive(db), replicaSample(db, { logEmergency: bad ? 1 : 0 }))],
    ['backup-stale', 'backups', (db, bad) => catalog(db, 'succeeded', bad ? 27 : 1)],
    ['backup-failing', 'backups', (db, bad) => catalog(db, bad ? 'failed' : 'succeeded', 0)],
    // Stored, but its restore drill fails (the role lost CREATEDB): as failing as a run that stored nothing.
    ['backup-failing', 'backups', (db, bad) => catalog(db, bad ? 'unrestorable' : 'succeeded', 0)],
  ];
  it.each(worlds)('%s: pending, one notice, a reminder, no flapping, one resolve notice', async (rule, subject, world) => {
    await start({ ALERT_PENDING: '2m', ALERT_RECOVERY: '2m', ALERT_REMINDER_INTERVAL: '30m', ALERT_EMAIL_TO: undefined as unknown as string });
    const db = t.app.get(Database);
    const minute = async (bad: boolean, ms = MIN) => {
      clock.advance(ms);
      await world(db, bad);
      await tick(0);
    };
    const mine = () => webhook.messages.filter((m) => m.kiroku.rule === rule).map((m) => `${m.kiroku.kind} ${m.kiroku.subject}`);
    for (const bad of [false, true, false, false]) await minute(bad); // one bad minute: nothing
    expect(mine()).toEqual([]);
    for (const bad of [true, true]) await minute(bad);
    expect(mine()).toEqual([]); // pending for 1 minute
    await minute(true); // 2 minutes: fires
    expect(mine()).toEqual([`firing ${subject}`]);
    await minute(true);
    await minute(true, 29 * MIN); // 30 minutes after firing: reminded once
    expect(mine()).toEqual([`firing ${subject}`, `reminder ${subject}`]);
    for (const bad of [false, true, false, false]) await minute(bad); // clear, back, clear 1 min: still firing
    expect(mine()).toHaveLength(2);
    await minute(false); // clear for 2 minutes: resolved
    await minute(false);
    expect(mine()).toEqual([`firing ${subject}`, `reminder ${subject}`, `resolved ${subject}`]);
    // Nothing else fired (above the critical mark the disk warning holds too, as documented).
    const others = webhook.messages.filter((m) => m.kiroku.rule !== rule && !(rule === 'disk-critical' && m.kiroku.rule === 'disk-warning'));
    expect(others.map((m) => m.text.split('\n')[0])).toEqual([]);
  });

  it("disk: a threshold below current usage fires the disk alert from the instance's own sample", async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'kiroku-alert-logs-'));
    await start({ LOG_DIR: logDir, ALERT_DISK_WARN: '0.001', ALERT_DISK_CRIT: '0.999', ALERT_PENDING: '0s' });
    clock.advance(MIN);
    await t.app.get(MetricsSampler).sample();
    await tick(0);
    await webhook.waitForCount(1);
    expect(texts()).toContain(`[FIRING] Kiroku warning: Disk filling up — ${t.app.get(InstanceRegistry).address} logs`);
    expect(texts().some((x) => x.includes('Disk almost full'))).toBe(false);
  });

  it('backup: with no successful backup 26 hours after the deployment started, the backup alert fires', async () => {
    await start({ ALERT_PENDING: '0s' });
    await tick(25 * 60 * MIN);
    expect(webhook.messages).toEqual([]);
    await tick(2 * 60 * MIN);
    await webhook.waitForCount(1);
    expect(texts()).toEqual(['[FIRING] Kiroku critical: No recent backup — backups']);
    expect(webhook.messages[0].kiroku.summary).toMatch(/no backup has passed verification yet, and Kiroku has been running for 27\.0 h/);
  });

  it('backup: a failed run fires the backup-failing alert with its error', async () => {
    const keys = await ageKeyPair();
    const blocked = join(mkdtempSync(join(tmpdir(), 'kiroku-alert-backup-')), 'not-a-folder');
    writeFileSync(blocked, 'a file where the backup folder should be');
    await start({ ALERT_PENDING: '0s', ALERT_RECOVERY: '0s', BACKUP_DIR: join(blocked, 'backups'), BACKUP_AGE_RECIPIENTS: keys.recipient });
    const backups = t.app.get(BackupService);
    const failed = await backups.run('manual').catch((error: Error) => error);
    expect(failed).toBeDefined();
    await tick();
    await webhook.waitForCount(1);
    expect(texts()).toEqual(['[FIRING] Kiroku warning: Backup failing — backups']);
    expect(webhook.messages[0].kiroku.summary).toMatch(/^the newest backup run failed: .*(ENOTDIR|not a directory)/i);
  });

  it("pings the heartbeat after each evaluation that worked, and stops while evaluation fails (the push monitor's cue)", async () => {
    const monitor = await PushMonitor.start();
    try {
      await start({ ALERT_HEARTBEAT_URL: monitor.url });
      for (let i = 0; i < 3; i++) await tick();
      expect(monitor.pings).toEqual(Array.from({ length: 3 }, () => ({ method: 'GET', path: '/api/push/kiroku-token?status=up' })));
      // The alerts table gone from under it: evaluation fails, as it does with the database down.
      const db = t.app.get(Database);
      await db.dataSource.query('ALTER TABLE alerts RENAME TO alerts_away');
      for (let i = 0; i < 2; i++) await expect(tick()).rejects.toThrow();
      expect(monitor.pings).toHaveLength(3);
      await db.dataSource.query('ALTER TABLE alerts_away RENAME TO alerts');
      await tick();
      expect(monitor.pings).toHaveLength(4);
    } finally {
      await monitor.close();
    }
  });

  it('sends the notices of one alert in order: a resolve waits for its firing notice to be delivered', async () => {
    webhook.failWith = 503;
    await start({
      ALERT_PENDING: '0s',
      ALERT_RECOVERY: '0s',
      ALERT_ERROR_WINDOW: '1m',
      ALERT_NOTIFY_BACKOFF: '5m',
      ALERT_EMAIL_TO: undefined as unknown as string,
    });
    const db = t.app.get(Database);
    clock.advance(MIN);
    await otherReplicaMinute(100, 50);
    await tick(0); // fires; the webhook refuses: retry in 5 minutes
    await tick(61_000); // clear: resolves; its notice is due now, but the firing notice is not delivered yet
    const rows = await db.manager.find(AlertNotification, { order: { createdAt: 'ASC' } });
    expect(rows.map((r) => `${r.kind}:${r.status}`)).toEqual(['firing:pending', 'resolved:pending']);
    expect(rows[1].attempts).toBe(0); // not even tried out of order
    webhook.failWith = null;
    await tick(5 * MIN);
    expect(webhook.messages.map((m) => m.kiroku.kind)).toEqual(['firing', 'resolved']);
  });

  it('does not count probes and scrapes as traffic for the error rate', async () => {
    await start({});
    for (let i = 0; i < 30; i++) await (await fetch(`${t.url}/health/ready`)).text();
    await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    await (await fetch(`${t.url}/no/such/page`)).text();
    await new Promise((r) => setTimeout(r, 100)); // requests are counted when their response has closed
    const sample = await t.app.get(MetricsSampler).sample();
    expect(sample.requests).toBe(1);
  });

  it('a failing channel is retried with backoff, then shown as failed in the metrics and the log — without its URL', async () => {
    webhook.failWith = 500;
    await start({ ALERT_PENDING: '0s', ALERT_NOTIFY_ATTEMPTS: '3', ALERT_NOTIFY_BACKOFF: '10s' });
    await tick(27 * 60 * MIN); // the backup alert fires; attempt 1 fails
    await tick(5_000); // not due yet (10 s)
    await tick(5_000); // attempt 2 fails; next after 20 s
    await tick(10_000); // not due
    const pending = await scrape();
    expect(pending.split('\n').filter((l) => l.startsWith('kiroku_alert_notifications{'))).toContain(
      'kiroku_alert_notifications{channel="webhook",state="pending"} 1',
    );
    await tick(10_000); // attempt 3 fails: given up
    expect(await scrape()).toMatch(/^kiroku_alert_notifications\{channel="webhook",state="failed"\} 1$/m);
    const [failed] = await t.app.get(AlertEvaluator).undelivered();
    expect(failed).toMatchObject({ channel: 'webhook', status: 'failed', attempts: 3, lastError: 'webhook answered 500' });
    const lines = t.logs.lines.filter((l) => String(l.msg).startsWith('webhook notification'));
    expect(lines.map((l) => l.msg)).toEqual([
      'webhook notification failed, will retry: webhook answered 500',
      'webhook notification failed, will retry: webhook answered 500',
      'webhook notification failed for good: webhook answered 500',
    ]);
    expect(JSON.stringify(t.logs.lines)).not.toContain(webhook.url);
    // The e-mail channel is independent: it was delivered on the first try.
    expect(smtp.mails).toHaveLength(1);
  });
});
