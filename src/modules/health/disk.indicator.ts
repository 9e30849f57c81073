import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AlertConfig, DatabaseConfig } from '@kiroku/config';
import { dataFolder, diskUsage } from '../metrics';

/** Down when the data directory's disk is past ALERT_DISK_CRIT: writes would start failing. */
@Injectable()
export class DiskIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly alerts: AlertConfig,
    private readonly db: DatabaseConfig,
  ) {}

  /** The folders whose disk the instance writes to. On PostgreSQL the database's disk is the server's. */
  paths(): string[] {
    const folder = dataFolder(this.db);
    return folder ? [folder] : [];
  }

  async check() {
    const check = this.health.check('disk');
    const details: Record<string, { used: number; freeBytes: number }> = {};
    try {
      for (const path of this.paths()) {
        const { used, freeBytes } = await diskUsage(path);
        details[path] = { used: Math.round(used * 1000) / 1000, freeBytes };
        if (used >= this.alerts.diskCrit) {
          return check.down({ message: `${path} is ${(used * 100).toFixed(1)}% full (critical at ${this.alerts.diskCrit * 100}%)`, ...details });
        }
      }
      return check.up(details);
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}
