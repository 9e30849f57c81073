import type { BackupCatalog } from './backup-catalog.repository';
import type { BackupRun } from './backup-run.entity';

const newestFirst = (a: BackupRun, b: BackupRun) => b.startedAt.getTime() - a.startedAt.getTime();

/** BackupCatalog in memory, for unit tests; `writes` keeps every status a run was written with, in order. */
export class FakeBackupCatalog implements Pick<BackupCatalog, keyof BackupCatalog> {
  readonly rows = new Map<string, BackupRun>();
  readonly writes: Array<{ id: string; status: string }> = [];

  async insert(run: BackupRun): Promise<void> {
    if (this.rows.has(run.id)) throw new Error(`duplicate run ${run.id}`);
    this.rows.set(run.id, { ...run });
    this.writes.push({ id: run.id, status: run.status });
  }

  async save(run: BackupRun): Promise<void> {
    if (!this.rows.has(run.id)) return;
    this.rows.set(run.id, { ...run });
    this.writes.push({ id: run.id, status: run.status });
  }

  async get(id: string): Promise<BackupRun | null> {
    const run = this.rows.get(id);
    return run ? { ...run } : null;
  }

  async running(): Promise<BackupRun[]> {
    return this.all().filter((r) => r.status === 'running');
  }

  async list(limit?: number): Promise<BackupRun[]> {
    return this.all().sort(newestFirst).slice(0, limit);
  }

  async idsWithObjects(limit: number): Promise<string[]> {
    return this.all()
      .filter((r) => r.objectKey !== null)
      .sort(newestFirst)
      .slice(0, limit)
      .map((r) => r.id);
  }

  async newestSucceeded(): Promise<BackupRun | null> {
    return (
      this.all()
        .filter((r) => r.status === 'succeeded')
        .sort(newestFirst)[0] ?? null
    );
  }

  async newestVerified(): Promise<BackupRun | null> {
    return (
      this.all()
        .filter((r) => r.verifyStatus === 'passed')
        .sort(newestFirst)[0] ?? null
    );
  }

  async newestFinished(): Promise<BackupRun | null> {
    return (
      this.all()
        .filter((r) => r.status !== 'running')
        .sort(newestFirst)[0] ?? null
    );
  }

  async countFailed(): Promise<number> {
    return this.all().filter((r) => r.status === 'failed').length;
  }

  private all(): BackupRun[] {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
}
