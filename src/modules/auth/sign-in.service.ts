import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { SetCookie } from '../web';
import { Cookies } from './cookies';
import { SessionStore } from './session.store';
import { User } from './user.entity';

/** The browser signing in, as its request tells. */
export interface SignInClient {
  ip: string;
  userAgent: string;
  /** The session the browser still holds, if any: it ends. */
  previousIdHash: string | null;
}

/** Issues a browser session: always a new id, the previous one (if any) deleted, never reused. */
@Injectable()
export class SignInService {
  constructor(
    private readonly sessions: SessionStore,
    private readonly cookies: Cookies,
  ) {}

  /** The cookies the reply must carry: the new session's, and the pre-session one cleared. In `within` when given. */
  async start(user: User, client: SignInClient, within?: EntityManager): Promise<SetCookie[]> {
    if (client.previousIdHash) await this.sessions.delete(client.previousIdHash, within);
    const { cookie } = await this.sessions.create(user.id, client.ip, client.userAgent, within);
    return [this.cookies.setSession(cookie), this.cookies.clear(this.cookies.preSession)];
  }

  /** A sign-in for an action to make in its own transaction (sign-up, an invitation, a password link or change). */
  pending(client: SignInClient): PendingSignIn {
    return new PendingSignIn((user, m) => this.start(user, client, m));
  }
}

/**
 * The browser's new session, made in the transaction of the action that signs it in (`run`, given to the action),
 * so that the account, password or link is never kept with the browser told it failed; `cookies` once it ran.
 */
export class PendingSignIn {
  private issued: SetCookie[] | null = null;

  constructor(private readonly start: (user: User, m: EntityManager) => Promise<SetCookie[]>) {}

  readonly run = async (m: EntityManager, user: User): Promise<void> => {
    this.issued = await this.start(user, m);
  };

  cookies(): SetCookie[] {
    if (!this.issued) throw new Error('the sign-in was not made in the action');
    return this.issued;
  }
}
