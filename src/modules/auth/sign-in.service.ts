import { Injectable } from '@nestjs/common';
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

  /** The cookies the reply must carry: the new session's, and the pre-session one cleared. */
  async start(user: User, client: SignInClient): Promise<SetCookie[]> {
    if (client.previousIdHash) await this.sessions.delete(client.previousIdHash);
    const { cookie } = await this.sessions.create(user.id, client.ip, client.userAgent);
    return [this.cookies.setSession(cookie), this.cookies.clear(this.cookies.preSession)];
  }
}
