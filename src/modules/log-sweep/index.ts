export { LogSweepModule, LogSweepScheduleModule } from './log-sweep.module';
export { LogSweeper, type SweepParts, type SweepReport } from './log-sweeper';
