import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { In, LessThan } from 'typeorm';
import { LoginThrottle } from './login-throttle.entity';
import { sha256 } from './secrets';

export interface ThrottlePolicy {
  /** Failures allowed before any delay. */
  free: number;
  /** The first delay; each further failure doubles it. */
  baseMs: number;
  /** The longest delay: nobody is ever locked out for good. */
  maxMs: number;
}

/** Per account: after 5 failures, 1 s, 2 s, 4 s … at most 15 minutes. */
export const ACCOUNT_POLICY: ThrottlePolicy = { free: 5, baseMs: 1000, maxMs: 15 * 60_000 };
/** Per client address: generous for offices behind one NAT, still stops spraying. */
export const ADDRESS_POLICY: ThrottlePolicy = { free: 30, baseMs: 1000, maxMs: 15 * 60_000 };
/** Failures older than this are forgotten. */
export const FORGET_AFTER_MS = 60 * 60_000;

export const accountKey = (email: string) => `account:${sha256(email)}`;
export const addressKey = (ip: string) => `ip:${ip}`;

/**
 * Failed-login counters in the database, so that every replica sees the same
 * count. A lock is only a delay that doubles with each failure up to a cap:
 * an attacker can slow a victim's sign-in, never lock the victim out for good.
 */
@Injectable()
export class LoginThrottleService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Milliseconds until any of the keys may try again; 0 when none is locked. */
  async retryAfterMs(keys: string[]): Promise<number> {
    const rows = await this.db.manager.findBy(LoginThrottle, { key: In(keys) });
    const now = this.clock.nowMs();
    return Math.max(0, ...rows.map((r) => (r.lockedUntil ? r.lockedUntil.getTime() - now : 0)));
  }

  /** Counts a failure; returns the lock it caused, if any. */
  async recordFailure(key: string, policy: ThrottlePolicy): Promise<{ failures: number; lockedForMs: number }> {
    const now = this.clock.nowMs();
    return this.db.transaction(async (m) => {
      const [sql, params] = this.db.dataSource.driver.escapeQueryWithParameters(
        `INSERT INTO "login_throttles" ("key", "failures", "locked_until", "updated_at") VALUES (:key, 1, NULL, :now)
         ON CONFLICT ("key") DO UPDATE SET
           "failures" = CASE WHEN "login_throttles"."updated_at" < :forget THEN 1 ELSE "login_throttles"."failures" + 1 END,
           "updated_at" = :now
         RETURNING "failures"`,
        { key, now, forget: now - FORGET_AFTER_MS },
      );
      const rows: Array<{ failures: number | string }> = await m.query(sql, params);
      const failures = Number(rows[0].failures);
      const over = failures - policy.free;
      const lockedForMs = over > 0 ? Math.min(policy.baseMs * 2 ** Math.min(over - 1, 30), policy.maxMs) : 0;
      if (lockedForMs > 0) await m.update(LoginThrottle, { key }, { lockedUntil: new Date(now + lockedForMs) });
      return { failures, lockedForMs };
    });
  }

  async clear(key: string): Promise<void> {
    await this.db.transaction((m) => m.delete(LoginThrottle, { key }));
  }

  /** Deletes counters nobody has touched for FORGET_AFTER_MS and whose lock has passed. */
  async prune(): Promise<number> {
    const cutoff = new Date(this.clock.nowMs() - FORGET_AFTER_MS);
    const result = await this.db.transaction((m) => m.delete(LoginThrottle, { updatedAt: LessThan(cutoff) }));
    return result.affected ?? 0;
  }
}
