import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics';
import { StorageModule } from '../storage';
import { LogSweepMetrics } from './log-sweep.metrics';
import { LogSweepTask } from './log-sweep.task';
import { LogSweeper } from './log-sweeper';

/** The sweeper as a service (the CLI's `kiroku logs`), with its figures on /metrics. */
@Module({ imports: [StorageModule, MetricsModule], providers: [LogSweeper, LogSweepMetrics], exports: [LogSweeper] })
export class LogSweepModule {}

/** The sweeper on its schedule (the server): log files hourly, per machine. */
@Module({ imports: [LogSweepModule], providers: [LogSweepTask] })
export class LogSweepScheduleModule {}
