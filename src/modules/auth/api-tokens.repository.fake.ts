import { keysetPage, type KeysetPosition } from '@kiroku/persistence';
import type { ApiToken } from './api-token.entity';
import type { ApiTokensRepository } from './api-tokens.repository';
import type { User } from './user.entity';

/** ApiTokensRepository in memory, for unit tests; its users are `users`'s rows. */
export class FakeApiTokensRepository implements Pick<ApiTokensRepository, keyof ApiTokensRepository> {
  readonly rows = new Map<string, ApiToken>();

  constructor(private readonly users: { rows: Map<string, User> }) {}

  async insert(row: ApiToken): Promise<void> {
    if ([...this.rows.values()].some((t) => t.prefix === row.prefix)) throw new Error('duplicate prefix');
    this.rows.set(row.id, { ...row });
  }

  async findByPrefix(prefix: string): Promise<{ token: ApiToken; user: User } | null> {
    const token = [...this.rows.values()].find((t) => t.prefix === prefix);
    const user = token && this.users.rows.get(token.userId);
    return token && user ? { token: { ...token }, user: { ...user } } : null;
  }

  async touch(id: string, lastUsedAt: Date): Promise<void> {
    this.rows.get(id)!.lastUsedAt = lastUsedAt;
  }

  async listActive(userId: string): Promise<ApiToken[]> {
    return [...this.rows.values()]
      .filter((t) => t.userId === userId && !t.revokedAt)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .map((t) => ({ ...t }));
  }

  async pageActive(userId: string, after: KeysetPosition | null, limit: number): Promise<{ items: ApiToken[]; nextCursor: string | null }> {
    const rows = (await this.listActive(userId))
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .filter((t) => !after || t.createdAt.getTime() < after.at || (t.createdAt.getTime() === after.at && t.id < after.id));
    return keysetPage(rows.slice(0, limit + 1), limit, (t) => ({ at: t.createdAt.getTime(), id: t.id }));
  }

  async countActive(userId: string): Promise<number> {
    return (await this.listActive(userId)).length;
  }

  async findActive(userId: string, id: string): Promise<ApiToken | null> {
    const token = this.rows.get(id);
    return token && token.userId === userId && !token.revokedAt ? { ...token } : null;
  }

  async revoke(id: string, revokedAt: Date): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.revokedAt) return false;
    row.revokedAt = revokedAt;
    return true;
  }
}
