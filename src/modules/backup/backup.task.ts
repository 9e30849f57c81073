import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { BackupConfig } from '@kiroku/config';
import { TaskScheduler } from '@kiroku/scheduler';
import { Machine } from '@kiroku/supervisor';
import { BackupService } from './backup.service';

/** What the log says at every start while backups use the key Kiroku generated (development only). */
function generatedKeyWarning(path: string): string {
  return (
    `backups are encrypted to a key Kiroku generated for this development setup: ${path}. Copy it off this machine ` +
    '(a password manager, another disk): a backup whose key sits beside it is lost with the disk. For production, ' +
    'create your own key with age-keygen and set BACKUP_AGE_RECIPIENTS and BACKUP_AGE_IDENTITY_FILE (docs/operations/backups.md)'
  );
}

/**
 * The daily backup on BACKUP_SCHEDULE. The slot is claimed through the lease
 * table, so one replica makes it; the lease is renewed while the run lasts,
 * so a long run is not started a second time by another replica.
 */
@Injectable()
export class BackupTask implements OnModuleInit, OnApplicationBootstrap {
  static readonly ID = 'backup';
  private readonly logger = new Logger('Backups');

  constructor(
    private readonly scheduler: TaskScheduler,
    private readonly backups: BackupService,
    private readonly config: BackupConfig,
    private readonly machine: Machine,
  ) {}

  /** Says at start-up, not at 2 a.m., when backups cannot work here (no key, or a pg_dump older than the server). */
  async onApplicationBootstrap(): Promise<void> {
    const problem = await this.backups.readiness();
    if (problem) this.logger.warn(`backups will fail: ${problem}`);
    if (this.config.generatedIdentityFile && this.machine.leader) this.logger.warn(generatedKeyWarning(this.config.generatedIdentityFile));
  }

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
