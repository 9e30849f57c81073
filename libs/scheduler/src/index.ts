export { SchedulerModule } from './scheduler.module';
export { slotFor } from './slot';
export { TaskScheduler, type RunOutcome, type ScheduledTask, type TaskContext } from './task-scheduler';
