export { AlertsModule, AlertsScheduleModule } from './alerts.module';
export { AlertEvaluator } from './alert-evaluator';
export { RULES, type Condition, type RuleId } from './alert-rules';
export { Alert, type AlertStatus, type Severity } from './alert.entity';
export { AlertNotification, type Channel } from './alert-notification.entity';
export { DirectNotices, type DirectNotice } from './direct-notices';
export { DatabaseWatch, UncleanStopWatch } from './instance-watch';
export { DIRECT_RULES, type DirectRuleId } from './alert-rules';
export { Mailer, Notifiers, type Mail } from './notifiers';
