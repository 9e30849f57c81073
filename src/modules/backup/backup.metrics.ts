import { Injectable, OnModuleInit } from '@nestjs/common';
import { MetricsService, perScrape } from '../metrics';
import { BackupService, type BackupStatusFigures } from './backup.service';

/** The backup catalog's figures on /metrics, read when scraped (one catalog read per scrape). */
@Injectable()
export class BackupMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly backups: BackupService,
  ) {}

  onModuleInit(): void {
    const status = perScrape(() => this.backups.status());
    // Labelled by destination so that "no value" (no backup yet, or the catalog unreadable) is an absent
    // series: prom-client prints an unlabelled gauge as 0 even after reset(), and a last-success time of 0
    // would read as "56 years old".
    const destination = { destination: this.backups.destination.kind };
    const gauge = (name: string, help: string, pick: (s: BackupStatusFigures) => number | null) =>
      this.metrics.gauge({
        name,
        help,
        labelNames: ['destination'],
        collect: this.metrics.guarded(async (g) => {
          const value = pick(await status());
          if (value === null) g.reset();
          else g.set(destination, value);
        }),
      });
    const seconds = (d: Date | null) => (d ? d.getTime() / 1000 : null);
    gauge('kiroku_backup_last_success_timestamp_seconds', 'When the newest successful backup finished', (s) => seconds(s.lastSuccessAt));
    gauge('kiroku_backup_last_verified_timestamp_seconds', 'When a backup last passed verification', (s) => seconds(s.lastVerifiedAt));
    gauge('kiroku_backup_last_duration_seconds', 'Snapshot-to-stored time of the newest successful backup', (s) =>
      s.lastDurationMs === null ? null : s.lastDurationMs / 1000,
    );
    gauge('kiroku_backup_last_size_bytes', 'Stored size of the newest successful backup', (s) => s.lastStoredBytes);
    gauge('kiroku_backup_failures', 'Failed backup runs in the catalog', (s) => s.failures);
    gauge('kiroku_backup_newest_verified_timestamp_seconds', 'When the newest backup that passed verification was taken', (s) =>
      seconds(s.newestVerifiedBackupAt),
    );
    gauge('kiroku_backup_last_run_failed', '1 when the newest finished backup run failed, or its backup failed verification', (s) => (s.lastRunFailed ? 1 : 0));
    gauge('kiroku_backup_last_verify_failed', "1 when the newest finished run's backup failed its verification", (s) => (s.lastVerifyFailed ? 1 : 0));
  }
}
