import { Injectable, OnModuleInit } from '@nestjs/common';
import { AlertConfig } from '@kiroku/config';
import { TaskScheduler } from '@kiroku/scheduler';
import { AlertEvaluator } from './alert-evaluator';

/** Every ALERT_EVAL_INTERVAL, one replica (whichever claims the tick) evaluates the rules and delivers notifications. */
@Injectable()
export class AlertsTask implements OnModuleInit {
  static readonly ID = 'evaluate-alerts';

  constructor(
    private readonly scheduler: TaskScheduler,
    private readonly evaluator: AlertEvaluator,
    private readonly config: AlertConfig,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      id: AlertsTask.ID,
      everyMs: this.config.evalIntervalMs,
      leaseMs: Math.max(60_000, 3 * this.config.evalIntervalMs),
      run: ({ signal }) => this.evaluator.tick(signal),
    });
  }
}
