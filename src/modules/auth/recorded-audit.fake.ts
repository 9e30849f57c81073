import type { WriteStatement } from '@kiroku/persistence';
import type { AuditInput, AuditTrail } from '../audit';

/** The audit trail of unit tests: keeps the events in memory; `recordWith` keeps its event once the caller's write is done. */
export class RecordedAudit implements Pick<AuditTrail, 'record' | 'recordWith'> {
  readonly events: Array<{ type: string } & AuditInput> = [];

  async record(type: string, input: AuditInput = {}): Promise<void> {
    this.events.push({ type, ...input });
  }

  async recordWith<T>(type: string, input: AuditInput, write: (event: WriteStatement) => Promise<T>): Promise<T> {
    const result = await write({ sql: `-- audit event ${type}`, params: [] });
    this.events.push({ type, ...input });
    return result;
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }
}
