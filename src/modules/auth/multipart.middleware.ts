import { BadRequestException, Injectable, NestMiddleware, PayloadTooLargeException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import { authOf } from './request-auth';

/** The forms that upload a file, and the most each may send. */
export const UPLOAD_ROUTES: Readonly<Record<string, number>> = {
  '/account/notes/import': 10 * 1024 * 1024,
};

/**
 * Parses the multipart body of an upload form before the CSRF check, so the
 * form's hidden `_csrf` field is read like any other form's (a token in the
 * URL would leak into logs and history). Only for the listed routes, only for
 * a signed-in browser session, one file held in memory up to the route's limit.
 */
@Injectable()
export class MultipartMiddleware implements NestMiddleware {
  private readonly parsers = new Map(Object.entries(UPLOAD_ROUTES).map(([path, limit]) => [
    path,
    multer({ storage: multer.memoryStorage(), limits: { fileSize: limit, files: 1, fields: 5, fieldSize: 1024, parts: 6, headerPairs: 50 } }).single('file'),
  ]));

  use(req: Request, res: Response, next: NextFunction): void {
    const parse = this.parsers.get(req.path);
    // Not parsed for anything the CSRF check will refuse anyway: no session, or a cross-site request.
    const site = req.headers['sec-fetch-site'];
    const crossSite = typeof site === 'string' && site !== 'same-origin' && site !== 'none';
    if (!parse || req.method !== 'POST' || !req.is('multipart/form-data') || authOf(req).via !== 'session' || crossSite) return next();
    parse(req, res, (error: unknown) => {
      if (!error) return next();
      const code = (error as { code?: string }).code;
      if (code === 'LIMIT_FILE_SIZE') return next(new PayloadTooLargeException(`The file is larger than ${UPLOAD_ROUTES[req.path] / 1024 / 1024} MiB.`));
      next(new BadRequestException('The upload could not be read: send one file from the form.'));
    });
  }
}
