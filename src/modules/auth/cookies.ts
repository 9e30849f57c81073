import { Injectable } from '@nestjs/common';
import { AppConfig, SecurityConfig } from '@kiroku/config';
import type { CookieOptions, Request } from 'express';
import { seal, unseal, type SetCookie } from '../web';

/** What a shown-once cookie carries: a new API token, or a new invitation or reset link. */
export type ShownOnce = 'token' | 'link';

/**
 * Cookie names and flags. Over HTTPS the `__Host-` prefix makes browsers
 * insist on Secure, Path=/ and no Domain; on plain-HTTP development the
 * names drop the prefix and the Secure flag. Each change is a SetCookie that
 * a reply (or applyCookies, in middleware) carries.
 */
@Injectable()
export class Cookies {
  readonly https: boolean;
  readonly session: string;
  readonly preSession: string;
  readonly flash: string;
  readonly newToken: string;
  readonly newLink: string;

  constructor(
    app: AppConfig,
    private readonly security: SecurityConfig,
  ) {
    this.https = app.publicUrl.startsWith('https://');
    this.session = this.https ? '__Host-kiroku' : 'kiroku_sid';
    this.preSession = this.https ? '__Host-kiroku-csrf' : 'kiroku_csrf';
    this.flash = this.https ? '__Host-kiroku-flash' : 'kiroku_flash';
    this.newToken = this.https ? '__Host-kiroku-new-token' : 'kiroku_new_token';
    this.newLink = this.https ? '__Host-kiroku-new-link' : 'kiroku_new_link';
  }

  /**
   * A cookie the request carries (parsed by cookie-parser, which the web module installs first). cookie-parser
   * turns a value that starts with `j:` into whatever JSON it holds: anything but a string is no cookie of ours.
   */
  read(req: Request, name: string): string | undefined {
    const value = (req.cookies as Record<string, unknown> | undefined)?.[name];
    return typeof value === 'string' ? value : undefined;
  }

  private options(maxAgeMs?: number): CookieOptions {
    return { httpOnly: true, secure: this.https, sameSite: 'lax', path: '/', ...(maxAgeMs ? { maxAge: maxAgeMs } : {}) };
  }

  setSession(value: string): SetCookie {
    return { name: this.session, value, options: this.options(this.security.sessionLifetimeMs) };
  }

  setPreSession(value: string): SetCookie {
    return { name: this.preSession, value, options: this.options() };
  }

  setFlash(key: string): SetCookie {
    return { name: this.flash, value: key, options: this.options(60_000) };
  }

  /**
   * A secret shown once (a new API token, an invitation or reset link), carried to the page after the redirect that
   * follows its creation (so that a reload creates no second one): sealed for this session and this purpose, for
   * five minutes, read once (the page clears the cookie).
   */
  setShownOnce(what: ShownOnce, value: string, sessionIdHash: string): SetCookie {
    return {
      name: this.shownOnceName(what),
      value: seal(this.security.sessionSecret, `new-${what}:${sessionIdHash}`, value),
      options: this.options(5 * 60_000),
    };
  }

  /** The secret setShownOnce carried for this session, if any. */
  readShownOnce(req: Request, what: ShownOnce, sessionIdHash: string): string | undefined {
    const sealed = this.read(req, this.shownOnceName(what));
    return sealed ? unseal(this.security.sessionSecret, `new-${what}:${sessionIdHash}`, sealed) : undefined;
  }

  shownOnceName(what: ShownOnce): string {
    return what === 'token' ? this.newToken : this.newLink;
  }

  /** A new API token, shown once on /account. */
  setNewToken(token: string, sessionIdHash: string): SetCookie {
    return this.setShownOnce('token', token, sessionIdHash);
  }

  readNewToken(req: Request, sessionIdHash: string): string | undefined {
    return this.readShownOnce(req, 'token', sessionIdHash);
  }

  clear(name: string): SetCookie {
    return { name, value: null, options: this.options() };
  }
}
