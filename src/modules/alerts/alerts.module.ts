import { Module } from '@nestjs/common';
import { BackupModule } from '../backup';
import { MetricsModule } from '../metrics';
import { AlertEvaluator } from './alert-evaluator';
import { AlertMetrics } from './alert-metrics';
import { AlertRules } from './alert-rules';
import { AlertsRetention } from './alerts.retention';
import { AlertsTask } from './alerts.task';
import { DirectNotices } from './direct-notices';
import { DatabaseWatch, UncleanStopWatch } from './instance-watch';
import { Mailer, Notifiers } from './notifiers';

/** The alert services, without the schedule (the console reads them too). */
@Module({
  imports: [BackupModule, MetricsModule],
  providers: [AlertRules, Mailer, Notifiers, DirectNotices, AlertEvaluator, AlertMetrics, AlertsRetention],
  exports: [AlertEvaluator, AlertRules, DirectNotices, Mailer],
})
export class AlertsModule {}

/** The serving app's evaluation tick, and what each serving instance watches for itself (database, unclean stops). */
@Module({ imports: [AlertsModule], providers: [AlertsTask, DatabaseWatch, UncleanStopWatch] })
export class AlertsScheduleModule {}
