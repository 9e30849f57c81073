export { AlertsModule, AlertsScheduleModule } from './alerts.module';
export { AlertEvaluator } from './alert-evaluator';
export { RULES, type Condition, type RuleId } from './alert-rules';
export { Alert, type AlertStatus, type Severity } from './alert.entity';
export { AlertNotification, type Channel } from './alert-notification.entity';
export { Mailer, type Mail } from './notifiers';
