import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { Database } from '@kiroku/persistence';
import { IsNull } from 'typeorm';
import { ApiToken } from './api-token.entity';
import { randomToken, safeEqual, sha256 } from '../web';
import { User } from './user.entity';

const TOKEN_FORMAT = /^krk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const TOUCH_EVERY_MS = 60_000;

/**
 * Personal access tokens `krk_<12 hex>_<256 random bits>`: the first part is a
 * public, unique prefix to find the row and tell tokens apart; the whole token
 * is stored only as its SHA-256.
 */
@Injectable()
export class ApiTokens {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Creates a token; the returned secret is never stored nor shown again. */
  async create(userId: string, name: string): Promise<{ token: string; row: ApiToken }> {
    const prefix = `krk_${randomBytes(6).toString('hex')}`;
    const token = `${prefix}_${randomToken(32)}`;
    const row: ApiToken = {
      id: randomUUID(), userId, name, prefix, tokenHash: sha256(token),
      createdAt: this.clock.now(), lastUsedAt: null, revokedAt: null,
    };
    await this.db.transaction((m) => m.insert(ApiToken, row));
    return { token, row };
  }

  /** The user a bearer token belongs to, when the token is valid, unrevoked and the account enabled. */
  async authenticate(token: string): Promise<{ user: User; token: ApiToken } | null> {
    const match = TOKEN_FORMAT.exec(token);
    if (!match) return null;
    const t = this.db.columns(ApiToken, 't');
    const u = this.db.columns(User, 'u');
    const [values] = await this.db.selectValues(`SELECT ${t.sql}, ${u.sql} FROM api_tokens t INNER JOIN users u ON u.id = t.user_id WHERE t.prefix = $1`, [`krk_${match[1]}`]);
    const row = values && { ...t.read(values), user: u.read(values, t.count) };
    if (!row || row.revokedAt || row.user.disabledAt || !safeEqual(row.tokenHash, sha256(token))) return null;
    const now = this.clock.now();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
      await this.db.transaction((m) => m.update(ApiToken, { id: row.id }, { lastUsedAt: now }));
    }
    const { user, ...rest } = row;
    return { user, token: rest as ApiToken };
  }

  list(userId: string): Promise<ApiToken[]> {
    return this.db.manager.find(ApiToken, { where: { userId, revokedAt: IsNull() }, order: { createdAt: 'DESC' } });
  }

  /** Revokes one of the user's tokens; false when there is no such active token. */
  async revoke(userId: string, id: string): Promise<ApiToken | null> {
    const row = await this.db.manager.findOneBy(ApiToken, { id, userId, revokedAt: IsNull() });
    if (!row) return null;
    await this.db.transaction((m) => m.update(ApiToken, { id }, { revokedAt: this.clock.now() }));
    return row;
  }
}
