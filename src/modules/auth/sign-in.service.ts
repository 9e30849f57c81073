import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Cookies } from './cookies';
import { authOf } from './request-auth';
import { SessionStore } from './session.store';
import { User } from './user.entity';

/** Issues a browser session: always a new id, the previous one (if any) deleted, never reused. */
@Injectable()
export class SignInService {
  constructor(
    private readonly sessions: SessionStore,
    private readonly cookies: Cookies,
  ) {}

  async start(req: Request, res: Response, user: User): Promise<void> {
    const previous = authOf(req).session;
    if (previous) await this.sessions.delete(previous.idHash);
    const { cookie } = await this.sessions.create(user.id, req.ip ?? '', req.headers['user-agent'] ?? '');
    this.cookies.setSession(res, cookie);
    this.cookies.clear(res, this.cookies.preSession);
  }
}
