import { Module } from '@nestjs/common';
import { BackupModule } from '../backup';
import { LogSweepModule } from '../logs/log-sweep.module';
import { MetricsController } from './metrics.controller';
import { MetricsSampler } from './metrics-sampler.service';
import { MetricsService } from './metrics.service';

@Module({ imports: [BackupModule, LogSweepModule], controllers: [MetricsController], providers: [MetricsService, MetricsSampler], exports: [MetricsService] })
export class MetricsModule {}
