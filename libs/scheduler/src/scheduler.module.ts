import { Global, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TaskScheduler } from './task-scheduler';

@Global()
@Module({ imports: [ScheduleModule.forRoot()], providers: [TaskScheduler], exports: [TaskScheduler] })
export class SchedulerModule {}
