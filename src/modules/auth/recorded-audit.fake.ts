import type { EntityManager } from 'typeorm';
import type { AuditInput, AuditTrail, RecordIn } from '../audit';

/** The audit trail of unit tests: keeps the events in memory; a transaction's once its function returned. */
export class RecordedAudit implements Pick<AuditTrail, 'record' | 'transaction'> {
  readonly events: Array<{ type: string } & AuditInput> = [];

  async record(type: string, input: AuditInput = {}): Promise<void> {
    this.events.push({ type, ...input });
  }

  /** Runs `fn` with no manager (the fake repositories take none); its events are kept once it returns. */
  async transaction<T>(fn: (m: EntityManager, record: RecordIn) => Promise<T>): Promise<T> {
    const pending: Array<{ type: string } & AuditInput> = [];
    const result = await fn(undefined as unknown as EntityManager, async (type, input = {}) => void pending.push({ type, ...input }));
    this.events.push(...pending);
    return result;
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }
}
