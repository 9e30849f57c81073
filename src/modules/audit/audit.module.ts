import { Global, Module } from '@nestjs/common';
import { AuditRetention } from './audit.retention';
import { AuditTrail } from './audit.service';

@Global()
@Module({ providers: [AuditTrail, AuditRetention], exports: [AuditTrail] })
export class AuditModule {}
