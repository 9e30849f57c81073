import { Module } from '@nestjs/common';
import { BackupModule } from '../backup';
import { MetricsModule } from '../metrics';
import { AlertEvaluator } from './alert-evaluator';
import { AlertMetrics } from './alert-metrics';
import { AlertRules } from './alert-rules';
import { AlertsRetention } from './alerts.retention';
import { AlertsTask } from './alerts.task';
import { Mailer, Notifiers } from './notifiers';

/** The alert services, without the schedule (the console reads them too). */
@Module({
  imports: [BackupModule, MetricsModule],
  providers: [AlertRules, Mailer, Notifiers, AlertEvaluator, AlertMetrics, AlertsRetention],
  exports: [AlertEvaluator, AlertRules, Mailer],
})
export class AlertsModule {}

/** The serving app's evaluation tick. */
@Module({ imports: [AlertsModule], providers: [AlertsTask] })
export class AlertsScheduleModule {}
