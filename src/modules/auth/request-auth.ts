import type { Request } from 'express';
import type { Session } from './session.entity';
import type { SignInClient } from './sign-in.service';
import type { User } from './user.entity';

export interface AuthState {
  user: User | null;
  session: Session | null;
  /** How the caller proved who they are. */
  via: 'session' | 'token' | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    auth?: AuthState;
  }
}

export const ANONYMOUS: AuthState = { user: null, session: null, via: null };

export function authOf(req: Request): AuthState {
  return req.auth ?? ANONYMOUS;
}

/** The browser a request comes from, as SignInService needs it. */
export function signInClient(req: Request): SignInClient {
  return { ip: req.ip ?? '', userAgent: req.headers['user-agent'] ?? '', previousIdHash: authOf(req).session?.idHash ?? null };
}
