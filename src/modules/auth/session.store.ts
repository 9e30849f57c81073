import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '@kiroku/clock';
import { SecurityConfig } from '@kiroku/config';
import { hmac, printable, randomToken, sha256 } from '../web';
import { Session } from './session.entity';
import { SessionsRepository } from './sessions.repository';
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
 * table opens no session. A session ends after SESSION_ABSOLUTE_LIFETIME, or
 * SESSION_IDLE_TIMEOUT without a request.
 */
@Injectable()
export class SessionStore {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly clock: Clock,
    private readonly config: SecurityConfig,
  ) {}

  /** Creates a session and returns the cookie value (shown to nobody else, stored nowhere). */
  async create(userId: string, ip: string, userAgent: string, within?: EntityManager): Promise<{ cookie: string; session: Session }> {
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
      // A header may carry bytes 0x80–0x9f, which Node reads as C1 controls: shown on /account, so kept printable.
      userAgent: printable(userAgent).slice(0, 255),
    };
    await this.sessions.insert(session, within);
    return { cookie, session };
  }

  /** The session behind a cookie value, if it exists and has not expired (idle or absolute). */
  async lookup(cookie: string): Promise<Lookup> {
    const found = await this.sessions.findWithUser(sha256(cookie));
    if (!found) return { missing: true };
    const { session } = found;
    const now = this.clock.nowMs();
    if (!this.active(session, now)) {
      await this.sessions.delete(session.idHash);
      return { expired: session };
    }
    if (now - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
      session.lastSeenAt = new Date(now);
      await this.sessions.touch(session.idHash, session.lastSeenAt);
    }
    return { found };
  }

  /**
   * The name a session goes by in URLs and pages (`/account/sessions/<handle>/revoke`):
   * an HMAC of its id hash under SESSION_SECRET, so that neither the cookie nor
   * its stored hash ever appears in a URL, an access log or a browser history.
   */
  handleOf(idHash: string): string {
    return hmac(this.config.sessionSecret, `session-handle\n${idHash}`).slice(0, 22);
  }

  async delete(idHash: string, within?: EntityManager): Promise<void> {
    await this.sessions.delete(idHash, within);
  }

  /** Ends every session of the user, or every one but `keep`. */
  deleteForUser(userId: string, keep?: string, within?: EntityManager): Promise<number> {
    return this.sessions.deleteForUser(userId, keep, within);
  }

  /** Active sessions of a user, newest activity first. */
  async listForUser(userId: string): Promise<Session[]> {
    const now = this.clock.nowMs();
    return (await this.sessions.forUser(userId)).filter((s) => this.active(s, now));
  }

  /** Neither past its absolute lifetime nor idle for too long. */
  private active(session: Session, now: number): boolean {
    return now < session.expiresAt.getTime() && now < session.lastSeenAt.getTime() + this.config.sessionIdleMs;
  }
}
