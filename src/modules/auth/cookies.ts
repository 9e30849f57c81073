import { Injectable } from '@nestjs/common';
import { AppConfig, SecurityConfig } from '@kiroku/config';
import type { CookieOptions, Response } from 'express';

/**
 * Cookie names and flags. Over HTTPS the `__Host-` prefix makes browsers
 * insist on Secure, Path=/ and no Domain; on plain-HTTP development the
 * names drop the prefix and the Secure flag.
 */
@Injectable()
export class Cookies {
  readonly https: boolean;
  readonly session: string;
  readonly preSession: string;
  readonly flash: string;

  constructor(app: AppConfig, private readonly security: SecurityConfig) {
    this.https = app.publicUrl.startsWith('https://');
    this.session = this.https ? '__Host-kiroku' : 'kiroku_sid';
    this.preSession = this.https ? '__Host-kiroku-csrf' : 'kiroku_csrf';
    this.flash = this.https ? '__Host-kiroku-flash' : 'kiroku_flash';
  }

  private options(maxAgeMs?: number): CookieOptions {
    return { httpOnly: true, secure: this.https, sameSite: 'lax', path: '/', ...(maxAgeMs ? { maxAge: maxAgeMs } : {}) };
  }

  setSession(res: Response, value: string): void {
    res.cookie(this.session, value, this.options(this.security.sessionLifetimeMs));
  }

  setPreSession(res: Response, value: string): void {
    res.cookie(this.preSession, value, this.options());
  }

  setFlash(res: Response, key: string): void {
    res.cookie(this.flash, key, this.options(60_000));
  }

  clear(res: Response, name: string): void {
    res.clearCookie(name, this.options());
  }
}
