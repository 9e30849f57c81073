import { FakeClock } from '@kiroku/clock';
import type { SecurityConfig } from '@kiroku/config';
import type { AuditTrail } from '../audit';
import { RecordedAudit } from './recorded-audit.fake';
import { Accounts } from './accounts.service';
import type { LoginThrottleRepository } from './login-throttle.repository';
import { FakeLoginThrottleRepository } from './login-throttle.repository.fake';
import { LoginThrottleService } from './login-throttle.service';
import type { PasswordHasher } from './passwords';
import { SessionStore } from './session.store';
import type { SessionsRepository } from './sessions.repository';
import { FakeSessionsRepository } from './sessions.repository.fake';
import type { User } from './user.entity';
import type { UsersRepository } from './users.repository';
import { FakeUsersRepository } from './users.repository.fake';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const PASSWORD = 'a long enough passphrase';

/** Hashes that name their parameters' generation, so that a rehash shows; counts what was verified how. */
class FakeHasher implements Pick<PasswordHasher, keyof PasswordHasher> {
  verifications = 0;
  dummyVerifications = 0;

  async hash(password: string): Promise<string> {
    return `v2:${password}`;
  }

  async verify(stored: string, password: string): Promise<boolean> {
    this.verifications++;
    return stored.slice(3) === password;
  }

  async verifyDummy(): Promise<false> {
    this.dummyVerifications++;
    return false;
  }

  needsRehash(stored: string): boolean {
    return !stored.startsWith('v2:');
  }
}

