import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { databaseBusy, databaseUnreachable } from '@kiroku/persistence';
import { BodyRefused, FormExpired, ProblemException, SignInRequired } from './errors';
import { FormRefusal, FormRescues } from './form-rescue';
import { sendPage } from './page.interceptor';
import { sendError, wantsProblemJson } from './problem';

/**
 * Every error leaves through here (or through the Express error handler for
 * body-parser failures, which uses the same sendError): problem+json for the
 * API, an error page for browsers, never a stack, SQL, path or library name.
 * Unexpected errors are logged with their stack.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly rescues: FormRescues) {}

  async catch(error: unknown, host: ArgumentsHost): Promise<void> {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    if (await this.rescued(error, req, res)) return;
    if (error instanceof SignInRequired) {
      if (wantsProblemJson(req)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        return sendError(req, res, 401, 'Sign in, or send a personal access token as Authorization: Bearer <token>.');
      }
      const next = req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
      res.redirect(302, `/login${next}`);
      return;
    }
    if (error instanceof ProblemException) return sendError(req, res, error.getStatus(), error.detail, error.fieldErrors, error.extra);
    if (error instanceof HttpException) {
      const status = error.getStatus();
      if (status >= 500) this.logger.error({ err: error, status }, 'request failed');
      return sendError(req, res, status, status === 404 ? 'There is nothing at this address.' : safeDetail(error));
    }
    if (databaseUnreachable(error)) {
      // Lost mid-request (the server shutting down, a connection dropped): the same answer as a request refused
      // before it started, a 503 to try again, and the same log line, not a 500 to investigate.
      this.logger.error({ err: error, status: 503 }, 'request failed: database unreachable');
      return sendError(req, res, 503, 'Kiroku cannot reach its database right now. Try again in a moment.', [], { headers: { 'Retry-After': '30' } });
    }
    if (databaseBusy(error)) {
      // Another writer held the lock past DATABASE_BUSY_TIMEOUT: the write that waited was not kept, and the same
      // request may succeed in a moment. Logged as an error: if it recurs, the writes are longer than the timeout allows.
      this.logger.error({ err: error, status: 503 }, 'request failed: database busy');
      return sendError(req, res, 503, 'Kiroku is busy with other writes and could not finish this request. Try again in a moment.', [], {
        headers: { 'Retry-After': '1' },
      });
    }
    this.logger.error({ err: error }, 'unexpected error');
    return sendError(req, res, 500, 'The error has been logged.');
  }

  /**
   * A browser's form refused before its route ran (stale token, no session, a body too large to read): a form
   * registered with FormRescues is answered with its own page, with the refusal's status, and nothing typed is lost.
   */
  private async rescued(error: unknown, req: Request, res: Response): Promise<boolean> {
    const refusal = refusalOf(error, req, res);
    const rescue = refusal && !wantsProblemJson(req) ? this.rescues.find(req) : undefined;
    if (!refusal || !rescue || res.headersSent) return false;
    try {
      const page = await rescue.page(refusal, req);
      if (!page) return false;
      const status = refusal === 'tooLarge' ? 413 : refusal === 'signedOut' ? 401 : 403;
      await sendPage(res, page.with({ status }));
      return true;
    } catch (failure) {
      if (failure instanceof HttpException && failure.getStatus() < 500) {
        sendError(req, res, failure.getStatus(), safeDetail(failure));
        return true;
      }
      this.logger.error({ err: failure }, 'form page of a refusal failed');
      return false;
    }
  }
}

/** The refusal a form page can answer; who is signed in is the page's user (res.locals.user), as the header shows it. */
function refusalOf(error: unknown, req: Request, res: Response): FormRefusal | undefined {
  if (error instanceof FormExpired) return (res.locals as { user?: unknown }).user ? 'expired' : 'signedOut';
  if (error instanceof SignInRequired && req.method === 'POST') return 'signedOut';
  if (error instanceof BodyRefused && error.getStatus() === 413) return 'tooLarge';
  return undefined;
}

/** Nest's own messages for client errors are generic; anything else is replaced. */
function safeDetail(error: HttpException): string | undefined {
  const body = error.getResponse();
  const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
  return typeof message === 'string' && message.length < 200 && error.getStatus() < 500 ? message : undefined;
}
