import { Injectable, OnModuleInit } from '@nestjs/common';
import { LogConfig } from '@kiroku/config';
import { DAY_MS, RetentionRegistry } from '@kiroku/persistence';

/** Resolved alerts are incident history: kept as long as the audit trail (their notifications go with them, by foreign key). */
@Injectable()
export class AlertsRetention implements OnModuleInit {
  constructor(
    private readonly registry: RetentionRegistry,
    private readonly config: LogConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register({
      name: 'resolved alerts',
      table: 'alerts',
      setting: 'AUDIT_RETENTION_DAYS',
      olderThan: [{ column: 'resolved_at', ageMs: () => this.config.auditRetentionDays * DAY_MS }],
    });
  }
}
