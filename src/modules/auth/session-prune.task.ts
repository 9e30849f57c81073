import { Injectable, OnModuleInit } from '@nestjs/common';
import { TaskScheduler } from '@kiroku/scheduler';
import { LoginThrottleService } from './login-throttle.service';
import { SessionStore } from './session.store';

/** Every 15 minutes, one replica deletes expired sessions and forgotten throttle counters, in batches. */
@Injectable()
export class SessionPruneTask implements OnModuleInit {
  static readonly ID = 'prune-sessions';

  constructor(
    private readonly scheduler: TaskScheduler,
    private readonly sessions: SessionStore,
    private readonly throttle: LoginThrottleService,
  ) {}

  onModuleInit(): void {
    this.scheduler.register({
      id: SessionPruneTask.ID,
      cron: '*/15 * * * *',
      leaseMs: 5 * 60_000,
      run: async ({ signal }) => {
        await this.sessions.pruneExpired(500, signal);
        await this.throttle.prune();
      },
    });
  }
}
