import { Injectable, OnModuleInit } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { Gauge } from 'prom-client';
import { guardedCollect, MetricsService } from '../metrics';
import { RULES } from './alert-rules';

/**
 * Alert figures on /metrics, read from the shared tables when scraped (so
 * every replica reports the same cluster-wide values: aggregate with max()).
 */
@Injectable()
export class AlertMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const db = this.db;
    const registers = [this.metrics.registry];
    const errors = this.metrics.collectErrors;
    const clock = this.clock;
    const day = () => clock.nowMs() - 86_400_000;
    new Gauge({
      name: 'kiroku_alerts',
      help: 'Open alerts by rule and state (pending or firing), across the deployment',
      labelNames: ['rule', 'state'],
      registers,
      collect: guardedCollect(errors, async (gauge) => {
        const rows = await db.select<{ rule: string; status: string; n: number | string }>(
          `SELECT rule, status, COUNT(*) AS n FROM alerts WHERE open_key IS NOT NULL GROUP BY rule, status`,
        );
        for (const rule of Object.keys(RULES))
          for (const state of ['pending', 'firing']) {
            gauge.set({ rule, state }, Number(rows.find((r) => r.rule === rule && r.status === state)?.n ?? 0));
          }
      }),
    });
    new Gauge({
      name: 'kiroku_alert_notifications',
      help: 'Alert notifications not delivered: pending (still retrying), failed (given up, created in the last 24 hours), by channel',
      labelNames: ['channel', 'state'],
      registers,
      collect: guardedCollect(errors, async (gauge) => {
        // Given-up notifications count for a day: long enough to be seen and alerted on, not for months.
        const rows = await db.select<{ channel: string; status: string; n: number | string }>(
          `SELECT channel, status, COUNT(*) AS n FROM alert_notifications WHERE status = 'pending' OR (status = 'failed' AND created_at > $1) GROUP BY channel, status`,
          [day()],
        );
        for (const channel of ['webhook', 'email'])
          for (const state of ['pending', 'failed']) {
            gauge.set({ channel, state }, Number(rows.find((r) => r.channel === channel && r.status === state)?.n ?? 0));
          }
      }),
    });
  }
}
