import { FakeClock } from '@kiroku/clock';
import type { SecurityConfig } from '@kiroku/config';
import { sha256 } from '../web';
import { SessionStore } from './session.store';
import type { SessionsRepository } from './sessions.repository';
import { FakeSessionsRepository } from './sessions.repository.fake';
import type { User } from './user.entity';
import { FakeUsersRepository } from './users.repository.fake';

const MINUTE = 60_000;
const security = { sessionSecret: 's'.repeat(32), sessionIdleMs: 30 * MINUTE, sessionLifetimeMs: 8 * 60 * MINUTE } as SecurityConfig;

describe('SessionStore', () => {
  let clock: FakeClock;
  let rows: FakeSessionsRepository;
  let store: SessionStore;
  let user: User;

  beforeEach(async () => {
    clock = new FakeClock(Date.UTC(2026, 0, 1));
    const users = new FakeUsersRepository();
    user = await users.add('u1', clock.now(), { email: 'alice@example.com', displayName: 'Alice' });
    rows = new FakeSessionsRepository(users);
    store = new SessionStore(rows as unknown as SessionsRepository, clock, security);
  });

  it('stores only the hash of the cookie, and finds the session and its user by the cookie', async () => {
    const { cookie, session } = await store.create(user.id, '10.0.0.1', 'Firefox');
    expect(session.idHash).toBe(sha256(cookie));
    expect(JSON.stringify([...rows.rows.values()])).not.toContain(cookie);
    expect(await store.lookup(cookie)).toEqual({
      found: { session: expect.objectContaining({ idHash: session.idHash, userId: user.id }), user: expect.objectContaining({ id: user.id }) },
    });
    expect(await store.lookup('another cookie')).toEqual({ missing: true });
  });

  it('ends a session left idle too long, and deletes it', async () => {
    const { cookie } = await store.create(user.id, '10.0.0.1', 'Firefox');
    clock.advance(30 * MINUTE - 1);
    expect(await store.lookup(cookie)).toHaveProperty('found');
    clock.advance(30 * MINUTE);
    expect(await store.lookup(cookie)).toHaveProperty('expired');
    expect(rows.rows.size).toBe(0);
  });

  it('ends a session at its absolute lifetime however active it is', async () => {
    const { cookie } = await store.create(user.id, '10.0.0.1', 'Firefox');
    for (let t = 0; t < 8 * 60 - 20; t += 20) {
      clock.advance(20 * MINUTE);
      expect(await store.lookup(cookie)).toHaveProperty('found');
    }
    clock.advance(20 * MINUTE);
    expect(await store.lookup(cookie)).toHaveProperty('expired');
  });

  it('records activity at most once a minute', async () => {
    const { cookie, session } = await store.create(user.id, '10.0.0.1', 'Firefox');
    const touch = jest.spyOn(rows, 'touch');
    clock.advance(MINUTE - 1);
    await store.lookup(cookie);
    expect(touch).not.toHaveBeenCalled();
    clock.advance(1);
    await store.lookup(cookie);
    expect(touch).toHaveBeenCalledWith(session.idHash, clock.now());
  });

  it("lists a user's active sessions only, newest activity first", async () => {
    const old = await store.create(user.id, '10.0.0.1', 'old');
    clock.advance(20 * MINUTE);
    const recent = await store.create(user.id, '10.0.0.2', 'recent');
    clock.advance(15 * MINUTE);
    expect((await store.listForUser(user.id)).map((s) => s.idHash)).toEqual([recent.session.idHash]);
    expect(old.session.idHash).not.toBe(recent.session.idHash);
  });

  it('names a session in URLs by a handle that reveals neither the cookie nor its hash', async () => {
    const { cookie, session } = await store.create(user.id, '10.0.0.1', 'Firefox');
    const handle = store.handleOf(session.idHash);
    expect(handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(handle).toBe(store.handleOf(session.idHash));
    expect(session.idHash).not.toContain(handle);
    expect(cookie).not.toContain(handle);
  });
});
