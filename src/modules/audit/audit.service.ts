import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { requestContext } from '../logs';
import { AuditEvent } from './audit-event.entity';

export interface AuditInput {
  userId?: string | null;
  actorId?: string | null;
  ip?: string | null;
  details?: Record<string, string | number | boolean | null>;
}

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
    const event: AuditEvent = {
      id: randomUUID(),
      at: this.clock.now(),
      type,
      userId: input.userId ?? null,
      actorId: input.actorId ?? null,
      ip: input.ip ?? null,
      requestId: requestContext.getStore()?.requestId ?? null,
      details: JSON.stringify(input.details ?? {}),
    };
    this.logger.log({ stream: 'security', event: type, userId: event.userId, actorId: event.actorId, ip: event.ip, details: input.details ?? {} });
    await this.db.transaction((m) => m.insert(AuditEvent, event));
  }

  async recent(limit = 200, type?: string): Promise<AuditEvent[]> {
    return this.db.manager.find(AuditEvent, { where: type ? { type } : {}, order: { at: 'DESC', id: 'DESC' }, take: limit });
  }
}
