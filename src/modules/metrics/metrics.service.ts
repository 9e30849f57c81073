import { Inject, Injectable } from '@nestjs/common';
import { DatabaseConfig, LogConfig } from '@kiroku/config';
import { Database, INSTANCE_ID } from '@kiroku/persistence';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { resolve } from 'node:path';
import { APP_VERSION } from '../../app-info';
import { BackupService } from '../backup';
import type { BackupStatusFigures } from '../backup/backup.service';
import { dataFolder, diskUsage } from '../health/disk.indicator';
import { LogSweeper } from '../logs/log-sweeper';
import { RequestWindow } from './request-window';

/**
 * The collect function of a gauge whose figures come from elsewhere (the
 * database, the disk): when reading fails, the gauge is left out of this
 * scrape and the failure counted, instead of failing the whole scrape —
 * /metrics must still answer while the database is down, or every monitor
 * would call the instance itself down.
 */
export function guardedCollect(errors: Counter, read: (gauge: Gauge) => Promise<void>): (this: Gauge) => Promise<void> {
  return async function (this: Gauge) {
    try {
      await read(this);
    } catch {
      this.reset();
      errors.inc();
    }
  };
}

/**
 * `read`'s result, shared by the gauges of one scrape (prom-client collects
 * them one after another): one catalog read or one statfs per scrape, not one
 * per gauge.
 */
function perScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > 1000) cached = { at: Date.now(), value: read() };
    return cached.value;
  };
}

