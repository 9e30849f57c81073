export { MetricsEndpointModule, MetricsModule } from './metrics.module';
export { MetricsService, type SampleFigures } from './metrics.service';
export { MetricsSampler } from './metrics-sampler.service';
export { MetricsHistory, RANGES, type Range, type Series } from './metrics-history';
export { MetricSample } from './metric-sample.entity';
export { guardedCollect, perScrape } from './collect';
export { dataFolder, diskUsage } from './disk';
export { addressMatcher } from './metrics.controller';
