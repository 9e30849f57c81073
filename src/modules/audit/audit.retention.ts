import { Injectable, OnModuleInit } from '@nestjs/common';
import { LogConfig } from '@kiroku/config';
import { DAY_MS, RetentionRegistry } from '@kiroku/persistence';

/** Audit events are deleted AUDIT_RETENTION_DAYS after they happened. */
@Injectable()
export class AuditRetention implements OnModuleInit {
  constructor(
    private readonly registry: RetentionRegistry,
    private readonly config: LogConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register({
      name: 'audit events',
      table: 'audit_events',
      setting: 'AUDIT_RETENTION_DAYS',
      olderThan: [{ column: 'at', ageMs: () => this.config.auditRetentionDays * DAY_MS }],
    });
  }
}
