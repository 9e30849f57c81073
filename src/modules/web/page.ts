import { textProblem } from './rules';
import type { CookieOptions, Response } from 'express';

/** A Set-Cookie a reply carries: a value to set, or `null` to clear the cookie. */
export interface SetCookie {
  name: string;
  value: string | null;
  options: CookieOptions;
}

export interface ReplyOptions {
  /** 200 for a page, 303 See Other for a redirect, unless said. */
  status?: number;
  headers?: Readonly<Record<string, string>>;
  cookies?: readonly SetCookie[];
}

/**
 * A page a route answers with: its template and the template's data, and the
 * reply's status, headers and cookies. Common data (user, locale, CSRF token,
 * nonce) comes from res.locals. PageInterceptor sends it.
 */
export class Page {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly cookies: readonly SetCookie[];

  constructor(
    readonly view: string,
    readonly data: Record<string, unknown> = {},
    options: ReplyOptions = {},
  ) {
    this.status = options.status ?? 200;
    this.headers = options.headers ?? {};
    this.cookies = options.cookies ?? [];
  }

  /** The same page with another status, or more headers or cookies. */
  with(options: ReplyOptions): Page {
    return new Page(this.view, this.data, {
      status: options.status ?? this.status,
      headers: { ...this.headers, ...options.headers },
      cookies: [...this.cookies, ...(options.cookies ?? [])],
    });
  }
}

/** A redirect a route answers with (303 See Other unless said), with its cookies and headers. PageInterceptor sends it. */
export class RedirectTo {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly cookies: readonly SetCookie[];

  constructor(
    readonly url: string,
    options: ReplyOptions = {},
  ) {
    this.status = options.status ?? 303;
    this.headers = options.headers ?? {};
    this.cookies = options.cookies ?? [];
  }
}

export function applyCookies(res: Response, cookies: readonly SetCookie[]): void {
  for (const { name, value, options } of cookies) {
    if (value === null) res.clearCookie(name, options);
    else res.cookie(name, value, options);
  }
}

/** Only local paths: never another host, never a scheme. */
export function safeNext(next: unknown, fallback = '/'): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) && !textProblem(next, { max: 2048 }) ? next : fallback;
}
