import { FakeClock } from '@kiroku/clock';
import { Migrator, TaskLease } from '@kiroku/persistence';
import { AuditEvent } from '../src/modules/audit/audit-event.entity';
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

    const retention = new RecordRetention(open.db, new FakeClock(NOW), testConfig().log);
    expect(await retention.prune(2)).toEqual({ auditEvents: 3, taskSlots: 2 });
    expect((await open.db.manager.find(AuditEvent, { order: { id: 'ASC' } })).map((e) => e.id)).toEqual(['e-0', 'e-364']);
    expect((await open.db.manager.find(TaskLease, { order: { slot: 'ASC' } })).map((l) => `${l.taskId}/${l.slot}`)).toEqual(['backup/s-29', 'backup-exclusive/s-60']);
    expect(await retention.prune(2)).toEqual({ auditEvents: 0, taskSlots: 0 });
  });
});
