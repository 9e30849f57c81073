import { Injectable, OnModuleInit } from '@nestjs/common';
import { BackupConfig } from '@kiroku/config';
import { TaskScheduler } from '@kiroku/scheduler';
import { BackupService } from './backup.service';

/**
 * The daily backup on BACKUP_SCHEDULE. The slot is claimed through the lease
 * table, so one replica makes it; the lease is renewed while the run lasts,
 * so a long run is not started a second time by another replica.
 */
@Injectable()
export class BackupTask implements OnModuleInit {
  static readonly ID = 'backup';

  constructor(
    private readonly scheduler: TaskScheduler,
    private readonly backups: BackupService,
    private readonly config: BackupConfig,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      id: BackupTask.ID,
      cron: this.config.schedule,
      leaseMs: 10 * 60_000,
      run: async ({ slot }) => {
        const run = await this.backups.run('schedule', slot.toISOString());
        if (run.status === 'failed') throw new Error(`backup failed: ${run.error}`);
      },
    });
  }
}
