import { FakeClock } from '@kiroku/clock';
import type { AuditTrail } from '../audit';
import { RecordedAudit } from './recorded-audit.fake';
import { sha256 } from '../web';
import type { ApiTokensRepository } from './api-tokens.repository';
import { FakeApiTokensRepository } from './api-tokens.repository.fake';
import { ApiTokens } from './api-tokens.service';
import type { User } from './user.entity';
import { FakeUsersRepository } from './users.repository.fake';

describe('ApiTokens', () => {
  let clock: FakeClock;
  let users: FakeUsersRepository;
  let rows: FakeApiTokensRepository;
  let tokens: ApiTokens;
  let alice: User;
  let audit: RecordedAudit;

  const newUser = (id: string): Promise<User> => users.add(id, clock.now());

  beforeEach(async () => {
    clock = new FakeClock(Date.UTC(2026, 0, 1));
    users = new FakeUsersRepository();
    rows = new FakeApiTokensRepository(users);
    audit = new RecordedAudit();
    tokens = new ApiTokens(rows as unknown as ApiTokensRepository, clock, audit as unknown as AuditTrail);
    alice = await newUser('alice');
  });

  it('hands out the token once and stores only its hash and its public prefix', async () => {
    const { token, row } = await tokens.create(alice.id, 'laptop');
    expect(token).toMatch(/^krk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(`${row.prefix}_`)).toBe(true);
    expect(rows.rows.get(row.id)!.tokenHash).toBe(sha256(token));
    expect(JSON.stringify([...rows.rows.values()])).not.toContain(token);
    // Recorded with the row, never with the secret.
    expect(audit.events).toEqual([{ type: 'token.created', userId: alice.id, ip: null, details: { tokenId: row.id, prefix: row.prefix } }]);
    expect(JSON.stringify(audit.events)).not.toContain(token.slice(17));
  });

  it('lets the token in as its user, and nothing that merely looks like it', async () => {
    const { token } = await tokens.create(alice.id, 'laptop');
    expect(await tokens.authenticate(token)).toMatchObject({ user: { id: alice.id }, token: { name: 'laptop' } });
    const forged = `${token.slice(0, 17)}${'A'.repeat(43)}`;
    expect(await tokens.authenticate(forged)).toBeNull();
    expect(await tokens.authenticate(`${token}x`)).toBeNull();
    expect(await tokens.authenticate('')).toBeNull();
  });

  it('refuses a revoked token, and a token of a disabled account', async () => {
    const revoked = await tokens.create(alice.id, 'old');
    const kept = await tokens.create(alice.id, 'kept');
    expect(await tokens.revoke(alice.id, revoked.row.id)).toMatchObject({ id: revoked.row.id });
    expect(await tokens.authenticate(revoked.token)).toBeNull();
    expect((await tokens.list(alice.id)).map((t) => t.name)).toEqual(['kept']);
    await users.update(alice.id, { disabledAt: clock.now() });
    expect(await tokens.authenticate(kept.token)).toBeNull();
  });

  it("revokes only its owner's tokens, each once", async () => {
    const bob = await newUser('bob');
    const { row } = await tokens.create(alice.id, 'laptop');
    expect(await tokens.revoke(bob.id, row.id)).toBeNull();
    expect(await tokens.revoke(alice.id, row.id)).not.toBeNull();
    expect(await tokens.revoke(alice.id, row.id)).toBeNull();
  });

  it('records when a token was used, at most once a minute', async () => {
    const { token, row } = await tokens.create(alice.id, 'laptop');
    await tokens.authenticate(token);
    expect(rows.rows.get(row.id)!.lastUsedAt).toEqual(clock.now());
    const first = clock.now();
    clock.advance(59_999);
    await tokens.authenticate(token);
    expect(rows.rows.get(row.id)!.lastUsedAt).toEqual(first);
    clock.advance(1);
    await tokens.authenticate(token);
    expect(rows.rows.get(row.id)!.lastUsedAt).toEqual(clock.now());
  });
});
