import { Injectable } from '@nestjs/common';
import { Database } from '@kiroku/persistence';
import { EntityManager, Not } from 'typeorm';
import { Session } from './session.entity';
import { User } from './user.entity';
import { findWithUser } from './with-user';

/** Server-side sessions (the sessions table): the only SQL on it. */
@Injectable()
export class SessionsRepository {
  constructor(private readonly db: Database) {}

  async insert(session: Session, within?: EntityManager): Promise<void> {
    await this.db.write(within, (m) => m.insert(Session, session));
  }

  /** The session stored under `idHash` with its user, expired or not: one prepared statement, read on every request. */
  async findWithUser(idHash: string): Promise<{ session: Session; user: User } | null> {
    const found = await findWithUser(this.db, Session, 'sessions', 'id_hash', idHash);
    return found && { session: found.row, user: found.user };
  }

  /** Records when the session was last seen: one statement (once a minute a request of the session's makes it). */
  async touch(idHash: string, lastSeenAt: Date): Promise<void> {
    await this.db.execute('UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2', [lastSeenAt.getTime(), idHash]);
  }

  async delete(idHash: string, within?: EntityManager): Promise<void> {
    await this.db.write(within, (m) => m.delete(Session, { idHash }));
  }

  /** Deletes every session of the user, or every one but `keep`; how many. In the caller's transaction when given. */
  async deleteForUser(userId: string, keep?: string, within?: EntityManager): Promise<number> {
    const result = await this.db.write(within, (m) => m.delete(Session, keep ? { userId, idHash: Not(keep) } : { userId }));
    return result.affected ?? 0;
  }

  /** The user's sessions, expired ones included, newest activity first. */
  forUser(userId: string): Promise<Session[]> {
    return this.db.manager.find(Session, { where: { userId }, order: { lastSeenAt: 'DESC' } });
  }
}
