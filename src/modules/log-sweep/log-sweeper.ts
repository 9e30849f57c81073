import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { AlertConfig, BackupConfig, LogConfig } from '@kiroku/config';
import { LOG_FILE, utcDay } from '../logs';
import { commitFile, encryptionKey, STORAGE_DESTINATION, type StorageDestination } from '../storage';

const DAY_MS = 24 * 3_600_000;
/** A file of an earlier day may still receive a line for a moment after midnight. */
const CLOSED_AFTER_MS = 10 * 60_000;
const ARCHIVE = /^logs\/((?:access|app|error)-(\d{4}-\d{2}-\d{2})\.log\.gz)\.age$/;

export interface SweepReport {
  compressed: string[];
  archived: string[];
  deleted: string[];
  deletedArchives: string[];
  /** The log disk was past ALERT_DISK_CRIT: compressed files were deleted, oldest first, to make room. */
  emergency: boolean;
  emergencyDeleted: string[];
  problems: string[];
}

export interface SweepParts {
  compress?: boolean;
  archive?: boolean;
  prune?: boolean;
}

/**
 * Keeps LOG_DIR to LOG_RETENTION_DAYS. Works from file names and dates alone,
 * never from what this process wrote, so retention holds across restarts and
 * for files of earlier processes: closed files (earlier UTC days) are
 * gzip-compressed, archived encrypted to the backup destination
 * (`logs/<name>.age`, the age settings of backups), and files and archives
 * dated before the retention period are deleted. When the log disk is past
 * ALERT_DISK_CRIT it deletes compressed files, oldest first, and says so.
 */
@Injectable()
export class LogSweeper {
  private readonly logger = new Logger('LogSweeper');
  /** Set by the last sweep; for alerts. */
  lastReport: SweepReport | null = null;
  lastSweptAt: Date | null = null;

  constructor(
    private readonly config: LogConfig,
    private readonly backup: BackupConfig,
    private readonly alert: AlertConfig,
    private readonly clock: Clock,
    @Inject(STORAGE_DESTINATION) private readonly destination: StorageDestination,
  ) {}

  async sweep(parts: SweepParts = { compress: true, archive: true, prune: true }): Promise<SweepReport> {
    const report: SweepReport = { compressed: [], archived: [], deleted: [], deletedArchives: [], emergency: false, emergencyDeleted: [], problems: [] };
    const now = this.clock.nowMs();
    const today = utcDay(now);
    const cutoff = utcDay(now - this.config.retentionDays * DAY_MS);
    const dir = this.config.dir;
    // Listed once per sweep: what archiving adds is never old enough for pruning to need it.
    let archives: Promise<string[]> | undefined;
    const listArchives = () => (archives ??= this.destination.list('logs/').then((objects) => objects.map((o) => o.key)));

    if (dir) {
      if (parts.compress) await this.compress(dir, today, cutoff, now, report);
      if (parts.archive) await this.archive(dir, cutoff, listArchives, report);
      if (parts.prune) {
        for (const f of await this.localFiles(dir)) {
          if (f.day >= cutoff) continue;
          await rm(join(dir, f.name), { force: true });
          report.deleted.push(f.name);
        }
      }
      await this.emergency(dir, report);
    }
    if (parts.prune) {
      for (const key of await listArchives()) {
        const match = ARCHIVE.exec(key);
        if (!match || match[2] >= cutoff) continue;
        await this.destination.delete(key);
        report.deletedArchives.push(key);
      }
    }
    this.lastReport = report;
    this.lastSweptAt = this.clock.now();
    const did = [
      report.compressed.length && `${report.compressed.length} compressed`,
      report.archived.length && `${report.archived.length} archived`,
      report.deleted.length && `${report.deleted.length} deleted`,
      report.deletedArchives.length && `${report.deletedArchives.length} archives deleted`,
    ].filter(Boolean);
    if (did.length) this.logger.log(`log sweep: ${did.join(', ')}`);
    for (const problem of report.problems) this.logger.warn(`log sweep: ${problem}`);
    return report;
  }

  private async compress(dir: string, today: string, cutoff: string, now: number, report: SweepReport): Promise<void> {
    const files = await this.localFiles(dir);
    const names = new Set(files.map((f) => f.name));
    for (const f of files) {
      // Files past retention are deleted by prune, not compressed first.
      if (f.compressed || f.day >= today || f.day < cutoff) continue;
      const path = join(dir, f.name);
      if (names.has(`${f.name}.gz`)) {
        // An earlier sweep renamed the .gz into place and stopped before deleting the original.
        await rm(path, { force: true });
        continue;
      }
      if (now - (await stat(path)).mtimeMs < CLOSED_AFTER_MS) continue;
      const partial = `${path}.gz.partial`;
      try {
        await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(partial));
        await commitFile(partial, `${path}.gz`);
        await rm(path, { force: true });
        report.compressed.push(f.name);
      } catch (error) {
        await rm(partial, { force: true });
        report.problems.push(`could not compress ${f.name}: ${(error as Error).message}`);
      }
    }
    for (const name of await readdir(dir))
      if (name.endsWith('.gz.partial') && LOG_FILE.test(name.slice(0, -'.partial'.length))) await rm(join(dir, name), { force: true });
  }

  private async archive(dir: string, cutoff: string, listArchives: () => Promise<string[]>, report: SweepReport): Promise<void> {
    let key;
    try {
      key = encryptionKey(this.backup);
    } catch (error) {
      report.problems.push(`log archives are not written: ${(error as Error).message}`);
      return;
    }
    const archived = new Set(await listArchives());
    for (const f of await this.localFiles(dir)) {
      const objectKey = `logs/${f.name}.age`;
      if (!f.compressed || f.day < cutoff || archived.has(objectKey)) continue;
      try {
        await this.destination.put(objectKey, await key.encrypt(createReadStream(join(dir, f.name))));
        report.archived.push(objectKey);
      } catch (error) {
        report.problems.push(`could not archive ${f.name} to ${this.destination.description}: ${(error as Error).message}`);
      }
    }
  }

  /** Past ALERT_DISK_CRIT: delete compressed files, oldest first, until the disk is below it again. */
  private async emergency(dir: string, report: SweepReport): Promise<void> {
    const used = async () => {
      const s = await statfs(dir);
      return 1 - s.bavail / s.blocks;
    };
    if ((await used()) <= this.alert.diskCrit) return;
    report.emergency = true;
    const compressed = (await this.localFiles(dir)).filter((f) => f.compressed).sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    for (const f of compressed) {
      if ((await used()) <= this.alert.diskCrit) break;
      await rm(join(dir, f.name), { force: true });
      report.emergencyDeleted.push(f.name);
    }
    this.logger.error(
      `log disk past ${Math.round(this.alert.diskCrit * 100)}%: emergency mode, deleted ${report.emergencyDeleted.length} compressed log file(s)`,
    );
  }

  private async localFiles(dir: string): Promise<Array<{ name: string; day: string; compressed: boolean }>> {
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    return names.flatMap((name) => {
      const match = LOG_FILE.exec(name);
      return match ? [{ name, day: match[2], compressed: !!match[3] }] : [];
    });
  }
}
