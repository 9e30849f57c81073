import { Module } from '@nestjs/common';
import { BackupModule } from '../backup/backup.module';
import { LogSweepTask } from './log-sweep.task';
import { LogSweeper } from './log-sweeper';

/** The sweeper as a service (the CLI's `kiroku logs`). */
@Module({ imports: [BackupModule], providers: [LogSweeper], exports: [LogSweeper] })
export class LogSweepModule {}

/** The sweeper on its schedule (the server). */
@Module({ imports: [LogSweepModule], providers: [LogSweepTask] })
export class LogSweepScheduleModule {}
