import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';

/** Lag above this for a whole probe window means the process cannot serve. */
const MAX_LAG_MS = 2000;

/** Liveness from the process alone: if this answers and the loop is not stalled, the process can serve. */
@Injectable()
export class EventLoopIndicator implements OnModuleDestroy {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private previousWindowP99 = 0;
  /** Windows of 10 s; a probe sees the last full window and the current one, whatever other callers do. */
  private readonly window = setInterval(() => {
    this.previousWindowP99 = this.histogram.percentile(99) / 1e6;
    this.histogram.reset();
  }, 10_000);

  constructor(private readonly health: HealthIndicatorService) {
    this.histogram.enable();
    this.window.unref();
  }

  check() {
    const check = this.health.check('eventLoop');
    const p99 = Math.max(this.previousWindowP99, this.histogram.percentile(99) / 1e6);
    const lag = { p99LagMs: Math.round(p99) };
    return p99 > MAX_LAG_MS ? check.down({ ...lag, message: 'event loop stalled' }) : check.up(lag);
  }

  onModuleDestroy(): void {
    clearInterval(this.window);
    this.histogram.disable();
  }
}
