import { isIPv6 } from 'node:net';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { sha256 } from '../web';
import { LoginThrottleRepository, type ThrottlePolicy } from './login-throttle.repository';

export type { ThrottlePolicy } from './login-throttle.repository';

/** Per account and client address: after 5 failures, 1 s, 2 s, 4 s … at most 15 minutes. */
export const ACCOUNT_POLICY: ThrottlePolicy = { free: 5, baseMs: 1000, maxMs: 15 * 60_000 };
/** Per client address, any account: generous for offices behind one NAT, still stops spraying. */
export const ADDRESS_POLICY: ThrottlePolicy = { free: 30, baseMs: 1000, maxMs: 15 * 60_000 };
/** Sign-ups per client address: each costs an argon2 hash. */
export const SIGNUP_POLICY: ThrottlePolicy = { free: 10, baseMs: 10_000, maxMs: 60 * 60_000 };
/** Counts untouched for this long are forgotten. */
export const FORGET_AFTER_MS = 60 * 60_000;

/** IPv6 clients are counted per /64: one host usually owns the whole prefix. */
export function clientAddress(ip: string): string {
  const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (!isIPv6(plain)) return plain;
  const [head, tail = ''] = plain.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const full = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${full
    .slice(0, 4)
    .map((h) => h.padStart(4, '0'))
    .join(':')}::/64`;
}

/** The account as seen from one address: someone else's failures elsewhere never slow the owner down. */
export const accountKey = (email: string, ip: string) => `account:${sha256(`${email}\n${clientAddress(ip)}`)}`;
export const addressKey = (ip: string) => `ip:${clientAddress(ip)}`;
export const signupKey = (ip: string) => `signup:${clientAddress(ip)}`;

export type Reservation = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Attempt counters in the database, shared by every replica. An attempt is
 * reserved before the password is checked, in one statement that also sets
 * the next delay, so parallel guesses cannot slip past a lock: while a
 * delay runs the statement changes nothing and the attempt is refused. A
 * delay doubles with each attempt up to a cap, and counters are forgotten
 * after an idle hour: nobody is locked out for good.
 */
@Injectable()
export class LoginThrottleService {
  constructor(
    private readonly throttles: LoginThrottleRepository,
    private readonly clock: Clock,
  ) {}

  /** Counts an attempt on every key, or refuses when any key is in a delay. */
  async reserve(keys: Array<[string, ThrottlePolicy]>): Promise<Reservation> {
    const locked = await this.retryAfterMs(keys.map(([k]) => k));
    if (locked > 0) return { allowed: false, retryAfterMs: locked };
    for (const [key, policy] of keys) {
      const result = await this.count(key, policy);
      if (!result.allowed) return result;
    }
    return { allowed: true };
  }

  /** Milliseconds until all of the keys may try again; 0 when none is in a delay. */
  async retryAfterMs(keys: string[]): Promise<number> {
    const locks = await this.throttles.lockedUntil(keys);
    const now = this.clock.nowMs();
    return Math.max(0, ...locks.map((until) => (until ? until.getTime() - now : 0)));
  }

  /** The delay a key is in right now, in milliseconds (0 when none). */
  async lockedForMs(key: string): Promise<number> {
    return this.retryAfterMs([key]);
  }

  /** An attempt that turned out well: it no longer counts against the key, and the key's delay ends. */
  async forgive(key: string): Promise<void> {
    await this.throttles.forgive(key);
  }

  async clear(key: string): Promise<void> {
    await this.throttles.clear(key);
  }

  private async count(key: string, policy: ThrottlePolicy): Promise<Reservation> {
    const now = this.clock.nowMs();
    const counted = await this.throttles.countAttempt(key, policy, now, now - FORGET_AFTER_MS);
    if (counted.counted) return { allowed: true };
    return { allowed: false, retryAfterMs: Math.max(1, (counted.lockedUntil?.getTime() ?? now) - now) };
  }
}