/**
 * The process's Prometheus metrics, on a registry of its own. Labels are
 * bounded: route patterns (`/notes/:id`), methods and status codes, never raw
 * paths or ids. Figures that live elsewhere (backups, disks, the log sweeper)
 * are read when scraped.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  /** Requests since the last history sample (see MetricsSampler). */
  readonly window = new RequestWindow();
  /** Gauges that could not be read at a scrape (see guardedCollect). */
  readonly collectErrors: Counter;
  private readonly dirs: ReadonlyArray<readonly [volume: 'data' | 'logs', path: string]>;
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;

  constructor(
    backups: BackupService,
    sweeper: LogSweeper,
    database: DatabaseConfig,
    logs: LogConfig,
    db: Database,
    @Inject(INSTANCE_ID) instanceId: string,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.collectErrors = new Counter({ name: 'kiroku_metrics_collect_errors_total', help: 'Figures that could not be read at a scrape (database or disk unavailable)', registers: [this.registry] });
    const errors = this.collectErrors;
    // prom-client's totals of active handles/requests/resources are gauges named like counters, which
    // `promtool check metrics` rejects; the same figures are there by type (nodejs_active_handles{type}).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    const registers = [this.registry];
    this.requests = new Counter({ name: 'kiroku_http_requests_total', help: 'HTTP requests by method, route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.duration = new Histogram({
      name: 'kiroku_http_request_duration_seconds', help: 'HTTP request duration by method and route pattern', labelNames: ['method', 'route'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    new Gauge({ name: 'kiroku_instance_info', help: 'This instance: version and database engine', labelNames: ['version', 'engine', 'instance'], registers })
      .set({ version: APP_VERSION, engine: database.engine, instance: instanceId }, 1);

    const backupStatus = perScrape(() => backups.status());
    // Labelled by destination so that "no value" (no backup yet, or the catalog unreadable) is an absent
    // series: prom-client prints an unlabelled gauge as 0 even after reset(), and a last-success time of 0
    // would read as "56 years old".
    const destination = { destination: backups.destination.kind };
    const backupGauge = (name: string, help: string, pick: (s: BackupStatusFigures) => number | null) =>
      new Gauge({
        name, help, labelNames: ['destination'], registers,
        collect: guardedCollect(errors, async (gauge) => {
          const value = pick(await backupStatus());
          if (value === null) gauge.reset();
          else gauge.set(destination, value);
        }),
      });
    const seconds = (d: Date | null) => (d ? d.getTime() / 1000 : null);
    backupGauge('kiroku_backup_last_success_timestamp_seconds', 'When the newest successful backup finished', (s) => seconds(s.lastSuccessAt));
    backupGauge('kiroku_backup_last_verified_timestamp_seconds', 'When a backup last passed verification', (s) => seconds(s.lastVerifiedAt));
    backupGauge('kiroku_backup_last_duration_seconds', 'Snapshot-to-stored time of the newest successful backup', (s) => (s.lastDurationMs === null ? null : s.lastDurationMs / 1000));
    backupGauge('kiroku_backup_last_size_bytes', 'Stored size of the newest successful backup', (s) => s.lastStoredBytes);
    backupGauge('kiroku_backup_failures', 'Failed backup runs in the catalog', (s) => s.failures);
    backupGauge('kiroku_backup_last_run_failed', '1 when the newest finished backup run failed', (s) => (s.lastRunFailed ? 1 : 0));

    const data = dataFolder(database);
    this.dirs = [
      ...(data ? [['data', data] as const] : []),
      ...(logs.dir ? [['logs', resolve(logs.dir)] as const] : []),
    ];
    const volumes = perScrape(() => this.volumes());
    new Gauge({
      name: 'kiroku_disk_used_ratio', help: 'Share of the disk in use under the data and log folders', labelNames: ['volume'], registers,
      collect: guardedCollect(errors, async (gauge) => {
        for (const v of await volumes()) gauge.set({ volume: v.volume }, v.used);
      }),
    });
    new Gauge({
      name: 'kiroku_disk_free_bytes', help: 'Free bytes on the disk under the data and log folders', labelNames: ['volume'], registers,
      collect: guardedCollect(errors, async (gauge) => {
        for (const v of await volumes()) gauge.set({ volume: v.volume }, v.freeBytes);
      }),
    });
    new Gauge({
      name: 'kiroku_db_pool_connections', help: 'PostgreSQL pool connections of this instance, by state (none on SQLite)', labelNames: ['state'], registers,
      collect() {
        const pool = db.poolStats();
        if (!pool) return;
        this.set({ state: 'open' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
    new Gauge({
      name: 'kiroku_sqlite_wal_pages', help: 'SQLite write-ahead log at the last checkpoint: pages in it, and pages not yet copied into the database file (none on PostgreSQL)', labelNames: ['state'], registers,
      collect() {
        const wal = db.checkpointStats();
        if (!wal) return;
        this.set({ state: 'written' }, wal.walPages);
        this.set({ state: 'not_checkpointed' }, wal.lagPages);
      },
    });
    let countedErrors = 0;
    new Counter({
      name: 'kiroku_db_query_errors_total', help: 'Database statements that failed', registers,
      collect() {
        const now = db.queryErrors;
        this.inc(now - countedErrors);
        countedErrors = now;
      },
    });
    new Gauge({
      name: 'kiroku_log_sweeper_last_run_timestamp_seconds', help: 'When this instance last swept its log folder', registers,
      collect() {
        if (sweeper.lastSweptAt) this.set(sweeper.lastSweptAt.getTime() / 1000);
      },
    });
    new Gauge({
      name: 'kiroku_log_sweeper_files', help: 'What the last log sweep did, by action', labelNames: ['action'], registers,
      collect() {
        const report = sweeper.lastReport;
        if (!report) return;
        this.set({ action: 'compressed' }, report.compressed.length);
        this.set({ action: 'archived' }, report.archived.length);
        this.set({ action: 'deleted' }, report.deleted.length);
        this.set({ action: 'emergency_deleted' }, report.emergencyDeleted.length);
      },
    });
    new Gauge({
      name: 'kiroku_log_sweeper_problems', help: 'Problems the last log sweep reported (files it could not compress, archive or delete)', registers,
      collect() {
        if (sweeper.lastReport) this.set(sweeper.lastReport.problems.length);
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
    // Probes and scrapes are not traffic: they would fill ALERT_ERROR_MIN_REQUESTS on their own, and a
    // readiness 503 while draining or during an outage is not a server error of a user's request.
    if (!r.startsWith('/health/') && r !== '/metrics') this.window.record(status, seconds);
  }

  /** Disk use under the SQLite data folder (not on PostgreSQL: that disk is the server's) and LOG_DIR. */
  async volumes(): Promise<Array<{ volume: 'data' | 'logs'; used: number; freeBytes: number }>> {
    return Promise.all(this.dirs.map(async ([volume, path]) => ({ volume, ...(await diskUsage(path)) })));
  }
}
