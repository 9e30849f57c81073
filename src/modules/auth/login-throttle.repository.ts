import { Injectable } from '@nestjs/common';
import { Database } from '@kiroku/persistence';
import { In } from 'typeorm';
import { LoginThrottle } from './login-throttle.entity';

/** How failures turn into delays: the counting happens in one statement here. */
export interface ThrottlePolicy {
  /** Attempts allowed before any delay. */
  free: number;
  /** The first delay; each further attempt doubles it. */
  baseMs: number;
  /** The longest delay: nobody is ever locked out for good. */
  maxMs: number;
}

/** An attempt counted, or refused because the key is in a delay (until `lockedUntil`). */
export type CountedAttempt = { counted: true } | { counted: false; lockedUntil: Date | null };

/** Failed-login counters (the login_throttles table), shared by every replica: the only SQL on it. */
@Injectable()
export class LoginThrottleRepository {
  constructor(private readonly db: Database) {}

  /** The end of each existing key's delay (null: none); keys without a counter are left out. */
  async lockedUntil(keys: string[]): Promise<Array<Date | null>> {
    const rows = await this.db.manager.findBy(LoginThrottle, { key: In(keys) });
    return rows.map((r) => r.lockedUntil);
  }

  /**
   * Counts an attempt on `key` at `now`, in one statement that also sets the
   * key's next delay, so that parallel attempts cannot slip past a delay:
   * while one runs, nothing changes and the attempt is not counted. A counter
   * last changed before `forgetBefore` starts again from one. After attempt
   * n (n >= free) the next one waits base * 2^(n - free), capped at max.
   */
  async countAttempt(key: string, policy: ThrottlePolicy, now: number, forgetBefore: number): Promise<CountedAttempt> {
    const min = this.db.engine === 'postgres' ? 'LEAST' : 'MIN';
    // Parameters are cast: PostgreSQL must not guess int4 for epoch milliseconds.
    const [nowP, free, base, max] = ['CAST(:now AS bigint)', 'CAST(:free AS integer)', 'CAST(:baseMs AS bigint)', 'CAST(:maxMs AS bigint)'];
    const next = `(CASE WHEN "updated_at" < CAST(:forget AS bigint) THEN 1 ELSE "failures" + 1 END)`;
    const delay = `${min}(${max}, ${base} * (1 << ${min}(20, ${next} - ${free})))`;
    return this.db.transaction(async (m) => {
      const [insert, insertParams] = this.db.dataSource.driver.escapeQueryWithParameters(
        `INSERT INTO "login_throttles" ("key", "failures", "locked_until", "updated_at") VALUES (:key, 0, NULL, CAST(:now AS bigint)) ON CONFLICT ("key") DO NOTHING`,
        { key, now },
      );
      await m.query(insert, insertParams);
      const [update, updateParams] = this.db.dataSource.driver.escapeQueryWithParameters(
        `UPDATE "login_throttles"
            SET "locked_until" = CASE WHEN ${next} >= ${free} THEN ${nowP} + ${delay} ELSE NULL END,
                "failures" = ${next},
                "updated_at" = ${nowP}
          WHERE "key" = :key AND ("locked_until" IS NULL OR "locked_until" <= ${nowP})
          RETURNING "failures"`,
        { key, now, forget: forgetBefore, free: policy.free, baseMs: policy.baseMs, maxMs: policy.maxMs },
      );
      // Structured result: PostgreSQL and SQLite otherwise shape an UPDATE … RETURNING result differently.
      const result = await m.queryRunner!.query(update, updateParams, true);
      if (result.records.length > 0) return { counted: true } as const;
      const row = await m.findOneBy(LoginThrottle, { key });
      return { counted: false, lockedUntil: row?.lockedUntil ?? null } as const;
    });
  }

  /** Takes one failure off the key's count and ends its delay. */
  async forgive(key: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const [sql, params] = this.db.dataSource.driver.escapeQueryWithParameters(
        `UPDATE "login_throttles" SET "failures" = CASE WHEN "failures" > 0 THEN "failures" - 1 ELSE 0 END, "locked_until" = NULL WHERE "key" = :key`,
        { key },
      );
      await m.query(sql, params);
    });
  }

  async clear(key: string): Promise<void> {
    await this.db.transaction((m) => m.delete(LoginThrottle, { key }));
  }
}
