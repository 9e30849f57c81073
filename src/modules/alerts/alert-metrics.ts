import { Injectable, OnModuleInit } from '@nestjs/common';
import { Database } from '@kiroku/persistence';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
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
  ) {}

  onModuleInit(): void {
    const db = this.db;
    const registers = [this.metrics.registry];
    new Gauge({
      name: 'kiroku_alerts', help: 'Open alerts by rule and state (pending or firing), across the deployment', labelNames: ['rule', 'state'], registers,
      async collect() {
        const rows = await db.select<{ rule: string; status: string; n: number | string }>(
          `SELECT rule, status, COUNT(*) AS n FROM alerts WHERE open_key IS NOT NULL GROUP BY rule, status`);
        for (const rule of Object.keys(RULES)) for (const state of ['pending', 'firing']) {
          this.set({ rule, state }, Number(rows.find((r) => r.rule === rule && r.status === state)?.n ?? 0));
        }
      },
    });
    new Gauge({
      name: 'kiroku_alert_notifications', help: 'Alert notifications not delivered yet, by channel and state (pending, failed)', labelNames: ['channel', 'state'], registers,
      async collect() {
        const rows = await db.select<{ channel: string; status: string; n: number | string }>(
          `SELECT channel, status, COUNT(*) AS n FROM alert_notifications WHERE status <> 'sent' GROUP BY channel, status`);
        for (const channel of ['webhook', 'email']) for (const state of ['pending', 'failed']) {
          this.set({ channel, state }, Number(rows.find((r) => r.channel === channel && r.status === state)?.n ?? 0));
        }
      },
    });
  }
}
