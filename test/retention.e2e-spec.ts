import { NestFactory } from '@nestjs/core';
import { FakeClock } from '@kiroku/clock';
import { Database, deleteInBatches, RetentionRegistry, TaskLease } from '@kiroku/persistence';
import { TaskScheduler } from '@kiroku/scheduler';
import { CliModule } from '../src/cli/cli.module';
import { Alert, AlertNotification } from '../src/modules/alerts';
import { AuditEvent } from '../src/modules/audit';
import { AccountLink, LoginThrottle, Session, User } from '../src/modules/auth';
import { MetricSample } from '../src/modules/metrics';
import { Note } from '../src/modules/notes';
import { openFreshDatabase } from './support/database';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, testConfig, TestApp } from './support/test-app';

const DAY = 24 * 3_600_000;
const NOW = Date.UTC(2026, 10, 29, 4, 23);
const at = (daysAgo: number) => new Date(NOW - daysAgo * DAY);

describeEachEngine('retention: every module registers its pruner, one daily task runs them', (engine) => {
  let t: TestApp;
  const clock = new FakeClock(NOW);
  beforeAll(async () => {
    t = await startTestApp({ ...(await freshDatabase(engine)), AUDIT_RETENTION_DAYS: '365', METRICS_HISTORY_DAYS: '8', SESSION_IDLE_TIMEOUT: '2h' }, { clock });
  });
  afterAll(() => t.close());
  const db = () => t.app.get(Database);

  it('lists a pruner per kind of time-bounded record, each with the setting that decides its age', () => {
    const pruners = t.app
      .get(RetentionRegistry)
      .list()
      .map((p) => `${p.table}: ${p.setting}`);
    expect(pruners.sort()).toEqual([
      'account_links: 30 days after they expire (fixed)',
      'alerts: AUDIT_RETENTION_DAYS',
      'audit_events: AUDIT_RETENTION_DAYS',
      'login_throttles: 1 hour without a failure (fixed)',
      'metric_samples: METRICS_HISTORY_DAYS',
      'note_revisions: NOTE_REVISIONS_KEEP',
      'notes: 30 days in the trash (fixed)',
      'sessions: SESSION_ABSOLUTE_LIFETIME, SESSION_IDLE_TIMEOUT',
      'task_leases: 30 days (fixed)',
    ]);
  });

  it('deletes what is past retention in each table and keeps the rest, through the prune-records task', async () => {
    const m = db().manager;
    const user: User = {
      id: '00000000-0000-4000-8000-000000000001',
      email: 'ada@example.com',
      displayName: 'Ada',
      passwordHash: 'x',
      role: 'user',
      disabledAt: null,
      createdAt: at(500),
      updatedAt: at(500),
      passwordChangedAt: at(500),
      locale: null,
      timeZone: 'UTC',
      theme: 'system',
    };
    await db().transaction((x) => x.insert(User, user));
    const event = (id: string, daysAgo: number): AuditEvent => ({
      id,
      at: at(daysAgo),
      type: 'login.success',
      userId: null,
      actorId: null,
      ip: null,
      requestId: null,
      details: '{}',
    });
    await db().transaction((x) => x.insert(AuditEvent, [event('e-400', 400), event('e-366', 366), event('e-364', 364)]));
    const slot = (daysAgo: number, finished: boolean): TaskLease => ({
      taskId: 'backup',
      slot: `s-${daysAgo}`,
      holder: 'h',
      token: 't',
      claimedAt: at(daysAgo),
      expiresAt: new Date(at(daysAgo).getTime() + 60_000),
      finishedAt: finished ? at(daysAgo) : null,
      outcome: finished ? 'succeeded' : null,
      attempts: 1,
    });
    await db().transaction((x) => x.insert(TaskLease, [slot(45, true), slot(29, true), slot(60, false)]));
    const sample = (daysAgo: number): MetricSample => ({
      instanceId: 'i',
      at: at(daysAgo),
      periodMs: 60_000,
      requests: 1,
      errors: 0,
      latencyP95Us: 900,
      cpuPermille: 10,
      rssBytes: 1e8,
      heapUsedBytes: 1e7,
      loopLagP99Us: 100,
      diskDataPermille: 500,
      diskLogsPermille: null,
      logEmergency: 0,
    });
    await db().transaction((x) => x.insert(MetricSample, [sample(9), sample(8.5), sample(7)]));
    const alert = (id: string, resolvedDaysAgo: number | null): Alert => ({
      id,
      rule: 'disk-warning',
      subject: `h:8888 ${id}`,
      severity: 'warning',
      status: resolvedDaysAgo === null ? 'firing' : 'resolved',
      openKey: resolvedDaysAgo === null ? `disk-warning|${id}` : null,
      summary: 's',
      pendingSince: at(500),
      firedAt: at(500),
      clearSince: null,
      resolvedAt: resolvedDaysAgo === null ? null : at(resolvedDaysAgo),
      lastNotifiedAt: null,
    });
    await db().transaction((x) => x.insert(Alert, [alert('old', 400), alert('recent', 10), alert('open', null)]));
    await db().transaction((x) =>
      x.insert(AlertNotification, {
        id: 'n-old',
        alertId: 'old',
        kind: 'resolved',
        channel: 'webhook',
        status: 'sent',
        attempts: 1,
        createdAt: at(400),
        nextAttemptAt: at(400),
        claimedUntil: null,
        sentAt: at(400),
        lastError: null,
      }),
    );
    const session = (id: string, expiresInDays: number, idleHours: number): Session => ({
      idHash: id,
      userId: user.id,
      csrfToken: 'c',
      createdAt: at(1),
      lastSeenAt: new Date(NOW - idleHours * 3_600_000),
      expiresAt: at(-expiresInDays),
      ip: '',
      userAgent: '',
    });
    await db().transaction((x) => x.insert(Session, [session('expired', -1, 0), session('idle', 5, 3), session('live', 5, 1)]));
    await db().transaction((x) =>
      x.insert(LoginThrottle, [
        { key: 'ip:old', failures: 3, lockedUntil: null, updatedAt: new Date(NOW - 2 * 3_600_000) },
        { key: 'ip:new', failures: 3, lockedUntil: null, updatedAt: new Date(NOW - 10 * 60_000) },
      ]),
    );
    const note = (id: string, trashedDaysAgo: number | null): Note => ({
      id,
      ownerId: user.id,
      title: id,
      body: '',
      visibility: 'private',
      editableByTeam: false,
      pinned: false,
      createdAt: at(100),
      updatedAt: at(100),
      deletedAt: trashedDaysAgo === null ? null : at(trashedDaysAgo),
      tagNames: '',
      version: 1,
      updatedBy: user.id,
    });
    await db().transaction((x) => x.insert(Note, [note('trashed-31', 31), note('trashed-29', 29), note('kept', null)]));
    const link = (id: string, expiredDaysAgo: number): AccountLink => ({
      id,
      kind: 'invite',
      email: `${id}@example.com`,
      userId: null,
      createdBy: user.id,
      tokenHash: id.padEnd(64, '0'),
      createdAt: at(expiredDaysAgo + 7),
      expiresAt: at(expiredDaysAgo),
      usedAt: null,
      revokedAt: null,
    });
    await db().transaction((x) => x.insert(AccountLink, [link('expired-31', 31), link('expired-29', 29), link('pending', -1)]));

    expect(await t.app.get(TaskScheduler).runSlot('prune-records')).toBe('succeeded');

    const ids = async <T extends object>(entity: new () => T, key: keyof T) => (await m.find(entity)).map((r) => String(r[key])).sort();
    expect(await ids(AuditEvent, 'id')).toEqual(['e-364']);
    expect((await m.find(TaskLease, { where: { taskId: 'backup' } })).map((l) => l.slot).sort()).toEqual(['s-29', 's-60']);
    expect((await m.find(MetricSample)).map((s) => s.at.getTime())).toEqual([at(7).getTime()]);
    expect(await ids(Alert, 'id')).toEqual(['open', 'recent']);
    expect(await m.count(AlertNotification)).toBe(0);
    expect(await ids(Session, 'idHash')).toEqual(['live']);
    expect(await ids(LoginThrottle, 'key')).toEqual(['ip:new']);
    expect(await ids(Note, 'id')).toEqual(['kept', 'trashed-29']);
    expect(await ids(AccountLink, 'id')).toEqual(['expired-29', 'pending']);
    const line = t.logs.lines.find((l) => l.msg === 'records pruned');
    expect(line).toMatchObject({
      context: 'Retention',
      audit_events: 2,
      task_leases: 1,
      metric_samples: 2,
      alerts: 1,
      sessions: 2,
      login_throttles: 1,
      notes: 1,
    });
  });
});

