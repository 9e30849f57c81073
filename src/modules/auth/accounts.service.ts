import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import type { EntityManager } from 'typeorm';
import { AuditInput, AuditTrail, RecordIn } from '../audit';
import { Locale, textProblem } from '../web';
import { ACCOUNT_POLICY, ADDRESS_POLICY, LoginThrottleService, ThrottlePolicy, accountKey, addressKey } from './login-throttle.service';
import { PasswordHasher, passwordProblem } from './passwords';
import { SessionStore } from './session.store';
import { Role, Theme, User } from './user.entity';
import { UserChanges, UsersRepository } from './users.repository';

/** Writes of another part of an action, run in its transaction: the link it uses up, the browser it signs in. */
export type WritesIn = (m: EntityManager, record: RecordIn) => Promise<void>;

/** The session an action signs its browser in with, made in the action's transaction (see PendingSignIn). */
export type SignInWith = (m: EntityManager, user: User) => Promise<void>;

/** The address of a new account is taken (thrown inside a transaction, which it ends). */
class EmailTaken extends Error {}

/** What `create` answers: `fn`'s result, or the form's error when the address was taken (see `Accounts.insertIn`). */
export async function unlessTaken<T>(fn: () => Promise<T>): Promise<T | { errors: FieldErrors }> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof EmailTaken) return { errors: { email: 'signup.emailTaken' } };
    throw error;
  }
}

/** Field name → message key, for forms and problem details. */
export type FieldErrors = Record<string, string>;

export type LoginResult = { outcome: 'ok'; user: User } | { outcome: 'invalid' } | { outcome: 'disabled' } | { outcome: 'throttled'; retryAfterS: number };

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,63}$/;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface NewAccount {
  email: string;
  password: string;
  displayName: string;
}

/** Each field's rule of a new account: the message key of what is wrong with the value, or null. */
export const ACCOUNT_FIELD_RULES: { readonly [F in keyof NewAccount]: (value: string) => string | null } = {
  email: (value) => {
    const email = normalizeEmail(value);
    if (!email) return 'form.required';
    const problem = textProblem(email, { max: 254 });
    if (problem) return problem.kind === 'characters' ? 'form.invalidCharacters' : 'email.invalid';
    return EMAIL.test(email) ? null : 'email.invalid';
  },
  displayName: (value) => {
    const name = value.trim();
    if (!name) return 'form.required';
    const problem = textProblem(name, { min: 1, max: 100 });
    if (problem) return problem.kind === 'characters' ? 'form.invalidCharacters' : 'displayName.invalid';
    return null;
  },
  password: (value) => passwordProblem(value),
};

export function accountProblems(input: NewAccount): FieldErrors {
  const errors: FieldErrors = {};
  for (const field of ['email', 'displayName', 'password'] as const) {
    const problem = ACCOUNT_FIELD_RULES[field](input[field] ?? '');
    if (problem) errors[field] = problem;
  }
  return errors;
}

/**
 * Accounts: sign-up, sign-in (throttled, without telling whether an email
 * exists), password changes and the administrative changes that end a
 * user's sessions.
 */
@Injectable()
export class Accounts {
  constructor(
    private readonly users: UsersRepository,
    private readonly clock: Clock,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottleService,
    private readonly sessions: SessionStore,
    private readonly audit: AuditTrail,
  ) {}

  findById(id: string): Promise<User | null> {
    return this.users.findById(id);
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.findByEmail(normalizeEmail(email));
  }

  /** The display names of these accounts, by id (a deleted account has none): who wrote a note or a version. */
  displayNames(ids: Iterable<string | null>): Promise<Map<string, string>> {
    return this.users.displayNames([...new Set([...ids].filter((id): id is string => !!id))]);
  }

  list(): Promise<User[]> {
    return this.users.list();
  }

