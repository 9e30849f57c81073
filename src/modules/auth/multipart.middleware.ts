import { BadRequestException, Injectable, NestMiddleware, PayloadTooLargeException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type Multer from 'multer';
import { authOf } from './request-auth';

/** The forms that upload a file, and the most each may send. */
export const UPLOAD_ROUTES: Readonly<Record<string, number>> = {
  '/account/notes/import': 10 * 1024 * 1024,
};

type Parser = ReturnType<ReturnType<typeof Multer>['single']>;

/**
 * Parses the multipart body of an upload form before the CSRF check, so the
 * form's hidden `_csrf` field is read like any other form's (a token in the
 * URL would leak into logs and history). Only for the listed routes, only for
 * a signed-in browser session, one file held in memory up to the route's limit.
 */
@Injectable()
export class MultipartMiddleware implements NestMiddleware {
  private readonly parsers = new Map<string, Parser>();

  /** The listed route's parser, made on its first upload (a process that never sees one does not load multer). */
  private parser(path: string): Parser {
    let parse = this.parsers.get(path);
    if (!parse) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on the first upload, see above
      const multer = require('multer') as typeof Multer;
      parse = multer({
        storage: multer.memoryStorage(),
        limits: { fileSize: UPLOAD_ROUTES[path], files: 1, fields: 5, fieldSize: 1024, parts: 6, headerPairs: 50 },
      }).single('file');
      this.parsers.set(path, parse);
    }
    return parse;
  }

  use(req: Request, res: Response, next: NextFunction): void {
    // Not parsed for anything the CSRF check will refuse anyway: no session, or a cross-site request.
    const site = req.headers['sec-fetch-site'];
    const crossSite = typeof site === 'string' && site !== 'same-origin' && site !== 'none';
    const parse =
      Object.hasOwn(UPLOAD_ROUTES, req.path) && req.method === 'POST' && req.is('multipart/form-data') && authOf(req).via === 'session' && !crossSite
        ? this.parser(req.path)
        : undefined;
    if (!parse) return next();
    parse(req, res, (error: unknown) => {
      if (!error) return next();
      const code = (error as { code?: string }).code;
      if (code === 'LIMIT_FILE_SIZE') return next(new PayloadTooLargeException(`The file is larger than ${UPLOAD_ROUTES[req.path] / 1024 / 1024} MiB.`));
      next(new BadRequestException('The upload could not be read: send one file from the form.'));
    });
  }
}