describeEachEngine('deleteInBatches', (engine) => {
  it('deletes every matching row, a batch per statement, whatever the table key, and stops between batches once aborted', async () => {
    const open = await openFreshDatabase(engine);
    try {
      await open.db.dataSource.query('CREATE TABLE pairs (a varchar(10) NOT NULL, b integer NOT NULL, at bigint NOT NULL, PRIMARY KEY (a, b))');
      const rows = Array.from({ length: 23 }, (_, i) => `('k${i % 3}', ${i}, ${i < 17 ? 1 : 2})`).join(', ');
      await open.db.dataSource.query(`INSERT INTO pairs (a, b, at) VALUES ${rows}`);
      const statements: string[] = [];
      const logger = open.db.dataSource.logger;
      const spy = jest.spyOn(logger, 'logQuery').mockImplementation((query) => void (/^DELETE/i.test(query) && statements.push(query)));
      open.db.dataSource.setOptions({ logging: ['query'] });
      expect(await deleteInBatches(open.db, { table: 'pairs', where: 'at < :cutoff', params: { cutoff: 2 }, batch: 5 })).toBe(17);
      spy.mockRestore();
      expect(statements).toHaveLength(4); // 5 + 5 + 5 + 2
      expect(await open.db.dataSource.query('SELECT count(*) AS n FROM pairs')).toEqual([{ n: engine === 'sqlite' ? 6 : '6' }]);

      const aborted = new AbortController();
      aborted.abort();
      expect(await deleteInBatches(open.db, { table: 'pairs', where: 'at >= :cutoff', params: { cutoff: 0 }, signal: aborted.signal })).toBe(0);
      await expect(deleteInBatches(open.db, { table: 'pairs', where: '1 = 1', batch: 0 })).rejects.toThrow('batch must be a positive integer');
    } finally {
      await open.close();
    }
  });
});

describeEachEngine('kiroku logs prune', (engine) => {
  it('runs the same pruners as the serving app (its context loads every module that owns records)', async () => {
    const env = await freshDatabase(engine);
    const app = await startTestApp(env);
    const cli = await NestFactory.createApplicationContext(
      CliModule.forRoot({ config: testConfig(env), instanceId: 'cli-test', connectAttempts: 1 }, { everyRecordOwner: true }),
      { logger: false },
    );
    try {
      const names = (ctx: { get(t: typeof RetentionRegistry): RetentionRegistry }) =>
        ctx
          .get(RetentionRegistry)
          .list()
          .map((p) => p.name)
          .sort();
      expect(names(cli)).toEqual(names(app.app));
    } finally {
      await cli.close();
      await app.close();
    }
  });
});
