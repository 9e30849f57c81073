import { Inject, Injectable } from '@nestjs/common';
import { DatabaseConfig, LogConfig } from '@kiroku/config';
import { INSTANCE_ID } from '@kiroku/persistence';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { dirname, resolve } from 'node:path';
import { APP_VERSION } from '../../app-info';
import { BackupService } from '../backup';
import type { BackupStatusFigures } from '../backup/backup.service';
import { diskUsage } from '../health/disk.indicator';
import { LogSweeper } from '../logs/log-sweeper';

/**
 * The process's Prometheus metrics, on a registry of its own. Labels are
 * bounded: route patterns (`/notes/:id`), methods and status codes, never raw
 * paths or ids. Figures that live elsewhere (backups, disks, the log sweeper)
 * are read when scraped.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;

  constructor(
    backups: BackupService,
    sweeper: LogSweeper,
    database: DatabaseConfig,
    logs: LogConfig,
    @Inject(INSTANCE_ID) instanceId: string,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.requests = new Counter({ name: 'kiroku_http_requests_total', help: 'HTTP requests by method, route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.duration = new Histogram({
      name: 'kiroku_http_request_duration_seconds', help: 'HTTP request duration by method and route pattern', labelNames: ['method', 'route'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    new Gauge({ name: 'kiroku_instance_info', help: 'This instance: version and database engine', labelNames: ['version', 'engine', 'instance'], registers })
      .set({ version: APP_VERSION, engine: database.engine, instance: instanceId }, 1);

    // One catalog read per scrape, shared by the backup gauges (collected one after another).
    let status: { at: number; figures: Promise<BackupStatusFigures> } | undefined;
    const backupStatus = () => {
      if (!status || Date.now() - status.at > 1000) status = { at: Date.now(), figures: backups.status() };
      return status.figures;
    };
    const backupGauge = (name: string, help: string, pick: (s: BackupStatusFigures) => number | null) =>
      new Gauge({
        name, help, registers,
        collect: async function () {
          const value = pick(await backupStatus());
          if (value === null) this.reset();
          else this.set(value);
        },
      });
    const seconds = (d: Date | null) => (d ? d.getTime() / 1000 : null);
    backupGauge('kiroku_backup_last_success_timestamp_seconds', 'When the newest successful backup finished', (s) => seconds(s.lastSuccessAt));
    backupGauge('kiroku_backup_last_verified_timestamp_seconds', 'When a backup last passed verification', (s) => seconds(s.lastVerifiedAt));
    backupGauge('kiroku_backup_last_duration_seconds', 'Snapshot-to-stored time of the newest successful backup', (s) => (s.lastDurationMs === null ? null : s.lastDurationMs / 1000));
    backupGauge('kiroku_backup_last_size_bytes', 'Stored size of the newest successful backup', (s) => s.lastStoredBytes);
    backupGauge('kiroku_backup_failures', 'Failed backup runs in the catalog', (s) => s.failures);
    backupGauge('kiroku_backup_last_run_failed', '1 when the newest finished backup run failed', (s) => (s.lastRunFailed ? 1 : 0));

    const dirs = () => [
      ...(database.engine === 'sqlite' ? [['data', dirname(resolve(database.path))]] : []),
      ...(logs.dir ? [['logs', resolve(logs.dir)]] : []),
    ] as Array<[string, string]>;
    new Gauge({
      name: 'kiroku_disk_used_ratio', help: 'Share of the disk in use under the data and log folders', labelNames: ['volume'], registers,
      collect: async function () {
        for (const [volume, path] of dirs()) this.set({ volume }, (await diskUsage(path)).used);
      },
    });
    new Gauge({
      name: 'kiroku_disk_free_bytes', help: 'Free bytes on the disk under the data and log folders', labelNames: ['volume'], registers,
      collect: async function () {
        for (const [volume, path] of dirs()) this.set({ volume }, (await diskUsage(path)).freeBytes);
      },
    });
    new Gauge({
      name: 'kiroku_log_sweeper_emergency', help: '1 when the last log sweep found the log disk past ALERT_DISK_CRIT', registers,
      collect() {
        this.set(sweeper.lastReport?.emergency ? 1 : 0);
      },
    });
  }

  /**
   * One finished request; `route` is the matched pattern. Requests no route
   * answered (404s, refusals by middleware, whose only "route" is the
   * middleware's catch-all) count as `unmatched`.
   */
  observe(method: string, route: string | undefined, status: number, seconds: number): void {
    const r = route && route !== '/{*path}' ? route : 'unmatched';
    this.requests.inc({ method, route: r, status: String(status) });
    this.duration.observe({ method, route: r }, seconds);
  }
}
