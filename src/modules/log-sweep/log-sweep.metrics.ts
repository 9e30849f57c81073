import { Injectable, OnModuleInit } from '@nestjs/common';
import { MetricsService } from '../metrics';
import { LogSweeper } from './log-sweeper';

/** What this instance's last log sweep did, on /metrics and in each history sample (for the log-emergency alert). */
@Injectable()
export class LogSweepMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly sweeper: LogSweeper,
  ) {}

  onModuleInit(): void {
    const sweeper = this.sweeper;
    this.metrics.gauge({
      name: 'kiroku_log_sweeper_last_run_timestamp_seconds',
      help: 'When this instance last swept its log folder',
      collect() {
        if (sweeper.lastSweptAt) this.set(sweeper.lastSweptAt.getTime() / 1000);
      },
    });
    this.metrics.gauge({
      name: 'kiroku_log_sweeper_files',
      help: 'What the last log sweep did, by action',
      labelNames: ['action'],
      collect() {
        const report = sweeper.lastReport;
        if (!report) return;
        this.set({ action: 'compressed' }, report.compressed.length);
        this.set({ action: 'archived' }, report.archived.length);
        this.set({ action: 'deleted' }, report.deleted.length);
        this.set({ action: 'emergency_deleted' }, report.emergencyDeleted.length);
      },
    });
    this.metrics.gauge({
      name: 'kiroku_log_sweeper_problems',
      help: 'Problems the last log sweep reported (files it could not compress, archive or delete)',
      collect() {
        if (sweeper.lastReport) this.set(sweeper.lastReport.problems.length);
      },
    });
    this.metrics.gauge({
      name: 'kiroku_log_sweeper_emergency',
      help: '1 when the last log sweep found the log disk past ALERT_DISK_CRIT',
      collect() {
        this.set(sweeper.lastReport?.emergency ? 1 : 0);
      },
    });
    this.metrics.contributeToSamples(() => ({ logEmergency: sweeper.lastReport?.emergency ? 1 : 0 }));
  }
}
