export { HealthModule } from './health.module';
export { HealthController } from './health.controller';