  /**
   * Creates an account with its `account.created` event, both or neither. The first account ever becomes admin, even
   * when two sign up at once (see UsersRepository.insert).
   */
  async create(input: NewAccount, role: Role = 'user', actorId: string | null = null, signIn?: SignInWith): Promise<{ user: User } | { errors: FieldErrors }> {
    const prepared = await this.prepare(input, role);
    if ('errors' in prepared) return prepared;
    return unlessTaken(async () => {
      await this.audit.transaction(async (m, record) => {
        await this.insertIn(m, record, prepared.user, actorId);
        await signIn?.(m, prepared.user);
      });
      return prepared;
    });
  }

  /** A new account checked and its password hashed (slow: never inside a transaction), not yet stored. */
  async prepare(input: NewAccount, role: Role = 'user'): Promise<{ user: User } | { errors: FieldErrors }> {
    const errors = accountProblems(input);
    if (Object.keys(errors).length) return { errors };
    const email = normalizeEmail(input.email);
    const passwordHash = await this.hasher.hash(input.password);
    const now = this.clock.now();
    const user: User = {
      id: randomUUID(),
      email,
      displayName: input.displayName.trim(),
      passwordHash,
      role,
      locale: null,
      timeZone: 'UTC',
      theme: 'system',
      disabledAt: null,
      createdAt: now,
      updatedAt: now,
      passwordChangedAt: now,
    };
    return { user };
  }

  /**
   * Stores a prepared account and records `account.created` in the caller's transaction (`AuditTrail.transaction`);
   * throws EmailTaken, which ends the transaction, when the address is taken.
   */
  async insertIn(m: EntityManager, record: RecordIn, user: User, actorId: string | null = null): Promise<void> {
    const role = user.role;
    if (!(await this.users.insert(user, (first) => (first ? 'admin' : role), m))) throw new EmailTaken();
    await record('account.created', { userId: user.id, actorId, details: { role: user.role } });
  }

  async login(email: string, password: string, ip: string): Promise<LoginResult> {
    const normalized = normalizeEmail(email);
    const keys: Array<[string, ThrottlePolicy]> = [
      [accountKey(normalized, ip), ACCOUNT_POLICY],
      [addressKey(ip), ADDRESS_POLICY],
    ];
    const reservation = await this.throttle.reserve(keys);
    if (!reservation.allowed) {
      const retryAfterS = Math.ceil(reservation.retryAfterMs / 1000);
      await this.audit.record('login.throttled', { ip, details: { retryAfterS } });
      return { outcome: 'throttled', retryAfterS };
    }
    const user = normalized ? await this.findByEmail(normalized) : null;
    const ok = user ? await this.hasher.verify(user.passwordHash, password) : await this.hasher.verifyDummy(password);
    if (!ok || !user) {
      await this.audit.record('login.failure', { userId: user?.id ?? null, ip, details: { knownAccount: !!user } });
      await this.recordLocks(keys, user?.id ?? null, ip);
      return { outcome: 'invalid' };
    }
    // Told only once the password checks out: a guesser learns nothing from it, the person learns why.
    if (user.disabledAt) {
      await this.audit.record('login.disabled', { userId: user.id, ip });
      return { outcome: 'disabled' };
    }
    await this.throttle.clear(keys[0][0]);
    await this.throttle.forgive(keys[1][0]);
    if (this.hasher.needsRehash(user.passwordHash)) {
      user.passwordHash = await this.hasher.hash(password);
      await this.users.update(user.id, { passwordHash: user.passwordHash });
    }
    await this.audit.record('login.success', { userId: user.id, ip });
    return { outcome: 'ok', user };
  }

  /** Every delay a failure leaves behind is logged. */
  private async recordLocks(keys: Array<[string, ThrottlePolicy]>, userId: string | null, ip: string): Promise<void> {
    for (const [key] of keys) {
      const lockedForMs = await this.throttle.lockedForMs(key);
      if (lockedForMs > 0) {
        await this.audit.record('login.locked', { userId, ip, details: { scope: key.split(':')[0], lockedForS: Math.ceil(lockedForMs / 1000) } });
      }
    }
  }

