export { SchedulerModule } from './scheduler.module';
export { RetentionTask } from './retention.task';
export { slotFor } from './slot';
export { TaskScheduler, type RunOutcome, type ScheduledTask, type TaskContext } from './task-scheduler';
