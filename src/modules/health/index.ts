export { HealthModule } from './health.module';
export { diskUsage, DiskIndicator } from './disk.indicator';