describe('Accounts', () => {
  let clock: FakeClock;
  let users: FakeUsersRepository;
  let sessionRows: FakeSessionsRepository;
  let sessions: SessionStore;
  let hasher: FakeHasher;
  let audit: RecordedAudit;
  let accounts: Accounts;

  beforeEach(() => {
    clock = new FakeClock(Date.UTC(2026, 0, 1));
    users = new FakeUsersRepository();
    sessionRows = new FakeSessionsRepository(users);
    const security = { sessionSecret: 's'.repeat(32), sessionIdleMs: 30 * MINUTE, sessionLifetimeMs: 7 * 24 * 60 * MINUTE } as SecurityConfig;
    sessions = new SessionStore(sessionRows as unknown as SessionsRepository, clock, security);
    hasher = new FakeHasher();
    audit = new RecordedAudit();
    const throttle = new LoginThrottleService(new FakeLoginThrottleRepository() as unknown as LoginThrottleRepository, clock);
    accounts = new Accounts(users as unknown as UsersRepository, clock, hasher, throttle, sessions, audit as unknown as AuditTrail);
  });

  async function signUp(email = 'alice@example.com', password = PASSWORD): Promise<User> {
    const created = await accounts.create({ email, password, displayName: 'Alice' });
    if (!('user' in created)) throw new Error(JSON.stringify(created.errors));
    return created.user;
  }

  describe('signing up', () => {
    it('the first account ever is the admin, whatever role was asked for; later ones get the role asked for', async () => {
      expect((await signUp('first@example.com')).role).toBe('admin');
      expect((await signUp('second@example.com')).role).toBe('user');
      expect((await users.findByEmail('second@example.com'))!.role).toBe('user');
    });

    it('stores the email trimmed and lower-cased and the password only as its hash', async () => {
      const user = await signUp('  Alice@Example.COM ');
      expect(user.email).toBe('alice@example.com');
      expect(users.rows.get(user.id)).toMatchObject({
        email: 'alice@example.com',
        passwordHash: `v2:${PASSWORD}`,
        createdAt: clock.now(),
        passwordChangedAt: clock.now(),
      });
      expect(audit.events).toContainEqual(expect.objectContaining({ type: 'account.created', userId: user.id, details: { role: 'admin' } }));
    });

    it('refuses an email already taken, in any case', async () => {
      await signUp('alice@example.com');
      expect(await accounts.create({ email: 'ALICE@example.com', password: PASSWORD, displayName: 'Another Alice' })).toEqual({
        errors: { email: 'signup.emailTaken' },
      });
      expect(users.rows.size).toBe(1);
    });

    it('names every invalid field at once and stores nothing', async () => {
      expect(await accounts.create({ email: 'not an email', password: 'password', displayName: ' ' })).toEqual({
        errors: { email: 'email.invalid', displayName: 'form.required', password: 'password.common' },
      });
      expect(users.rows.size).toBe(0);
    });
  });

  describe('signing in', () => {
    it('lets the owner in with the right password, the email typed in any case', async () => {
      const user = await signUp();
      expect(await accounts.login(' ALICE@example.com', PASSWORD, '10.0.0.1')).toEqual({ outcome: 'ok', user: expect.objectContaining({ id: user.id }) });
      expect(audit.types()).toContain('login.success');
    });

    it('gives a wrong password and an unknown email the same answer, and verifies a dummy hash for the unknown one so both take as long', async () => {
      await signUp();
      expect(await accounts.login('alice@example.com', 'wrong password', '10.0.0.1')).toEqual({ outcome: 'invalid' });
      expect([hasher.verifications, hasher.dummyVerifications]).toEqual([1, 0]);
      expect(await accounts.login('nobody@example.com', PASSWORD, '10.0.0.1')).toEqual({ outcome: 'invalid' });
      expect([hasher.verifications, hasher.dummyVerifications]).toEqual([1, 1]);
      expect(audit.events.filter((e) => e.type === 'login.failure').map((e) => e.details)).toEqual([{ knownAccount: true }, { knownAccount: false }]);
    });

    it('keeps a disabled account out, saying why only once the password checks out (a guesser learns nothing)', async () => {
      const user = await signUp();
      await accounts.setDisabled(user.id, true, null);
      expect(await accounts.login('alice@example.com', 'wrong', '10.0.0.1')).toEqual({ outcome: 'invalid' });
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toEqual({ outcome: 'disabled' });
      expect([hasher.verifications, hasher.dummyVerifications]).toEqual([2, 0]); // the same work as for an enabled account
      expect(audit.types()).toContain('login.disabled');
      expect(audit.types()).not.toContain('login.success');
    });

    it('after five failures, makes the account wait 1 s from that address, then 2 s, without checking any password meanwhile', async () => {
      await signUp();
      for (let i = 0; i < 4; i++) expect(await accounts.login('alice@example.com', 'wrong', '10.0.0.1')).toEqual({ outcome: 'invalid' });
      expect(audit.types()).not.toContain('login.locked');
      expect(await accounts.login('alice@example.com', 'wrong', '10.0.0.1')).toEqual({ outcome: 'invalid' });
      expect(audit.events).toContainEqual(expect.objectContaining({ type: 'login.locked', details: { scope: 'account', lockedForS: 1 } }));

      const checked = hasher.verifications;
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toEqual({ outcome: 'throttled', retryAfterS: 1 });
      expect(hasher.verifications).toBe(checked);
      expect(audit.events).toContainEqual(expect.objectContaining({ type: 'login.throttled', details: { retryAfterS: 1 } }));

      clock.advance(SECOND);
      expect(await accounts.login('alice@example.com', 'wrong', '10.0.0.1')).toEqual({ outcome: 'invalid' });
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toEqual({ outcome: 'throttled', retryAfterS: 2 });
      clock.advance(2 * SECOND);
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toMatchObject({ outcome: 'ok' });
    });

    it('never makes anyone wait more than 15 minutes', async () => {
      await signUp();
      const waits: number[] = [];
      for (let i = 0; i < 20; i++) {
        const locked = audit.events.length;
        expect(await accounts.login('alice@example.com', 'wrong', '10.0.0.1')).toEqual({ outcome: 'invalid' });
        const lock = audit.events.slice(locked).find((e) => e.type === 'login.locked');
        waits.push(lock ? Number(lock.details!.lockedForS) : 0);
        clock.advance(waits[i] * SECOND);
      }
      expect(waits).toEqual([0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900, 900, 900]);
    });

    it('does not slow the owner down for failures from another address', async () => {
      await signUp();
      for (let i = 0; i < 10; i++) {
        await accounts.login('alice@example.com', 'wrong', '203.0.113.9');
        clock.advance(10 * MINUTE);
      }
      await accounts.login('alice@example.com', 'wrong', '203.0.113.9');
      expect(await accounts.login('alice@example.com', PASSWORD, '203.0.113.9')).toMatchObject({ outcome: 'throttled' });
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toMatchObject({ outcome: 'ok' });
    });

    it('counts an IPv6 client by its /64: another address of the same network shares its count', async () => {
      await signUp();
      for (let i = 0; i < 5; i++) await accounts.login('alice@example.com', 'wrong', `2001:db8:1:2::${i + 1}`);
      expect(await accounts.login('alice@example.com', PASSWORD, '2001:db8:1:2:ffff::9')).toMatchObject({ outcome: 'throttled' });
      expect(await accounts.login('alice@example.com', PASSWORD, '2001:db8:1:3::1')).toMatchObject({ outcome: 'ok' });
    });

    it('stops one address trying many accounts after 30 attempts', async () => {
      for (let i = 0; i < 30; i++) expect(await accounts.login(`user${i}@example.com`, 'guess', '10.0.0.66')).toEqual({ outcome: 'invalid' });
      expect(await accounts.login('user30@example.com', 'guess', '10.0.0.66')).toEqual({ outcome: 'throttled', retryAfterS: 1 });
      expect(audit.events).toContainEqual(expect.objectContaining({ type: 'login.locked', details: { scope: 'ip', lockedForS: 1 } }));
    });

    it("a success wipes the account's failures: five more before any wait", async () => {
      await signUp();
      for (let i = 0; i < 4; i++) await accounts.login('alice@example.com', 'wrong', '10.0.0.1');
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toMatchObject({ outcome: 'ok' });
      for (let i = 0; i < 4; i++) await accounts.login('alice@example.com', 'wrong', '10.0.0.1');
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toMatchObject({ outcome: 'ok' });
    });

    it('forgets failures nobody repeated for an hour', async () => {
      await signUp();
      for (let i = 0; i < 4; i++) await accounts.login('alice@example.com', 'wrong', '10.0.0.1');
      clock.advance(61 * MINUTE);
      for (let i = 0; i < 4; i++) await accounts.login('alice@example.com', 'wrong', '10.0.0.1');
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toMatchObject({ outcome: 'ok' });
    });

    it('rehashes a password stored with older parameters once it is known to be right', async () => {
      const user = await signUp();
      await users.update(user.id, { passwordHash: `v1:${PASSWORD}` });
      await accounts.login('alice@example.com', PASSWORD, '10.0.0.1');
      expect(users.rows.get(user.id)!.passwordHash).toBe(`v2:${PASSWORD}`);
    });
  });

  describe('changing the password', () => {
    it('needs the current password: a wrong one changes nothing', async () => {
      const user = await signUp();
      expect(await accounts.changePassword(user, 'not it', 'a brand new passphrase', 'keep', '10.0.0.1')).toEqual({
        currentPassword: 'account.password.wrongCurrent',
      });
      expect(users.rows.get(user.id)!.passwordHash).toBe(`v2:${PASSWORD}`);
      expect(audit.types()).toContain('password.change_failed');
    });

    it('refuses a new password that is too short or too common, and keeps the old one', async () => {
      const user = await signUp();
      expect(await accounts.changePassword(user, PASSWORD, 'short', 'keep', '10.0.0.1')).toEqual({ newPassword: 'password.tooShort' });
      expect(await accounts.changePassword(user, PASSWORD, 'password1', 'keep', '10.0.0.1')).toEqual({ newPassword: 'password.common' });
      expect(users.rows.get(user.id)!.passwordHash).toBe(`v2:${PASSWORD}`);
    });

    it('sets the new one and ends every other session of the user, keeping this one', async () => {
      const user = await signUp();
      const other = await signUp('bob@example.com');
      const here = await sessions.create(user.id, '10.0.0.1', 'here');
      await sessions.create(user.id, '10.0.0.2', 'elsewhere');
      const bobs = await sessions.create(other.id, '10.0.0.3', 'bob');
      clock.advance(MINUTE);
      expect(await accounts.changePassword(user, PASSWORD, 'a brand new passphrase', here.session.idHash, '10.0.0.1')).toBeNull();
      expect(users.rows.get(user.id)).toMatchObject({ passwordHash: 'v2:a brand new passphrase', passwordChangedAt: clock.now(), updatedAt: clock.now() });
      expect([...sessionRows.rows.keys()].sort()).toEqual([here.session.idHash, bobs.session.idHash].sort());
      expect(audit.events).toContainEqual(expect.objectContaining({ type: 'password.changed', details: { sessionsEnded: 1 } }));
      expect(await accounts.login('alice@example.com', PASSWORD, '10.0.0.1')).toEqual({ outcome: 'invalid' });
      expect(await accounts.login('alice@example.com', 'a brand new passphrase', '10.0.0.1')).toMatchObject({ outcome: 'ok' });
    });

    it('throttles guesses of the current password like sign-in attempts', async () => {
      const user = await signUp();
      for (let i = 0; i < 5; i++) await accounts.changePassword(user, 'guess', 'a brand new passphrase', 'keep', '10.0.0.1');
      const checked = hasher.verifications;
      expect(await accounts.changePassword(user, PASSWORD, 'a brand new passphrase', 'keep', '10.0.0.1')).toEqual({ retryAfterS: 1 });
      expect(hasher.verifications).toBe(checked);
      expect(users.rows.get(user.id)!.passwordHash).toBe(`v2:${PASSWORD}`);
    });
  });

  describe('what an operator or an admin changes', () => {
    it('a password reset checks the new password and ends every session of the user', async () => {
      const user = await signUp();
      await sessions.create(user.id, '10.0.0.1', 'a');
      expect(await accounts.resetPassword(user.id, 'short')).toEqual({ password: 'password.tooShort' });
      expect(sessionRows.rows.size).toBe(1);
      expect(await accounts.resetPassword(user.id, 'an operator chose this')).toBeNull();
      expect(sessionRows.rows.size).toBe(0);
      expect(users.rows.get(user.id)!.passwordHash).toBe('v2:an operator chose this');
    });

    it("a role change or disabling ends the user's sessions; enabling again ends none", async () => {
      const admin = await signUp('admin@example.com');
      const user = await signUp();
      await sessions.create(user.id, '10.0.0.1', 'a');
      await accounts.setRole(user.id, 'admin', admin.id);
      expect(users.rows.get(user.id)!.role).toBe('admin');
      expect(sessionRows.rows.size).toBe(0);
      await sessions.create(user.id, '10.0.0.1', 'a');
      await accounts.setDisabled(user.id, true, admin.id);
      expect(users.rows.get(user.id)!.disabledAt).toEqual(clock.now());
      expect(sessionRows.rows.size).toBe(0);
      await sessions.create(user.id, '10.0.0.1', 'a');
      await accounts.setDisabled(user.id, false, admin.id);
      expect(users.rows.get(user.id)!.disabledAt).toBeNull();
      expect(sessionRows.rows.size).toBe(1);
      expect(audit.events.filter((e) => e.actorId === admin.id).map((e) => e.type)).toEqual(['role.changed', 'account.disabled', 'account.enabled']);
    });
  });
});
