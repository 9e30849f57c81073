import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AlertConfig, DatabaseConfig } from '@kiroku/config';

/** Share of the file system in use, as `df` counts it (space reserved for root excluded). */
export async function diskUsage(path: string): Promise<{ used: number; freeBytes: number; totalBytes: number }> {
  const s = await statfs(path);
  const used = s.blocks - s.bfree;
  return { used: used / (used + s.bavail), freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/** The folder of the SQLite database, whose disk this instance writes to; null on PostgreSQL (that disk is the server's). */
export function dataFolder(database: DatabaseConfig): string | null {
  return database.engine === 'sqlite' ? dirname(resolve(database.path)) : null;
}

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
