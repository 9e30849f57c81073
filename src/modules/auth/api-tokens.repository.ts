import { Injectable } from '@nestjs/common';
import { Database } from '@kiroku/persistence';
import { IsNull } from 'typeorm';
import { ApiToken } from './api-token.entity';
import { User } from './user.entity';
import { findWithUser } from './with-user';

/** Personal access tokens (the api_tokens table): the only SQL on it. */
@Injectable()
export class ApiTokensRepository {
  constructor(private readonly db: Database) {}

  async insert(row: ApiToken): Promise<void> {
    await this.db.transaction((m) => m.insert(ApiToken, row));
  }

  /** The token with this prefix and its user, revoked or not: one prepared statement, read on every API request. */
  async findByPrefix(prefix: string): Promise<{ token: ApiToken; user: User } | null> {
    const found = await findWithUser(this.db, ApiToken, 'api_tokens', 'prefix', prefix);
    return found && { token: found.row, user: found.user };
  }

  async touch(id: string, lastUsedAt: Date): Promise<void> {
    await this.db.transaction((m) => m.update(ApiToken, { id }, { lastUsedAt }));
  }

  /** The user's tokens that are not revoked, newest first. */
  listActive(userId: string): Promise<ApiToken[]> {
    return this.db.manager.find(ApiToken, { where: { userId, revokedAt: IsNull() }, order: { createdAt: 'DESC' } });
  }

  /** One of the user's tokens, when it is not revoked. */
  findActive(userId: string, id: string): Promise<ApiToken | null> {
    return this.db.manager.findOneBy(ApiToken, { id, userId, revokedAt: IsNull() });
  }

  async revoke(id: string, revokedAt: Date): Promise<void> {
    await this.db.transaction((m) => m.update(ApiToken, { id }, { revokedAt }));
  }
}
