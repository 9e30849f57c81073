import { Module } from '@nestjs/common';
import { BackupModule } from '../backup/backup.module';
import { LogSweepTask } from './log-sweep.task';
import { LogSweeper } from './log-sweeper';
import { RecordRetention, RecordRetentionTask } from './record-retention';

/** The sweeper and record retention as services (the CLI's `kiroku logs`). */
@Module({ imports: [BackupModule], providers: [LogSweeper, RecordRetention], exports: [LogSweeper, RecordRetention] })
export class LogSweepModule {}

/** Both on their schedules (the server): log files hourly per machine, records daily per cluster. */
@Module({ imports: [LogSweepModule], providers: [LogSweepTask, RecordRetentionTask] })
export class LogSweepScheduleModule {}
