import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsHistory } from './metrics-history';
import { MetricsRetention } from './metrics.retention';
import { MetricsSampler } from './metrics-sampler.service';
import { MetricsService } from './metrics.service';

/** The registry that modules register their figures with, and the history the console reads (the CLI has these too). */
@Module({ providers: [MetricsService, MetricsHistory, MetricsRetention], exports: [MetricsService, MetricsHistory] })
export class MetricsModule {}

/** What only the serving app runs: GET /metrics and the sampler that writes metric_samples. */
@Module({ imports: [MetricsModule], controllers: [MetricsController], providers: [MetricsSampler] })
export class MetricsEndpointModule {}
