import { Injectable, OnModuleInit } from '@nestjs/common';
import { SecurityConfig } from '@kiroku/config';
import { DAY_MS, RetentionRegistry } from '@kiroku/persistence';
import { FORGET_AFTER_MS } from './login-throttle.service';

/**
 * Sessions past their absolute lifetime or idle timeout (already refused at
 * sign-in look-up; their rows go here), and failed-login counters nobody has
 * touched for an hour (their delays are long over), and invitation and password links 30 days after they expired
 * (the users page lists them as expired meanwhile; the audit trail keeps their story).
 */
@Injectable()
export class AccountsRetention implements OnModuleInit {
  constructor(
    private readonly registry: RetentionRegistry,
    private readonly config: SecurityConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register({
      name: 'expired sessions',
      table: 'sessions',
      setting: 'SESSION_ABSOLUTE_LIFETIME, SESSION_IDLE_TIMEOUT',
      olderThan: [
        { column: 'expires_at', ageMs: () => 0 },
        { column: 'last_seen_at', ageMs: () => this.config.sessionIdleMs },
      ],
    });
    this.registry.register({
      name: 'login throttle counters',
      table: 'login_throttles',
      setting: '1 hour without a failure (fixed)',
      olderThan: [{ column: 'updated_at', ageMs: () => FORGET_AFTER_MS }],
    });
    this.registry.register({
      name: 'invitation and password links',
      table: 'account_links',
      setting: '30 days after they expire (fixed)',
      olderThan: [{ column: 'expires_at', ageMs: () => 30 * DAY_MS }],
    });
  }
}
