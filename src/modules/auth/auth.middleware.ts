import { Injectable, Logger, NestMiddleware, ServiceUnavailableException } from '@nestjs/common';
import { SecurityConfig } from '@kiroku/config';
import type { NextFunction, Request, Response } from 'express';
import { AuditTrail } from '../audit';
import { applyCookies, hasMessage, hmac, isLocale, Locale, randomToken, SignInRequired } from '../web';
import { ApiTokens } from './api-tokens.service';
import { Cookies } from './cookies';
import { ANONYMOUS } from './request-auth';
import { SessionStore } from './session.store';

/** The token forms carry before anyone has signed in: an HMAC of a random cookie, bound to this server's secret. */
export function preSessionToken(secret: string, cookie: string): string {
  return hmac(secret, `pre-session:${cookie}`);
}

/** Where a request's pre-session CSRF token is made from, on res.locals, until a page reads it. */
const PRE_SESSION = Symbol('kiroku:pre-session-token');
type PageLocals = Record<symbol, { make: () => string; token?: string } | undefined>;

/**
 * res.locals.csrfToken before sign-in: made (and its cookie set) on first read. One getter for every request,
 * reading its request's maker from the locals it is called on: a getter made per request (a closure) gave each
 * request's locals a property V8 keeps in the old generation, with the whole request behind it (see
 * src/http-adapter.ts for what that cost).
 */
function preSessionTokenOnRead(this: PageLocals): string | undefined {
  const lazy = this[PRE_SESSION];
  return lazy ? (lazy.token ??= lazy.make()) : undefined;
}

/**
 * Works out who is calling: a bearer token on /api, else the session cookie.
 * Also prepares what every page needs: language, time zone, CSRF token,
 * flash message. If the session store cannot be read the answer is 503,
 * never "anonymous".
 */
@Injectable()
export class AuthMiddleware implements NestMiddleware {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly sessions: SessionStore,
    private readonly tokens: ApiTokens,
    private readonly cookies: Cookies,
    private readonly audit: AuditTrail,
    private readonly security: SecurityConfig,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      await this.identify(req, res);
    } catch (error) {
      if (error instanceof SignInRequired) return next(error);
      this.logger.error({ err: error }, 'session store unavailable');
      return next(new ServiceUnavailableException('The session store cannot be read.'));
    }
    const user = req.auth?.user ?? null;
    res.setHeader('Cache-Control', 'no-store');
    const accepted = req.acceptsLanguages('en', 'ja');
    const locale: Locale = user?.locale && isLocale(user.locale) ? user.locale : isLocale(accepted) ? accepted : 'en';
    Object.assign(res.locals, { user, locale, timeZone: user?.timeZone ?? 'UTC', path: req.path });
    res.setHeader('Content-Language', locale);

    if (req.auth?.session) {
      res.locals.csrfToken = req.auth.session.csrfToken;
    } else if (req.auth?.via !== 'token') {
      // Made only when a page asks for it (a form): probes and API calls get no cookie.
      (res.locals as PageLocals)[PRE_SESSION] = { make: () => this.preSessionTokenFor(req, res) };
      Object.defineProperty(res.locals, 'csrfToken', { enumerable: true, get: preSessionTokenOnRead });
    }
    const flash = this.cookies.read(req, this.cookies.flash);
    if (flash) {
      if (flash.startsWith('flash.') && hasMessage(flash)) res.locals.flash = flash;
      applyCookies(res, [this.cookies.clear(this.cookies.flash)]);
    }
    next();
  }

  private preSessionTokenFor(req: Request, res: Response): string {
    let pre = this.cookies.read(req, this.cookies.preSession);
    if (!pre || pre.length < 32) {
      pre = randomToken();
      applyCookies(res, [this.cookies.setPreSession(pre)]);
      req.cookies = { ...req.cookies, [this.cookies.preSession]: pre };
    }
    return preSessionToken(this.security.sessionSecret, pre);
  }

  private async identify(req: Request, res: Response): Promise<void> {
    req.auth = ANONYMOUS;
    const header = req.headers.authorization;
    if (req.path.startsWith('/api/') && header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      const found = match ? await this.tokens.authenticate(match[1]) : null;
      if (!found) {
        await this.audit.record('token.rejected', { ip: req.ip ?? null });
        throw new SignInRequired();
      }
      req.auth = { user: found.user, session: null, via: 'token' };
      return;
    }
    const cookie = this.cookies.read(req, this.cookies.session);
    if (!cookie) return;
    const lookup = await this.sessions.lookup(cookie);
    if ('found' in lookup) {
      const { session, user } = lookup.found;
      if (user.disabledAt) {
        await this.sessions.delete(session.idHash);
        applyCookies(res, [this.cookies.clear(this.cookies.session)]);
        return;
      }
      req.auth = { user, session, via: 'session' };
      return;
    }
    applyCookies(res, [this.cookies.clear(this.cookies.session)]);
    if ('expired' in lookup) {
      await this.audit.record('session.expired', { userId: lookup.expired.userId, ip: req.ip ?? null });
      applyCookies(res, [this.cookies.setFlash('flash.sessionExpired')]);
    }
  }
}