  /**
   * Checks the current password, sets the new one and ends every other session of the user; `signIn` gives this
   * browser a new session id in the same transaction (a credential change is a privilege change).
   */
  async changePassword(
    user: User,
    current: string,
    next: string,
    keepSession: string,
    ip: string,
    signIn?: SignInWith,
  ): Promise<FieldErrors | { retryAfterS: number } | null> {
    // Guessing the current password from a stolen session is throttled like signing in.
    const keys: Array<[string, ThrottlePolicy]> = [[accountKey(user.email, ip), ACCOUNT_POLICY]];
    const reservation = await this.throttle.reserve(keys);
    if (!reservation.allowed) return { retryAfterS: Math.ceil(reservation.retryAfterMs / 1000) };
    if (!(await this.hasher.verify(user.passwordHash, current))) {
      await this.audit.record('password.change_failed', { userId: user.id, ip });
      await this.recordLocks(keys, user.id, ip);
      return { currentPassword: 'account.password.wrongCurrent' };
    }
    await this.throttle.clear(keys[0][0]);
    const problem = passwordProblem(next);
    if (problem) return { newPassword: problem };
    const hash = await this.hasher.hash(next);
    const now = this.clock.now();
    await this.change(
      user.id,
      { passwordHash: hash, updatedAt: now, passwordChangedAt: now },
      { keep: keepSession },
      (ended) => ['password.changed', { userId: user.id, ip, details: { sessionsEnded: ended } }],
      { after: signIn && ((m) => signIn(m, user)) },
    );
    return null;
  }

  /**
   * Sets a new password and ends every session of the user: an operator's `kiroku users reset-password`, or a reset
   * link, whose own writes are kept with it (`before`: the link used up; `after`: the browser signed in anew).
   */
  async resetPassword(userId: string, password: string, writes: { before?: WritesIn; after?: WritesIn } = {}): Promise<FieldErrors | null> {
    const problem = passwordProblem(password);
    if (problem) return { password: problem };
    const hash = await this.hasher.hash(password);
    const now = this.clock.now();
    await this.change(
      userId,
      { passwordHash: hash, updatedAt: now, passwordChangedAt: now },
      {},
      (ended) => ['password.reset', { userId, details: { sessionsEnded: ended } }],
      writes,
    );
    return null;
  }

  async setRole(targetId: string, role: Role, actorId: string | null): Promise<void> {
    await this.change(targetId, { role, updatedAt: this.clock.now() }, {}, (ended) => [
      'role.changed',
      { userId: targetId, actorId, details: { role, sessionsEnded: ended } },
    ]);
  }

  async setDisabled(targetId: string, disabled: boolean, actorId: string | null): Promise<void> {
    const now = this.clock.now();
    await this.change(targetId, { disabledAt: disabled ? now : null, updatedAt: now }, disabled ? {} : null, (ended) => [
      disabled ? 'account.disabled' : 'account.enabled',
      { userId: targetId, actorId, details: { sessionsEnded: ended } },
    ]);
  }

  /**
   * An account change, the sessions it ends (every one, every one but `keep`, or none) and its event, in one
   * transaction with the action's other writes (`before` and `after` the change): a failure leaves the account as
   * it was with its sessions, never changed with a stolen session still signed in, nor changed and answered "failed".
   */
  private change(
    userId: string,
    changes: UserChanges,
    end: { keep?: string } | null,
    event: (ended: number) => [string, AuditInput],
    writes: { before?: WritesIn; after?: WritesIn } = {},
  ): Promise<number> {
    return this.audit.transaction(async (m, record) => {
      await writes.before?.(m, record);
      await this.users.update(userId, changes, m);
      const ended = end ? await this.sessions.deleteForUser(userId, end.keep, m) : 0;
      await record(...event(ended));
      await writes.after?.(m, record);
      return ended;
    });
  }

  async updatePreferences(userId: string, { theme, ...prefs }: { locale: Locale | null; timeZone: string; theme?: Theme }): Promise<void> {
    await this.users.update(userId, { ...prefs, ...(theme ? { theme } : {}), updatedAt: this.clock.now() });
  }
}
