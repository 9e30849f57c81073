import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { AlertConfig } from '@kiroku/config';
import { Database } from '@kiroku/persistence';
import { EntityManager, IsNull, LessThanOrEqual, Not } from 'typeorm';
import { AlertNotification, Channel } from './alert-notification.entity';
import { Alert } from './alert.entity';
import { AlertRules, Condition } from './alert-rules';
import { AlertState, step } from './alert-state';
import { headline, Notifiers } from './notifiers';

/** An arbitrary constant: the transaction-scoped advisory lock evaluations take on PostgreSQL. */
const ALERTS_LOCK_KEY = 4_710_720_011;
/** A delivery holds its row this long; a process that dies mid-send frees it for the next evaluation after that. */
const CLAIM_MS = 2 * 60_000;
/** Deliveries per tick: a backlog drains over a few ticks rather than holding one for long. */
const DELIVERY_BATCH = 50;
/** Column sizes of `alerts.subject` and `alerts.summary`: longer texts (a backup error, a long host name) are cut, never refused. */
const SUBJECT_MAX = 200;
const SUMMARY_MAX = 500;
/** Rules whose subject is one instance (`host:port`, or `host:port volume`). */
const PER_INSTANCE_RULES = new Set(['disk-warning', 'disk-critical', 'log-emergency']);

const toState = (a: Alert): AlertState => ({
  status: a.status,
  pendingSince: a.pendingSince.getTime(),
  firedAt: a.firedAt?.getTime() ?? null,
  clearSince: a.clearSince?.getTime() ?? null,
  resolvedAt: a.resolvedAt?.getTime() ?? null,
  lastNotifiedAt: a.lastNotifiedAt?.getTime() ?? null,
});
const date = (ms: number | null) => (ms === null ? null : new Date(ms));
const fromState = (s: AlertState) => ({
  status: s.status,
  pendingSince: new Date(s.pendingSince),
  firedAt: date(s.firedAt),
  clearSince: date(s.clearSince),
  resolvedAt: date(s.resolvedAt),
  lastNotifiedAt: date(s.lastNotifiedAt),
});

/**
 * Runs the rules, moves each alert through its states (see alert-state.ts)
 * and writes the notifications it calls for into the outbox in the same
 * transaction, then delivers what is due. Evaluations are serialised (an
 * advisory lock on PostgreSQL, the write queue on SQLite), and an open alert
 * is unique per rule and subject in the schema, so replicas never fire the
 * same alert twice.
 */
