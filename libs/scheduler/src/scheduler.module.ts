import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { RetentionTask } from './retention.task';
import { TaskScheduler } from './task-scheduler';

/** The serving app's scheduled tasks, the daily pruning of records among them. */
@Global()
@Module({ imports: [ScheduleModule.forRoot()], providers: [TaskScheduler, RetentionTask], exports: [TaskScheduler] })
export class SchedulerModule {}
