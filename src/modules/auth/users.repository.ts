import { Injectable } from '@nestjs/common';
import { Database } from '@kiroku/persistence';
import { EntityManager, In } from 'typeorm';
import { Role, User } from './user.entity';

/** What an account change may write. */
export type UserChanges = Partial<Pick<User, 'passwordHash' | 'role' | 'disabledAt' | 'locale' | 'timeZone' | 'theme' | 'updatedAt' | 'passwordChangedAt'>>;

/** Accounts (the users table): the only SQL on it. */
@Injectable()
export class UsersRepository {
  constructor(private readonly db: Database) {}

  findById(id: string): Promise<User | null> {
    return this.db.manager.findOneBy(User, { id });
  }

  /** By the email as stored (normalised). */
  findByEmail(email: string): Promise<User | null> {
    return this.db.manager.findOneBy(User, { email });
  }

  /** The display names of these accounts (those that still exist), by id. */
  async displayNames(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.manager.find(User, { select: { id: true, displayName: true }, where: { id: In(ids) } });
    return new Map(rows.map((u) => [u.id, u.displayName]));
  }

  /** Every account, oldest first. */
  list(): Promise<User[]> {
    return this.db.manager.find(User, { order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /**
   * Inserts the account unless its email is taken (false then), its role
   * `roleFor(first)`, `first` being whether it is the first account ever. The
   * transaction locks the table on PostgreSQL (SQLite serialises writers
   * anyway), so of two first sign-ups at once exactly one is first.
   */
  async insert(user: User, roleFor: (first: boolean) => Role, within?: EntityManager): Promise<boolean> {
    try {
      await this.db.write(within, async (m) => {
        if (this.db.engine === 'postgres') await m.query('LOCK TABLE "users" IN SHARE ROW EXCLUSIVE MODE');
        if (await m.existsBy(User, { email: user.email })) throw new EmailTaken();
        user.role = roleFor(!(await m.exists(User)));
        await m.insert(User, user);
      });
      return true;
    } catch (error) {
      if (error instanceof EmailTaken || isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async update(id: string, changes: UserChanges, within?: EntityManager): Promise<void> {
    await this.db.write(within, (m) => m.update(User, { id }, changes));
  }
}

class EmailTaken extends Error {}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string } };
  const code = e?.driverError?.code ?? e?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
