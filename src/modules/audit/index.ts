export { AuditModule } from './audit.module';
export { AuditTrail, type AuditInput, type RecordIn } from './audit.service';
export { AuditEvent } from './audit-event.entity';
