import { FakeClock } from '@kiroku/clock';
import { Migrator, TaskLease } from '@kiroku/persistence';
import { AlertNotification } from '../src/modules/alerts/alert-notification.entity';
import { Alert } from '../src/modules/alerts/alert.entity';
import { AuditEvent } from '../src/modules/audit/audit-event.entity';
import { MetricSample } from '../src/modules/metrics/metric-sample.entity';
import { RecordRetention } from '../src/modules/logs/record-retention';
import { openFreshDatabase, OpenDatabase } from './support/database';
import { describeEachEngine } from './support/engines';
import { testConfig } from './support/test-app';

const DAY = 24 * 3_600_000;
const NOW = Date.UTC(2026, 10, 29, 4, 23);

describeEachEngine('record retention', (engine) => {
  let open: OpenDatabase;
  beforeEach(async () => {
    open = await openFreshDatabase(engine);
    await new Migrator(open.db).run();
  });
  afterEach(() => open.close());

  it('deletes audit events past AUDIT_RETENTION_DAYS and finished task slots past 30 days, in batches, and nothing else', async () => {
    const event = (id: string, daysAgo: number): AuditEvent => ({ id, at: new Date(NOW - daysAgo * DAY), type: 'login.success', userId: null, actorId: null, ip: null, requestId: null, details: '{}' });
    await open.db.transaction((m) => m.insert(AuditEvent, [event('e-400', 400), event('e-366', 366), event('e-366b', 366), event('e-364', 364), event('e-0', 0)]));
    const slot = (taskId: string, daysAgo: number, finished: boolean): TaskLease => ({
      taskId, slot: `s-${daysAgo}`, holder: 'h', token: 't', claimedAt: new Date(NOW - daysAgo * DAY), expiresAt: new Date(NOW - daysAgo * DAY + 60_000),
      finishedAt: finished ? new Date(NOW - daysAgo * DAY + 1000) : null, outcome: finished ? 'succeeded' : null, attempts: 1,
    });
    await open.db.transaction((m) => m.insert(TaskLease, [slot('backup', 45, true), slot('backup', 31, true), slot('backup', 29, true), slot('backup-exclusive', 60, false)]));

    const config = testConfig();
    const retention = new RecordRetention(open.db, new FakeClock(NOW), config.log, config.metrics);
    expect(await retention.prune(2)).toMatchObject({ auditEvents: 3, taskSlots: 2 });
    expect((await open.db.manager.find(AuditEvent, { order: { id: 'ASC' } })).map((e) => e.id)).toEqual(['e-0', 'e-364']);
    expect((await open.db.manager.find(TaskLease, { order: { slot: 'ASC' } })).map((l) => `${l.taskId}/${l.slot}`)).toEqual(['backup/s-29', 'backup-exclusive/s-60']);
    expect(await retention.prune(2)).toMatchObject({ auditEvents: 0, taskSlots: 0 });
  });

  it('deletes metric samples past METRICS_HISTORY_DAYS (hour by hour) and resolved alerts past AUDIT_RETENTION_DAYS, with their notifications', async () => {
    const config = testConfig({ METRICS_HISTORY_DAYS: '8', AUDIT_RETENTION_DAYS: '365' });
    const sample = (instanceId: string, minutesAgo: number): MetricSample => ({
      instanceId, at: new Date(NOW - minutesAgo * 60_000), periodMs: 60_000, requests: 1, errors: 0, latencyP95Us: 900, cpuPermille: 10,
      rssBytes: 2 ** 33, heapUsedBytes: 1e8, loopLagP99Us: 20_000, diskDataPermille: 500, diskLogsPermille: null, logEmergency: 0,
    });
    // Ten days of history for two instances, one sample every 20 minutes.
    const samples: MetricSample[] = [];
    for (let m = 0; m < 10 * 24 * 60; m += 20) samples.push(sample('a', m), sample('b', m));
    for (let i = 0; i < samples.length; i += 200) await open.db.transaction((m) => m.insert(MetricSample, samples.slice(i, i + 200)));
    const alert = (id: string, resolvedDaysAgo: number | null): Alert => ({
      id, rule: 'disk-warning', subject: 'h:8888 data', severity: 'warning', status: resolvedDaysAgo === null ? 'firing' : 'resolved',
      openKey: resolvedDaysAgo === null ? `disk-warning|${id}` : null, summary: 's', pendingSince: new Date(NOW - 500 * DAY), firedAt: new Date(NOW - 500 * DAY),
      clearSince: null, resolvedAt: resolvedDaysAgo === null ? null : new Date(NOW - resolvedDaysAgo * DAY), lastNotifiedAt: null,
    });
    await open.db.transaction((m) => m.insert(Alert, [alert('old', 400), alert('recent', 10), alert('open', null)]));
    await open.db.transaction((m) => m.insert(AlertNotification, {
      id: 'n-old', alertId: 'old', kind: 'resolved', channel: 'webhook', status: 'sent', attempts: 1, createdAt: new Date(NOW - 400 * DAY),
      nextAttemptAt: new Date(NOW - 400 * DAY), claimedUntil: null, sentAt: new Date(NOW - 400 * DAY), lastError: null,
    }));

    const retention = new RecordRetention(open.db, new FakeClock(NOW), config.log, config.metrics);
    const result = await retention.prune();
    const cutoff = NOW - 8 * DAY;
    const expected = samples.filter((s) => s.at.getTime() < cutoff).length;
    expect(result).toMatchObject({ metricSamples: expected, alerts: 1 });
    const left = await open.db.manager.find(MetricSample, { order: { at: 'ASC' } });
    expect(left).toHaveLength(samples.length - expected);
    expect(left[0].at.getTime()).toBeGreaterThanOrEqual(cutoff);
    expect((await open.db.manager.find(Alert, { order: { id: 'ASC' } })).map((a) => a.id)).toEqual(['open', 'recent']);
    expect(await open.db.manager.count(AlertNotification)).toBe(0);
  });
});
