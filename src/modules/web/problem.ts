import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { hasMessage } from './i18n';

export interface FieldProblem {
  field: string;
  message: string;
}

/** RFC 9457 problem details. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldProblem[];
}

/** What a problem may carry beyond RFC 9457's own members. */
export interface ProblemExtras {
  members?: Record<string, string | number>;
  headers?: Record<string, string>;
}

/** API routes, /metrics (read by machines), and clients that ask for JSON rather than HTML, get problem+json. */
export function wantsProblemJson(req: Request): boolean {
  return req.path.startsWith('/api/') || req.path === '/metrics' || req.accepts(['html', 'json']) === 'json';
}

export function problem(status: number, detail?: string, errors?: FieldProblem[], members?: ProblemExtras['members']): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    ...(detail ? { detail } : {}),
    ...(errors?.length ? { errors } : {}),
    ...members,
  };
}

/**
 * Answers an error: problem+json for the API, the error page for browsers.
 * Neither ever carries a stack trace, SQL, path or library name.
 */
export function sendError(req: Request, res: Response, status: number, detail?: string, errors?: FieldProblem[], extra: ProblemExtras = {}): void {
  if (res.headersSent) return;
  res.status(status);
  res.setHeader('Cache-Control', 'no-store');
  for (const [name, value] of Object.entries(extra.headers ?? {})) res.setHeader(name, value);
  if (wantsProblemJson(req)) {
    res.type('application/problem+json').send(JSON.stringify(problem(status, detail, errors, extra.members)));
    return;
  }
  const page = hasMessage(`error.${status}.title`) ? status : status >= 500 ? 500 : 400;
  res.render('error', { status, page, title: `error.${page}.title` }, (error: Error | null, html?: string) => {
    if (error) res.type('text/plain').send(`${status} ${STATUS_CODES[status] ?? 'Error'}`);
    else res.type('text/html').send(html);
  });
}
