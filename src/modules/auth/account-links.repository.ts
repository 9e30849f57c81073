import { Injectable } from '@nestjs/common';
import { Database } from '@kiroku/persistence';
import { EntityManager, IsNull, MoreThan } from 'typeorm';
import { AccountLink } from './account-link.entity';

/** Invitations and password-reset links (the account_links table): the only SQL on it. */
@Injectable()
export class AccountLinksRepository {
  constructor(private readonly db: Database) {}

  async insert(row: AccountLink, within?: EntityManager): Promise<void> {
    await this.db.write(within, (m) => m.insert(AccountLink, row));
  }

  findByHash(tokenHash: string): Promise<AccountLink | null> {
    return this.db.manager.findOneBy(AccountLink, { tokenHash });
  }

  findById(id: string): Promise<AccountLink | null> {
    return this.db.manager.findOneBy(AccountLink, { id });
  }

  /** Newest first, at most `limit`. */
  list(limit: number): Promise<AccountLink[]> {
    return this.db.manager.find(AccountLink, { order: { createdAt: 'DESC', id: 'DESC' }, take: limit });
  }

  /**
   * Marks the link used if it still is pending at `now`: one conditional UPDATE, so that of two uses at once exactly
   * one wins, on either engine.
   */
  async claim(id: string, now: Date, within?: EntityManager): Promise<boolean> {
    const result = await this.db.write(within, (m) =>
      m.update(AccountLink, { id, usedAt: IsNull(), revokedAt: IsNull(), expiresAt: MoreThan(now) }, { usedAt: now }),
    );
    return (result.affected ?? 0) === 1;
  }

  async setUser(id: string, userId: string, within?: EntityManager): Promise<void> {
    await this.db.write(within, (m) => m.update(AccountLink, { id }, { userId }));
  }

  /** Revokes the link if it is neither used nor revoked; whether it did. */
  async revoke(id: string, now: Date, within?: EntityManager): Promise<boolean> {
    const result = await this.db.write(within, (m) => m.update(AccountLink, { id, usedAt: IsNull(), revokedAt: IsNull() }, { revokedAt: now }));
    return (result.affected ?? 0) === 1;
  }

  /** Revokes the unused links of this kind for a member (reset) or an address (invite); how many. */
  async revokePending(kind: AccountLink['kind'], to: { userId: string } | { email: string }, now: Date, within?: EntityManager): Promise<number> {
    const result = await this.db.write(within, (m) =>
      m.update(AccountLink, { kind, ...to, usedAt: IsNull(), revokedAt: IsNull(), expiresAt: MoreThan(now) }, { revokedAt: now }),
    );
    return result.affected ?? 0;
  }
}