@Injectable()
export class AlertEvaluator {
  private readonly logger = new Logger('Alerts');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: AlertConfig,
    private readonly rules: AlertRules,
    private readonly notifiers: Notifiers,
  ) {}

  /** One evaluation and delivery round (the scheduled task's body); the heartbeat only after an evaluation that worked. */
  async tick(signal?: AbortSignal): Promise<void> {
    await this.evaluate();
    await this.heartbeat(signal);
    await this.deliver(signal);
  }

  /**
   * The dead man's switch: a GET to ALERT_HEARTBEAT_URL, sent only when the rules were just evaluated. A push monitor
   * outside (Uptime Kuma's push monitor, Healthchecks) alerts when the pings stop: the database down, every instance
   * gone, the scheduler stuck — the outages Kiroku cannot report itself. A ping that fails is logged, and the tick
   * goes on to deliver notifications: the monitor sees the gap.
   */
  private async heartbeat(signal?: AbortSignal): Promise<void> {
    const url = this.config.heartbeatUrl;
    if (!url) return;
    const timeout = AbortSignal.timeout(10_000);
    try {
      const res = await fetch(url, { method: 'GET', signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'follow' });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) this.logger.warn(`alert heartbeat: the push monitor answered ${res.status}`);
    } catch (error) {
      this.logger.warn(`alert heartbeat: not delivered (${(error as Error).name === 'TimeoutError' ? 'no answer in 10 s' : (error as Error).message})`);
    }
  }

  /** Applies the rules once; returns the notifications it queued, by alert. */
  async evaluate(): Promise<Array<{ alert: Alert; kind: string }>> {
    const conditions = await this.rules.conditions();
    const timing = { pendingMs: this.config.pendingMs, recoveryMs: this.config.recoveryMs, reminderMs: this.config.reminderMs };
    const channels = this.notifiers.channels();
    const queued: Array<{ alert: Alert; kind: string }> = [];
    await this.db.transaction(async (m) => {
      if (this.db.engine === 'postgres') {
        // Another replica evaluating right now: this tick has nothing to add. Never queue behind a holder that may hang.
        const [{ locked }] = await m.query<Array<{ locked: boolean }>>('SELECT pg_try_advisory_xact_lock($1) AS locked', [ALERTS_LOCK_KEY]);
        if (!locked) return;
      }
      const now = this.clock.nowMs();
      const open = new Map((await m.find(Alert, { where: { openKey: Not(IsNull()) } })).map((a) => [a.openKey!, a]));
      const verdicts = new Map(
        conditions
          .map((c) => ({ ...c, subject: c.subject.slice(0, SUBJECT_MAX), summary: c.summary.slice(0, SUMMARY_MAX) }))
          .map((c) => [`${c.rule}|${c.subject}`, c]),
      );
      // An open alert whose subject the rules no longer see is clear (a stopped or forgotten instance), unless
      // its instance is down: a disk alert of an instance that stopped answering is not resolved by its silence.
      const down = new Set(conditions.filter((c) => c.rule === 'instance-down' && c.holds).map((c) => c.subject));
      for (const [key, a] of open) {
        if (verdicts.has(key)) continue;
        if (PER_INSTANCE_RULES.has(a.rule) && down.has(a.subject.split(' ')[0])) continue;
        verdicts.set(key, { rule: a.rule as Condition['rule'], subject: a.subject, severity: a.severity, holds: false, summary: a.summary });
      }

      for (const [key, c] of verdicts) {
        const current = open.get(key);
        const { next, notify } = step(current ? toState(current) : null, c.holds, now, timing);
        let alert: Alert | undefined;
        if (!next) {
          if (current) await m.delete(Alert, { id: current.id }); // pending, never fired: forgotten
          continue;
        }
        if (!current) {
          alert = { id: randomUUID(), rule: c.rule, subject: c.subject, severity: c.severity, openKey: key, summary: c.summary, ...fromState(next) };
          await m.insert(Alert, alert);
        } else {
          const summary = c.holds ? c.summary : current.summary; // a resolved alert keeps the description of the problem
          alert = { ...current, ...fromState(next), summary, openKey: next.status === 'resolved' ? null : key };
          if (JSON.stringify(toState(current)) !== JSON.stringify(next) || summary !== current.summary) {
            await m.update(Alert, { id: current.id }, { ...fromState(next), summary, openKey: alert.openKey });
          }
        }
        if (!notify) continue;
        queued.push({ alert, kind: notify });
        const line = { msg: headline({ kind: notify, alert }), alert: alert.id, rule: alert.rule, subject: alert.subject, summary: alert.summary };
        if (notify === 'resolved') this.logger.log(line);
        else this.logger.warn(line);
        for (const channel of channels) await m.insert(AlertNotification, this.notification(alert.id, notify, channel, now));
      }
    });
    return queued;
  }

  private notification(alertId: string, kind: AlertNotification['kind'], channel: Channel, now: number): AlertNotification {
    return {
      id: randomUUID(),
      alertId,
      kind,
      channel,
      status: 'pending',
      attempts: 0,
      createdAt: new Date(now),
      nextAttemptAt: new Date(now),
      claimedUntil: null,
      sentAt: null,
      lastError: null,
    };
  }

  /**
   * Sends the notifications that are due. Each is claimed first (a row-level
   * lease), so two instances never send the same one at once; a failure is
   * retried with exponential backoff (ALERT_NOTIFY_BACKOFF, doubling) until
   * ALERT_NOTIFY_ATTEMPTS, then marked failed — visible in the console and
   * the metrics. A process that dies between sending and recording may send
   * one notification twice; it never loses one.
   */
  async deliver(signal?: AbortSignal): Promise<{ sent: number; failed: number }> {
    const result = { sent: 0, failed: 0 };
    const configured = new Set(this.notifiers.channels());
    const due = await this.db.manager.find(AlertNotification, {
      where: { status: 'pending', nextAttemptAt: LessThanOrEqual(this.clock.now()) },
      order: { createdAt: 'ASC' },
      take: DELIVERY_BATCH,
    });
    // A channel that failed once in this round is not tried again until the next: a webhook that times out
    // must not hold up the e-mails, nor spend the round's time on one message after another.
    const failing = new Set<Channel>();
    for (const due1 of due) {
      if (signal?.aborted) break;
      // Channels this instance is not configured for (a settings roll-out in progress) are left to another.
      if (failing.has(due1.channel) || !configured.has(due1.channel)) continue;
      const n = await this.claim(due1.id);
      if (!n) continue;
      const alert = await this.db.manager.findOneBy(Alert, { id: n.alertId });
      if (!alert) continue;
      const attempts = n.attempts + 1;
      let error: Error | null = null;
      try {
        await this.notifiers.send(n.channel, { kind: n.kind, alert });
      } catch (e) {
        error = e as Error;
      }
      if (!error) {
        await this.db.transaction((m) =>
          m.update(AlertNotification, { id: n.id }, { status: 'sent', attempts, sentAt: this.clock.now(), claimedUntil: null, lastError: null }),
        );
        result.sent++;
        continue;
      }
      failing.add(n.channel);
      const gaveUp = attempts >= this.config.notifyAttempts;
      const message = error.message.slice(0, 500);
      await this.db.transaction((m) =>
        m.update(
          AlertNotification,
          { id: n.id },
          {
            status: gaveUp ? 'failed' : 'pending',
            attempts,
            lastError: message,
            claimedUntil: null,
            nextAttemptAt: new Date(this.clock.nowMs() + this.config.notifyBackoffMs * 2 ** (attempts - 1)),
          },
        ),
      );
      this.logger.error({
        msg: `${n.channel} notification ${gaveUp ? 'failed for good' : 'failed, will retry'}: ${message}`,
        alert: alert.id,
        kind: n.kind,
        attempts,
      });
      if (gaveUp) result.failed++;
    }
    return result;
  }

  /**
   * Takes a due notification for this instance, or null: it must still be
   * pending and due, not held by another instance's unexpired claim, and the
   * oldest undelivered one of its alert on its channel — notices of one alert
   * go out in order (never a "resolved" before its "firing"). Returns the row
   * as it is now (attempts counted by whoever tried before).
   */
  private async claim(id: string): Promise<AlertNotification | null> {
    const now = this.clock.nowMs();
    const result = await this.db.transaction((m: EntityManager) =>
      m
        .createQueryBuilder()
        .update(AlertNotification)
        .set({ claimedUntil: new Date(now + CLAIM_MS) })
        .where(
          `id = :id AND status = :status AND next_attempt_at <= :now AND (claimed_until IS NULL OR claimed_until < :now)
        AND NOT EXISTS (SELECT 1 FROM alert_notifications o WHERE o.alert_id = alert_notifications.alert_id AND o.channel = alert_notifications.channel
          AND o.status = :status AND (o.created_at < alert_notifications.created_at OR (o.created_at = alert_notifications.created_at AND o.id < alert_notifications.id)))`,
          { id, status: 'pending', now },
        )
        .execute(),
    );
    if (result.affected !== 1) return null;
    return this.db.manager.findOneBy(AlertNotification, { id });
  }

  /** Open (pending and firing) alerts, most severe and oldest first. */
  async open(): Promise<Alert[]> {
    const alerts = await this.db.manager.find(Alert, { where: { openKey: Not(IsNull()) }, order: { pendingSince: 'ASC' } });
    return alerts.sort(
      (a, b) => Number(b.status === 'firing') - Number(a.status === 'firing') || Number(b.severity === 'critical') - Number(a.severity === 'critical'),
    );
  }

  /** The newest alerts, resolved ones included, with their notifications. */
  async history(limit = 100): Promise<Array<Alert & { notifications: AlertNotification[] }>> {
    const alerts = await this.db.manager.find(Alert, { where: { status: Not('pending') }, order: { pendingSince: 'DESC' }, take: limit });
    const notifications = alerts.length
      ? await this.db.manager.find(AlertNotification, { where: alerts.map((a) => ({ alertId: a.id })), order: { createdAt: 'ASC' } })
      : [];
    return alerts.map((a) => ({ ...a, notifications: notifications.filter((n) => n.alertId === a.id) }));
  }

  /** Notifications that gave up or are still retrying after a failure: a broken channel must be seen. */
  async undelivered(): Promise<AlertNotification[]> {
    return this.db.manager.find(AlertNotification, {
      where: [{ status: 'failed' }, { status: 'pending', attempts: Not(0) }],
      order: { createdAt: 'DESC' },
      take: 20,
    });
  }
}
