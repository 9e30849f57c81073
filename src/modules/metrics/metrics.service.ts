import { resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { APP_VERSION, DatabaseConfig, LogConfig } from '@kiroku/config';
import { Database, INSTANCE_ID } from '@kiroku/persistence';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, GaugeConfiguration, Histogram, Registry } from 'prom-client';
import { Machine, SingleProcess } from '@kiroku/supervisor';
import { guardedCollect, perScrape } from './collect';
import { dataFolder, diskUsage } from './disk';
import type { MetricSample } from './metric-sample.entity';
import { RequestWindow } from './request-window';

/** Columns of a history sample that another module supplies (see MetricsService.contributeToSamples). */
export type SampleFigures = Pick<MetricSample, 'logEmergency'>;

/**
 * The process's Prometheus metrics, on a registry of its own. Labels are
 * bounded: route patterns (`/notes/:id`), methods and status codes, never raw
 * paths or ids. This service owns the request, process, disk and database
 * figures; a module with figures of its own (backups, the log sweeper,
 * alerts) registers its gauges here (`gauge`, `guarded`) and imports
 * nothing of this module but its door.
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
  private readonly sampleFigures: Array<() => Partial<SampleFigures>> = [];

  constructor(
    database: DatabaseConfig,
    logs: LogConfig,
    db: Database,
    @Inject(INSTANCE_ID) instanceId: string,
    private readonly machine: Machine,
  ) {
    collectDefaultMetrics({ register: this.registry });
    // A scrape reaches one worker of a machine; that worker gathers every worker's figures (see exposition).
    machine.answer('metrics', () => this.registry.getMetricsAsJSON());
    this.collectErrors = new Counter({
      name: 'kiroku_metrics_collect_errors_total',
      help: 'Figures that could not be read at a scrape (database or disk unavailable)',
      registers: [this.registry],
    });
    const errors = this.collectErrors;
    // prom-client's totals of active handles/requests/resources are gauges named like counters, which
    // `promtool check metrics` rejects; the same figures are there by type (nodejs_active_handles{type}).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'kiroku_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'kiroku_http_request_duration_seconds',
      help: 'HTTP request duration by method and route pattern',
      labelNames: ['method', 'route'],
      registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    new Gauge({
      name: 'kiroku_instance_info',
      help: 'This instance: version and database engine',
      labelNames: ['version', 'engine', 'instance'],
      registers,
      aggregator: 'first',
    }).set({ version: APP_VERSION, engine: database.engine, instance: instanceId }, 1);
    new Gauge({
      name: 'kiroku_workers',
      help: 'Worker processes whose figures this scrape holds (WEB_CONCURRENCY when all answered)',
      registers,
      aggregator: 'sum',
    }).set(1);

    const data = dataFolder(database);
    this.dirs = [...(data ? [['data', data] as const] : []), ...(logs.dir ? [['logs', resolve(logs.dir)] as const] : [])];
    const volumes = perScrape(() => this.volumes());
    new Gauge({
      name: 'kiroku_disk_used_ratio',
      help: 'Share of the disk in use under the data and log folders',
      labelNames: ['volume'],
      registers,
      aggregator: 'max',
      collect: guardedCollect(errors, async (gauge) => {
        for (const v of await volumes()) gauge.set({ volume: v.volume }, v.used);
      }),
    });
    new Gauge({
      name: 'kiroku_disk_free_bytes',
      help: 'Free bytes on the disk under the data and log folders',
      labelNames: ['volume'],
      registers,
      aggregator: 'min',
      collect: guardedCollect(errors, async (gauge) => {
        for (const v of await volumes()) gauge.set({ volume: v.volume }, v.freeBytes);
      }),
    });
    new Gauge({
      name: 'kiroku_db_pool_connections',
      help: 'PostgreSQL pool connections of this instance, by state (none on SQLite)',
      labelNames: ['state'],
      registers,
      collect() {
        const pool = db.poolStats();
        if (!pool) return;
        this.set({ state: 'open' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
    new Gauge({
      name: 'kiroku_sqlite_wal_pages',
      help: 'SQLite write-ahead log at the last checkpoint: pages in it, and pages not yet copied into the database file (none on PostgreSQL)',
      labelNames: ['state'],
      registers,
      // Only the machine's leader runs the checkpointer.
      aggregator: 'max',
      collect() {
        const wal = db.checkpointStats();
        if (!wal) return;
        this.set({ state: 'written' }, wal.walPages);
        this.set({ state: 'not_checkpointed' }, wal.lagPages);
      },
    });
    let countedErrors = 0;
    new Counter({
      name: 'kiroku_db_query_errors_total',
      help: 'Database statements that failed',
      registers,
      collect() {
        const now = db.queryErrors;
        this.inc(now - countedErrors);
        countedErrors = now;
      },
    });
  }

  /**
   * A gauge on this registry; its `collect` runs at each scrape. Of a
   * machine's workers, the first one's value is shown unless `aggregator`
   * says otherwise: modules' figures are read from the database, the same for
   * every worker, and must not add up.
   */
  gauge<T extends string>(config: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T> {
    return new Gauge<T>({ aggregator: 'first', ...config, registers: [this.registry] });
  }

  /**
   * The text of a scrape: this process's registry, or, on a machine of
   * workers, every worker's figures taken together (counters and histograms
   * add up; see each gauge's aggregator). A worker that does not answer
   * within the gather's timeout is left out, and kiroku_workers says so.
   */
  async exposition(): Promise<string> {
    if (this.machine instanceof SingleProcess) return this.registry.metrics();
    const parts = await this.machine.gather<Awaited<ReturnType<Registry['getMetricsAsJSON']>>>('metrics');
    if (parts.length === 0) return this.registry.metrics();
    return AggregatorRegistry.aggregate(parts).metrics();
  }

  /**
   * A collect function for figures read from elsewhere (the database, a
   * destination): a failed read leaves the gauge out of this scrape and
   * counts in kiroku_metrics_collect_errors_total instead of failing it.
   */
  guarded<T extends string>(read: (gauge: Gauge<T>) => Promise<void>): (this: Gauge<T>) => Promise<void> {
    return guardedCollect(this.collectErrors, read);
  }

  /** A module's figures for each history sample (metric_samples), read when the sample is taken. */
  contributeToSamples(read: () => Partial<SampleFigures>): void {
    this.sampleFigures.push(read);
  }

  /** What the contributors report now; absent figures are 0. */
  sampleContributions(): SampleFigures {
    const figures: SampleFigures = { logEmergency: 0 };
    for (const read of this.sampleFigures) Object.assign(figures, read());
    return figures;
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
