import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { MetricsConfig } from '@kiroku/config';
import { Database, INSTANCE_ID } from '@kiroku/persistence';
import { Machine } from '@kiroku/supervisor';
import { MetricSample } from './metric-sample.entity';
import { MetricsService } from './metrics.service';
import { summarizeWindows, WindowCounts } from './request-window';

/** One worker's figures since it last gave them (see MetricsSampler.ownFigures). */
interface WorkerFigures {
  window: WindowCounts;
  cpuUs: number;
  rssBytes: number;
  heapUsedBytes: number;
  loopLagP99Us: number;
}

/**
 * Every METRICS_SAMPLE_INTERVAL, this instance writes its own figures for the
 * period just ended into `metric_samples`: the console's charts and the alert
 * rules read them from there, for every replica, across restarts. A machine of
 * workers writes one row: its leader gathers every worker's figures (requests
 * and CPU add up, latency is the machine's p95, memory the sum, loop lag the
 * worst). A sample that cannot be written (database down) is kept in memory
 * (a day of them at most) and written with the next one that can: the
 * requests answered during an outage, and their errors, reach the charts and
 * the error-rate rule once the database is back.
 */
/** How much of an outage the samples kept in memory cover (beyond it, the oldest go). */
const UNWRITTEN_KEPT_MS = 24 * 60 * 60_000;

@Injectable()
export class MetricsSampler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  private timer?: NodeJS.Timeout;
  private lastSample = 0;
  private lastCpu!: NodeJS.CpuUsage;
  private inflight: Promise<unknown> = Promise.resolve();
  /** Samples not yet written, oldest first. */
  private unwritten: MetricSample[] = [];

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: MetricsConfig,
    private readonly metrics: MetricsService,
    private readonly machine: Machine,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.enabled) return;
    this.loopDelay.enable();
    this.lastSample = performance.now();
    this.lastCpu = process.cpuUsage();
    this.metrics.window.take(); // start-up requests (probes while migrating) belong to no period
    this.machine.answer('sample', () => this.ownFigures());
    if (!this.machine.leader) return;
    this.timer = setInterval(() => {
      this.inflight = this.sample().catch((error: Error) => this.logger.warn(`could not record a metrics sample: ${error.message}`));
    }, this.config.sampleIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.loopDelay.disable();
    await this.inflight;
  }

  /** This process's figures since it last gave them; starts its next period. */
  private ownFigures(): WorkerFigures {
    const cpu = process.cpuUsage();
    const cpuUs = cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system;
    this.lastCpu = cpu;
    const loopLagP99Us = Math.round((this.loopDelay.percentile(99) || 0) / 1000);
    this.loopDelay.reset();
    const memory = process.memoryUsage();
    return { window: this.metrics.window.takeCounts(), cpuUs, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, loopLagP99Us };
  }

  /** Records the period since the previous sample, for the whole machine; returns what it wrote. */
  async sample(): Promise<MetricSample> {
    // Elapsed time for the CPU share comes from the monotonic clock; the sample's timestamp from the injected one.
    const elapsed = performance.now();
    const periodMs = elapsed - this.lastSample;
    this.lastSample = elapsed;
    const now = this.clock.nowMs();
    const workers = await this.machine.gather<WorkerFigures>('sample');
    const { requests, errors, p95Us } = summarizeWindows(workers.map((w) => w.window));
    const sum = (pick: (w: WorkerFigures) => number) => workers.reduce((total, w) => total + pick(w), 0);
    const volumes = await this.metrics.volumes();
    const permille = (volume: string) => {
      const v = volumes.find((x) => x.volume === volume);
      return v ? Math.round(v.used * 1000) : null;
    };
    const sample: MetricSample = {
      instanceId: this.instanceId,
      at: new Date(now),
      periodMs: Math.round(periodMs),
      requests,
      errors,
      latencyP95Us: p95Us,
      cpuPermille: Math.round((sum((w) => w.cpuUs) / Math.max(1, periodMs * 1000)) * 1000),
      rssBytes: sum((w) => w.rssBytes),
      heapUsedBytes: sum((w) => w.heapUsedBytes),
      loopLagP99Us: Math.max(0, ...workers.map((w) => w.loopLagP99Us)),
      diskDataPermille: permille('data'),
      diskLogsPermille: permille('logs'),
      ...this.metrics.sampleContributions(),
    };
    const owed = [...this.unwritten, sample];
    try {
      await this.db.transaction((m) => m.insert(MetricSample, owed));
    } catch (error) {
      this.unwritten = owed.slice(-Math.ceil(UNWRITTEN_KEPT_MS / this.config.sampleIntervalMs));
      throw error;
    }
    if (this.unwritten.length) this.logger.log(`wrote ${this.unwritten.length} metrics sample(s) kept while the database could not take them`);
    this.unwritten = [];
    return sample;
  }
}
