import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { Database, type WriteStatement } from '@kiroku/persistence';
import type { EntityManager } from 'typeorm';
import { requestContext } from '../logs';
import { AuditEvent } from './audit-event.entity';

export interface AuditInput {
  userId?: string | null;
  actorId?: string | null;
  ip?: string | null;
  details?: Record<string, string | number | boolean | null>;
}

/** Records an event in the transaction of `AuditTrail.transaction`. */
export type RecordIn = (type: string, input?: AuditInput) => Promise<void>;

const INSERT_EVENT = 'INSERT INTO audit_events (id, at, type, user_id, actor_id, ip, request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)';

/**
 * Security events: stored in audit_events and written to the log as JSON
 * (UTC time, user, IP, request id). Callers never pass secrets in details.
 */
@Injectable()
export class AuditTrail {
  private readonly logger = new Logger('Security');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async record(type: string, input: AuditInput = {}): Promise<void> {
    const event = this.event(type, input);
    this.log(event, input);
    await this.db.transaction((m) => m.insert(AuditEvent, event));
  }

  /**
   * Records the event in the same write as the caller's own statements, all of it or none: `write` gets the
   * statement that stores the event and writes it with its own (`Database.executeAll`). The event is logged once
   * that write is done. For actions that must not be answered "try again" once they were kept: an import whose
   * event failed to be written after its notes were would have had the client import them twice.
   */
  async recordWith<T>(type: string, input: AuditInput, write: (event: WriteStatement) => Promise<T>): Promise<T> {
    const event = this.event(type, input);
    const params = [event.id, event.at.getTime(), event.type, event.userId, event.actorId, event.ip, event.requestId, event.details];
    const result = await write({ sql: INSERT_EVENT, params });
    this.log(event, input);
    return result;
  }

  /**
   * Runs `fn` in one transaction (`Database.transaction`) whose events, recorded with `record`, are kept with its
   * writes or not at all, and logged once it commits. For an action of several writes (an account change and the
   * sessions it ends) that must never be half done nor answered "failed" once kept.
   */
  async transaction<T>(fn: (m: EntityManager, record: RecordIn) => Promise<T>): Promise<T> {
    const recorded: Array<[AuditEvent, AuditInput]> = [];
    const result = await this.db.transaction((m) =>
      fn(m, async (type, input = {}) => {
        const event = this.event(type, input);
        await m.insert(AuditEvent, event);
        recorded.push([event, input]);
      }),
    );
    for (const [event, input] of recorded) this.log(event, input);
    return result;
  }

  private event(type: string, input: AuditInput): AuditEvent {
    return {
      id: randomUUID(),
      at: this.clock.now(),
      type,
      userId: input.userId ?? null,
      actorId: input.actorId ?? null,
      ip: input.ip ?? null,
      requestId: requestContext.getStore()?.requestId ?? null,
      details: JSON.stringify(input.details ?? {}),
    };
  }

  private log(event: AuditEvent, input: AuditInput): void {
    this.logger.log({ stream: 'security', event: event.type, userId: event.userId, actorId: event.actorId, ip: event.ip, details: input.details ?? {} });
  }

  async recent(limit = 200, type?: string): Promise<AuditEvent[]> {
    return this.db.manager.find(AuditEvent, { where: type ? { type } : {}, order: { at: 'DESC', id: 'DESC' }, take: limit });
  }
}
