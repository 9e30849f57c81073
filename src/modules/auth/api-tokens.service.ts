import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { decodeKeyset } from '@kiroku/persistence';
import { AuditTrail } from '../audit';
import { randomToken, safeEqual, sha256 } from '../web';
import { ApiToken } from './api-token.entity';
import { ApiTokensRepository } from './api-tokens.repository';
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
    private readonly tokens: ApiTokensRepository,
    private readonly clock: Clock,
    private readonly audit: AuditTrail,
  ) {}

  /**
   * Creates a token and records `token.created` in the same transaction: a token is never kept without its event, nor
   * answered as failed once kept (its secret would be lost and a retry would make another). The returned secret
   * is never stored nor shown again.
   */
  async create(userId: string, name: string, context: { ip?: string | null; via?: 'cli' } = {}): Promise<{ token: string; row: ApiToken }> {
    const prefix = `krk_${randomBytes(6).toString('hex')}`;
    const token = `${prefix}_${randomToken(32)}`;
    const row: ApiToken = {
      id: randomUUID(),
      userId,
      name,
      prefix,
      tokenHash: sha256(token),
      createdAt: this.clock.now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    const details = { tokenId: row.id, prefix, ...(context.via ? { via: context.via } : {}) };
    await this.audit.transaction(async (m, record) => {
      await this.tokens.insert(row, m);
      await record('token.created', { userId, ip: context.ip ?? null, details });
    });
    return { token, row };
  }

  /** The user a bearer token belongs to, when the token is valid, unrevoked and the account enabled. */
  async authenticate(token: string): Promise<{ user: User; token: ApiToken } | null> {
    const match = TOKEN_FORMAT.exec(token);
    if (!match) return null;
    const found = await this.tokens.findByPrefix(`krk_${match[1]}`);
    if (!found || found.token.revokedAt || found.user.disabledAt || !safeEqual(found.token.tokenHash, sha256(token))) return null;
    const now = this.clock.now();
    if (!found.token.lastUsedAt || now.getTime() - found.token.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
      await this.tokens.touch(found.token.id, now);
    }
    return found;
  }

  list(userId: string): Promise<ApiToken[]> {
    return this.tokens.listActive(userId);
  }

  /** A page of the user's active tokens, newest first; `cursor` from the page before (BadCursor when it is not one). */
  page(userId: string, cursor: string | null, limit: number): Promise<{ items: ApiToken[]; nextCursor: string | null }> {
    return this.tokens.pageActive(userId, cursor === null ? null : decodeKeyset(cursor, (id) => /^[0-9a-f-]{36}$/.test(id)), limit);
  }

  count(userId: string): Promise<number> {
    return this.tokens.countActive(userId);
  }

  /** One of the user's tokens, when it is not revoked (the revoke confirmation names it). */
  find(userId: string, id: string): Promise<ApiToken | null> {
    return this.tokens.findActive(userId, id);
  }

  /**
   * Revokes one of the user's tokens and records `token.revoked`, both or neither; null when there is no such active
   * token (or another request revoked it a moment ago).
   */
  async revoke(userId: string, id: string, context: { ip?: string | null } = {}): Promise<ApiToken | null> {
    const row = await this.tokens.findActive(userId, id);
    if (!row) return null;
    return this.audit.transaction(async (m, record) => {
      if (!(await this.tokens.revoke(id, this.clock.now(), m))) return null;
      await record('token.revoked', { userId, ip: context.ip ?? null, details: { tokenId: row.id, prefix: row.prefix } });
      return row;
    });
  }
}
