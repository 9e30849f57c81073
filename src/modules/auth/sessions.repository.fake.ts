import type { Session } from './session.entity';
import type { SessionsRepository } from './sessions.repository';
import type { User } from './user.entity';

/** SessionsRepository in memory, for unit tests; its users are `users`'s rows. */
export class FakeSessionsRepository implements Pick<SessionsRepository, keyof SessionsRepository> {
  readonly rows = new Map<string, Session>();

  constructor(private readonly users: { rows: Map<string, User> }) {}

  async insert(session: Session): Promise<void> {
    this.rows.set(session.idHash, { ...session });
  }

  async findWithUser(idHash: string): Promise<{ session: Session; user: User } | null> {
    const session = this.rows.get(idHash);
    const user = session && this.users.rows.get(session.userId);
    return session && user ? { session: { ...session }, user: { ...user } } : null;
  }

  async touch(idHash: string, lastSeenAt: Date): Promise<void> {
    const session = this.rows.get(idHash);
    if (session) session.lastSeenAt = lastSeenAt;
  }

  async delete(idHash: string): Promise<void> {
    this.rows.delete(idHash);
  }

  async deleteForUser(userId: string, keep?: string): Promise<number> {
    const ended = [...this.rows.values()].filter((s) => s.userId === userId && s.idHash !== keep);
    for (const s of ended) this.rows.delete(s.idHash);
    return ended.length;
  }

  async forUser(userId: string): Promise<Session[]> {
    return [...this.rows.values()]
      .filter((s) => s.userId === userId)
      .sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime())
      .map((s) => ({ ...s }));
  }
}
