import { Injectable, OnModuleInit } from '@nestjs/common';
import { RetentionRegistry } from '@kiroku/persistence';
import { TaskScheduler } from './task-scheduler';

/** Daily, once across the cluster: every registered pruner (see RetentionRegistry). */
@Injectable()
export class RetentionTask implements OnModuleInit {
  static readonly ID = 'prune-records';

  constructor(
    private readonly scheduler: TaskScheduler,
    private readonly retention: RetentionRegistry,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      id: RetentionTask.ID,
      cron: '23 4 * * *',
      leaseMs: 10 * 60_000,
      run: async ({ signal }) => void (await this.retention.prune(signal)),
    });
  }
}
