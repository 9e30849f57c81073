import { hostname } from 'node:os';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { TaskScheduler } from '@kiroku/scheduler';
import { LogSweeper } from './log-sweeper';

/**
 * Hourly, once per machine: log files live on each machine's LOG_DIR, so the
 * claim is per host name (two processes on one machine never sweep at once;
 * every machine sweeps its own).
 */
@Injectable()
export class LogSweepTask implements OnModuleInit {
  constructor(
    private readonly scheduler: TaskScheduler,
    private readonly sweeper: LogSweeper,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      id: `sweep-logs@${hostname()}`.slice(0, 64),
      cron: '7 * * * *',
      leaseMs: 10 * 60_000,
      run: async () => {
        await this.sweeper.sweep();
      },
    });
  }
}
