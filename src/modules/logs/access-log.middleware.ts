import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { requestContext } from './request-context';

/** A caller-supplied id is kept only if it cannot carry anything but an id. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,64}$/;

export function requestIdOf(req: Request): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Gives each request an id (echoed as X-Request-Id, and on every log line
 * written while serving it) and writes one access line when the response ends.
 */
export function accessLog(logger: Logger, observe?: (method: string, route: string | undefined, status: number, seconds: number) => void): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = requestIdOf(req);
    const started = process.hrtime.bigint();
    res.setHeader('X-Request-Id', requestId);
    // 'close' also fires when the client goes away before the response is complete.
    res.once('close', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      // The matched route's pattern (`/notes/:id`), when a route matched.
      const route = (req.route as { path: string } | undefined)?.path;
      observe?.(req.method, route, res.statusCode, durationMs / 1000);
      logger.info(
        {
          stream: 'access',
          reqId: requestId,
          method: req.method,
          route,
          path: req.path,
          status: res.statusCode,
          bytes: Number(res.getHeader('content-length') ?? 0),
          durationMs: Math.round(durationMs * 10) / 10,
          ip: req.ip,
          userId: req.auth?.user?.id ?? null,
          userAgent: req.headers['user-agent'],
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });
    requestContext.run({ requestId }, () => next());
  };
}
