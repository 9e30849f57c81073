import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClusterModule } from '../cluster';
import { DatabaseIndicator } from './database.indicator';
import { DiskIndicator } from './disk.indicator';
import { EventLoopIndicator } from './event-loop.indicator';
import { HealthController } from './health.controller';
import { InstanceIndicator } from './instance.indicator';
import { SchemaIndicator } from './schema.indicator';

@Module({
  // Terminus logs failed checks itself; readiness failures are expected during outages and shutdown.
  imports: [TerminusModule.forRoot({ logger: false }), ClusterModule],
  controllers: [HealthController],
  providers: [DatabaseIndicator, DiskIndicator, EventLoopIndicator, InstanceIndicator, SchemaIndicator],
})
export class HealthModule {}
