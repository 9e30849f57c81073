import { ForbiddenException, Injectable, NestMiddleware, UnsupportedMediaTypeException } from '@nestjs/common';
import { AppConfig, SecurityConfig } from '@kiroku/config';
import type { NextFunction, Request, Response } from 'express';
import { AuditTrail } from '../audit';
import { preSessionToken } from './auth.middleware';
import { Cookies } from './cookies';
import { authOf } from './request-auth';
import { bodyRefusalOf, FormExpired, safeEqual } from '../web';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * For every state-changing request from a browser: first Fetch Metadata
 * (Sec-Fetch-Site must be same-origin or none; without it, Origin must be
 * PUBLIC_URL's origin), then the synchronizer token bound to the session (or,
 * before sign-in, to the pre-session cookie), compared in constant time.
 * Bearer-token API calls carry no ambient credentials and need neither.
 */
@Injectable()
export class CsrfMiddleware implements NestMiddleware {
  private readonly origin: string;

  constructor(
    app: AppConfig,
    private readonly security: SecurityConfig,
    private readonly cookies: Cookies,
    private readonly audit: AuditTrail,
  ) {
    this.origin = new URL(app.publicUrl).origin;
  }

  async use(req: Request, _res: Response, next: NextFunction): Promise<void> {
    // A body the parsers could not read is answered here, now that the caller is known, before any route runs.
    const unread = bodyRefusalOf(req);
    if (unread) return next(unread);
    const auth = authOf(req);
    if (SAFE_METHODS.has(req.method) || auth.via === 'token') return next();

    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    let refusal: string | null = null;
    let fromHere = false;
    if (typeof site === 'string') {
      if (site !== 'same-origin' && site !== 'none') refusal = `cross-site request (Sec-Fetch-Site: ${site})`;
    } else if (origin !== this.origin) {
      refusal = origin ? 'foreign origin' : 'no Origin header';
    }
    if (!refusal) {
      const given = (req.headers['x-csrf-token'] as string | undefined) ?? (req.body as Record<string, unknown> | undefined)?._csrf;
      const pre = this.cookies.read(req, this.cookies.preSession);
      const expected = auth.session ? auth.session.csrfToken : pre ? preSessionToken(this.security.sessionSecret, pre) : undefined;
      if (!expected || typeof given !== 'string' || !safeEqual(given, expected)) {
        refusal = 'missing or wrong CSRF token';
        fromHere = true;
      }
    }
    if (!refusal && req.path.startsWith('/api/') && !req.is('application/json')) {
      return next(new UnsupportedMediaTypeException('Send JSON with Content-Type: application/json.'));
    }
    if (refusal) {
      await this.audit
        .record('csrf.refused', {
          userId: auth.user?.id ?? null,
          ip: req.ip ?? null,
          details: { reason: refusal, method: req.method, path: req.path.slice(0, 200) },
        })
        .catch(() => undefined);
      // Only a form from this site whose token went stale (the session ended or changed) may get its page back with
      // what was sent; a cross-site one gets the bare refusal.
      return next(fromHere ? new FormExpired() : new ForbiddenException('The request was refused: reload the page and try again.'));
    }
    next();
  }
}
