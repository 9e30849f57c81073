import { Injectable } from '@nestjs/common';
import { Database, keysetPage, keysetSql, type KeysetPosition, type SqlParam } from '@kiroku/persistence';
import { EntityManager, IsNull } from 'typeorm';
import { ApiToken } from './api-token.entity';
import { User } from './user.entity';
import { findWithUser } from './with-user';

/** Personal access tokens (the api_tokens table): the only SQL on it. */
@Injectable()
export class ApiTokensRepository {
  constructor(private readonly db: Database) {}

  /** Stores a new token; in the caller's transaction when given. */
  async insert(row: ApiToken, within?: EntityManager): Promise<void> {
    await this.db.write(within, (m) => m.insert(ApiToken, row));
  }

  /** The token with this prefix and its user, revoked or not: one prepared statement, read on every API request. */
  async findByPrefix(prefix: string): Promise<{ token: ApiToken; user: User } | null> {
    const found = await findWithUser(this.db, ApiToken, 'api_tokens', 'prefix', prefix);
    return found && { token: found.row, user: found.user };
  }

  /** Records when the token was last used: one statement (once a minute a request of the token's makes it). */
  async touch(id: string, lastUsedAt: Date): Promise<void> {
    await this.db.execute('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [lastUsedAt.getTime(), id]);
  }

  /** The user's tokens that are not revoked, newest first. */
  listActive(userId: string): Promise<ApiToken[]> {
    return this.db.manager.find(ApiToken, { where: { userId, revokedAt: IsNull() }, order: { createdAt: 'DESC' } });
  }

  /** A page of the user's tokens that are not revoked, newest first, after `after` (keyset: created_at, id). */
  async pageActive(userId: string, after: KeysetPosition | null, limit: number): Promise<{ items: ApiToken[]; nextCursor: string | null }> {
    const params: SqlParam[] = [userId];
    const { where, orderAndLimit } = keysetSql({ at: 'created_at', id: 'id' }, after, limit, params);
    const rows = await this.db.select<Omit<ApiToken, 'createdAt' | 'lastUsedAt'> & { createdAt: number | string; lastUsedAt: number | string | null }>(
      `SELECT id, user_id AS "userId", name, prefix, token_hash AS "tokenHash", created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"
       FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL${where ? ` AND ${where}` : ''} ${orderAndLimit}`,
      params,
    );
    const tokens = rows.map((r) => ({
      ...r,
      createdAt: new Date(Number(r.createdAt)),
      lastUsedAt: r.lastUsedAt === null ? null : new Date(Number(r.lastUsedAt)),
      revokedAt: null,
    }));
    return keysetPage(tokens, limit, (t) => ({ at: t.createdAt.getTime(), id: t.id }));
  }

  /** How many of the user's tokens are not revoked. */
  countActive(userId: string): Promise<number> {
    return this.db.manager.countBy(ApiToken, { userId, revokedAt: IsNull() });
  }

  /** One of the user's tokens, when it is not revoked. */
  findActive(userId: string, id: string): Promise<ApiToken | null> {
    return this.db.manager.findOneBy(ApiToken, { id, userId, revokedAt: IsNull() });
  }

  /** Revokes the token if it is not yet revoked; whether it did. In the caller's transaction when given. */
  async revoke(id: string, revokedAt: Date, within?: EntityManager): Promise<boolean> {
    const result = await this.db.write(within, (m) => m.update(ApiToken, { id, revokedAt: IsNull() }, { revokedAt }));
    return (result.affected ?? 0) === 1;
  }
}
