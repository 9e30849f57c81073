import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ProblemException, SignInRequired } from './errors';
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

  catch(error: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
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
    this.logger.error({ err: error }, 'unexpected error');
    return sendError(req, res, 500, 'The error has been logged.');
  }
}

/** Nest's own messages for client errors are generic; anything else is replaced. */
function safeDetail(error: HttpException): string | undefined {
  const body = error.getResponse();
  const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
  return typeof message === 'string' && message.length < 200 && error.getStatus() < 500 ? message : undefined;
}
