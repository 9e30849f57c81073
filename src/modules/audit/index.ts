export { AuditModule } from './audit.module';
export { AuditTrail, type AuditInput } from './audit.service';
export { AuditEvent } from './audit-event.entity';
