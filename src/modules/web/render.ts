import type { Response } from 'express';

/** Renders a page with the given status; common data (user, locale, CSRF token, nonce) comes from res.locals. */
export function render(res: Response, view: string, data: Record<string, unknown> = {}, status = 200): void {
  res.status(status).render(view, data);
}

/** A form field as a string; anything else (absent, repeated, nested) is empty. */
export function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** Only local paths: never another host, never a scheme. */
export function safeNext(next: unknown, fallback = '/'): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) ? next : fallback;
}
