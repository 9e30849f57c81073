import { Injectable } from '@nestjs/common';
import { Database } from '@kiroku/persistence';
import { FindOptionsWhere, IsNull, Not } from 'typeorm';
import { BackupRun } from './backup-run.entity';

/** The catalog of backup runs (the backup_runs table): the only SQL on it. */
@Injectable()
export class BackupCatalog {
  constructor(private readonly db: Database) {}

  async insert(run: BackupRun): Promise<void> {
    await this.db.transaction((m) => m.insert(BackupRun, run));
  }

  /** Writes every field of the run. */
  async save(run: BackupRun): Promise<void> {
    const { id, ...rest } = run;
    await this.db.transaction((m) => m.update(BackupRun, { id }, rest));
  }

  get(id: string): Promise<BackupRun | null> {
    return this.db.manager.findOneBy(BackupRun, { id });
  }

  /** The runs still marked running. */
  running(): Promise<BackupRun[]> {
    return this.db.manager.find(BackupRun, { where: { status: 'running' } });
  }

  /** The newest runs first, at most `limit`; every run without a limit. */
  list(limit?: number): Promise<BackupRun[]> {
    return this.db.manager.find(BackupRun, { order: { startedAt: 'DESC' }, ...(limit === undefined ? {} : { take: limit }) });
  }

  /** The ids of the newest `limit` runs that stored an object (pruned or not), newest first. */
  async idsWithObjects(limit: number): Promise<string[]> {
    const rows = await this.db.manager.find(BackupRun, {
      select: { id: true },
      where: { objectKey: Not(IsNull()) },
      order: { startedAt: 'DESC' },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  newestSucceeded(): Promise<BackupRun | null> {
    return this.newest({ status: 'succeeded' });
  }

  newestVerified(): Promise<BackupRun | null> {
    return this.newest({ verifyStatus: 'passed' });
  }

  /** The newest run that is no longer running. */
  newestFinished(): Promise<BackupRun | null> {
    return this.newest({ status: Not('running') });
  }

  countFailed(): Promise<number> {
    return this.db.manager.count(BackupRun, { where: { status: 'failed' } });
  }

  private newest(where: FindOptionsWhere<BackupRun>): Promise<BackupRun | null> {
    return this.db.manager.findOne(BackupRun, { where, order: { startedAt: 'DESC' } });
  }
}
