import { Injectable, OnModuleInit } from '@nestjs/common';
import { MetricsConfig } from '@kiroku/config';
import { DAY_MS, RetentionRegistry } from '@kiroku/persistence';

/** History samples are deleted METRICS_HISTORY_DAYS after they were taken. */
@Injectable()
export class MetricsRetention implements OnModuleInit {
  constructor(
    private readonly registry: RetentionRegistry,
    private readonly config: MetricsConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register({
      name: 'metric samples',
      table: 'metric_samples',
      setting: 'METRICS_HISTORY_DAYS',
      olderThan: [{ column: 'at', ageMs: () => this.config.historyDays * DAY_MS }],
    });
  }
}
