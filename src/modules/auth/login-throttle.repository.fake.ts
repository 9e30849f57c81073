import type { CountedAttempt, LoginThrottleRepository } from './login-throttle.repository';
import type { ThrottlePolicy } from './login-throttle.repository';

/** LoginThrottleRepository in memory, for unit tests: countAttempt does in steps what the repository's statement does at once. */
export class FakeLoginThrottleRepository implements Pick<LoginThrottleRepository, keyof LoginThrottleRepository> {
  readonly rows = new Map<string, { failures: number; lockedUntil: Date | null; updatedAt: Date }>();

  async lockedUntil(keys: string[]): Promise<Array<Date | null>> {
    return keys.filter((k) => this.rows.has(k)).map((k) => this.rows.get(k)!.lockedUntil);
  }

  async countAttempt(key: string, policy: ThrottlePolicy, now: number, forgetBefore: number): Promise<CountedAttempt> {
    if (!this.rows.has(key)) this.rows.set(key, { failures: 0, lockedUntil: null, updatedAt: new Date(now) });
    const row = this.rows.get(key)!;
    if (row.lockedUntil && row.lockedUntil.getTime() > now) return { counted: false, lockedUntil: row.lockedUntil };
    const next = row.updatedAt.getTime() < forgetBefore ? 1 : row.failures + 1;
    row.lockedUntil = next >= policy.free ? new Date(now + Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(20, next - policy.free))) : null;
    row.failures = next;
    row.updatedAt = new Date(now);
    return { counted: true };
  }

  async forgive(key: string): Promise<void> {
    const row = this.rows.get(key);
    if (row) Object.assign(row, { failures: Math.max(0, row.failures - 1), lockedUntil: null });
  }

  async clear(key: string): Promise<void> {
    this.rows.delete(key);
  }
}
