import { Injectable } from '@nestjs/common';
import { Clock } from '@kiroku/clock';
import { SecurityConfig } from '@kiroku/config';
import { Database } from '@kiroku/persistence';
import { In, LessThan, Not } from 'typeorm';
import { hmac, randomToken, sha256 } from '../web';
import { Session } from './session.entity';
import { User } from './user.entity';

/** Activity is recorded at most this often: a write per request would be wasteful. */
const TOUCH_EVERY_MS = 60_000;

export interface ResolvedSession {
  session: Session;
  user: User;
}

export type Lookup = { found: ResolvedSession } | { expired: Session } | { missing: true };

/**
 * Server-side sessions in the database, shared by every replica. The cookie
 * carries 256 random bits; the table stores only their SHA-256, so a leaked
 * table opens no session.
 */
@Injectable()
export class SessionStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly config: SecurityConfig,
  ) {}

  /** Creates a session and returns the cookie value (shown to nobody else, stored nowhere). */
  async create(userId: string, ip: string, userAgent: string): Promise<{ cookie: string; session: Session }> {
    const cookie = randomToken();
    const now = this.clock.now();
    const session: Session = {
      idHash: sha256(cookie),
      userId,
      csrfToken: randomToken(),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.config.sessionLifetimeMs),
      ip: ip.slice(0, 64),
      userAgent: userAgent.slice(0, 255),
    };
    await this.db.transaction((m) => m.insert(Session, session));
    return { cookie, session };
  }

  /** The session behind a cookie value, if it exists and has not expired (idle or absolute). */
  async lookup(cookie: string): Promise<Lookup> {
    const s = this.db.columns(Session, 's');
    const u = this.db.columns(User, 'u');
    const [values] = await this.db.selectValues(`SELECT ${s.sql}, ${u.sql} FROM sessions s INNER JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1`, [sha256(cookie)]);
    if (!values) return { missing: true };
    const session = { ...s.read(values), user: u.read(values, s.count) };
    const now = this.clock.nowMs();
    if (now >= session.expiresAt.getTime() || now >= session.lastSeenAt.getTime() + this.config.sessionIdleMs) {
      await this.delete(session.idHash);
      return { expired: session };
    }
    if (now - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
      session.lastSeenAt = new Date(now);
      await this.db.transaction((m) => m.update(Session, { idHash: session.idHash }, { lastSeenAt: session.lastSeenAt }));
    }
    const { user, ...rest } = session;
    return { found: { session: rest as Session, user } };
  }

  /**
   * The name a session goes by in URLs and pages (`/account/sessions/<handle>/revoke`):
   * an HMAC of its id hash under SESSION_SECRET, so that neither the cookie nor
   * its stored hash ever appears in a URL, an access log or a browser history.
   */
  handleOf(idHash: string): string {
    return hmac(this.config.sessionSecret, `session-handle\n${idHash}`).slice(0, 22);
  }

  async delete(idHash: string): Promise<void> {
    await this.db.transaction((m) => m.delete(Session, { idHash }));
  }

  /** Ends every session of the user, or every one but `keep`. */
  async deleteForUser(userId: string, keep?: string): Promise<number> {
    const result = await this.db.transaction((m) =>
      m.delete(Session, keep ? { userId, idHash: Not(keep) } : { userId }),
    );
    return result.affected ?? 0;
  }

  /** Active sessions of a user, newest activity first. */
  async listForUser(userId: string): Promise<Session[]> {
    const now = this.clock.nowMs();
    const sessions = await this.db.manager.find(Session, { where: { userId }, order: { lastSeenAt: 'DESC' } });
    return sessions.filter((s) => now < s.expiresAt.getTime() && now < s.lastSeenAt.getTime() + this.config.sessionIdleMs);
  }
}
