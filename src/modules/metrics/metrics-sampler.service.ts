import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { MetricsConfig } from '@kiroku/config';
import { Database, INSTANCE_ID } from '@kiroku/persistence';
import { MetricSample } from './metric-sample.entity';
import { MetricsService } from './metrics.service';

/**
 * Every METRICS_SAMPLE_INTERVAL, this instance writes its own figures for the
 * period just ended into `metric_samples`: the console's charts and the alert
 * rules read them from there, for every replica, across restarts. A sample
 * that cannot be written (database down) is dropped, not retried: the next
 * period has its own.
 */
@Injectable()
export class MetricsSampler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  private timer?: NodeJS.Timeout;
  private last!: { at: number; cpu: NodeJS.CpuUsage };
  private inflight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: MetricsConfig,
    private readonly metrics: MetricsService,
    @Inject(INSTANCE_ID) private readonly instanceId: string,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.enabled) return;
    this.loopDelay.enable();
    this.last = { at: performance.now(), cpu: process.cpuUsage() };
    this.metrics.window.take(); // start-up requests (probes while migrating) belong to no period
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

  /** Records the period since the previous sample; returns what it wrote. */
  async sample(): Promise<MetricSample> {
    // Elapsed time for the CPU share comes from the monotonic clock; the sample's timestamp from the injected one.
    const elapsed = performance.now();
    const cpu = process.cpuUsage();
    const periodMs = elapsed - this.last.at;
    const cpuUs = cpu.user - this.last.cpu.user + cpu.system - this.last.cpu.system;
    this.last = { at: elapsed, cpu };
    const now = this.clock.nowMs();
    const { requests, errors, p95Us } = this.metrics.window.take();
    const lagUs = Math.round((this.loopDelay.percentile(99) || 0) / 1000);
    this.loopDelay.reset();
    const memory = process.memoryUsage();
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
      cpuPermille: Math.round((cpuUs / Math.max(1, periodMs * 1000)) * 1000),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      loopLagP99Us: lagUs,
      diskDataPermille: permille('data'),
      diskLogsPermille: permille('logs'),
      ...this.metrics.sampleContributions(),
    };
    await this.db.transaction((m) => m.insert(MetricSample, sample));
    return sample;
  }
}
