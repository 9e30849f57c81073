import { NestExpressApplication } from '@nestjs/platform-express';
import { KirokuConfig } from '@kiroku/config';
import cookieParser from 'cookie-parser';
import express, { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { BodyRefused } from './errors';
import { sendError } from './problem';
import { forceHttps, securityHeaders } from './security-headers';
import { createViewEngine, STATIC_DIR, VIEW_EXTENSION, VIEWS_DIR } from './view-engine';

/** JSON bodies up to 1 MiB; larger ones are a 413. */
export const BODY_LIMIT = '1mb';

/**
 * Form bodies up to 2 MiB: a note at its limits (100,000 characters, each up to 4 UTF-8 bytes, each byte sent as
 * `%XX`) takes 1.2 MB, and must never be refused for its size in bytes.
 */
export const FORM_BODY_LIMIT = '2mb';

/**
 * The Express layer under every route: headers, HTTPS redirect, static files,
 * cookies, body parsing (and its errors, as problem+json or an error page),
 * API CORS for configured origins only, and the view engine.
 */
export function configureWeb(app: NestExpressApplication, config: KirokuConfig): void {
  const https = config.app.publicUrl.startsWith('https://');
  // Every dynamic response is Cache-Control: no-store, so an ETag (a SHA-1 of each body) would never be
  // used. Files under /static keep theirs (express.static makes its own); the two vendor files, sent with
  // sendFile, which follows this setting, are revalidated by Last-Modified instead.
  app.set('etag', false);
  app.use(...securityHeaders(https));
  if (config.security.forceHttps) app.use(forceHttps(config.app.publicUrl));
  app.use('/static/vendor', vendorFiles());
  app.use('/static', express.static(STATIC_DIR, { index: false, maxAge: '1h', fallthrough: false }));
  app.use(cookieParser());
  app.use(bodies());
  app.use(staticErrors);
  app.use('/api', apiCors(config.security.apiCorsOrigins ?? []));
  const cache = config.app.env !== 'development';
  const views = createViewEngine(cache);
  app.engine(VIEW_EXTENSION.slice(1), (file: string, options: object, done: (error: Error | null, html?: string) => void) => {
    try {
      done(null, views.render(file, options as Record<string, unknown>));
    } catch (error) {
      done(error as Error);
    }
  });
  app.setBaseViewsDir(VIEWS_DIR);
  app.setViewEngine(VIEW_EXTENSION.slice(1));
  // Express looks each view's file up again on every render unless told to keep it (it does so by itself
  // only under NODE_ENV=production).
  app.set('view cache', cache);
}

/**
 * Third-party browser files, served from their npm packages (so `npm update`
 * updates them), by an explicit list: nothing else in node_modules is reachable.
 */
const VENDOR_FILES: Record<string, string> = {
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

function vendorFiles(): RequestHandler {
  const paths = new Map(Object.entries(VENDOR_FILES).map(([name, module]) => [`/${name}`, require.resolve(module)]));
  return (req, res, next) => {
    const file = paths.get(req.path);
    if (!file) return next();
    res.sendFile(file, { maxAge: '1h' });
  };
}

const BODY_REFUSED = Symbol('kiroku:body-refused');

/**
 * JSON and form bodies, parsed for the methods that carry one; GET and HEAD
 * go past both parsers (one middleware layer instead of two on every request).
 * A body that cannot be read is not answered here: the request goes on with no
 * body and the refusal is kept (bodyRefusalOf), so that it is answered once the
 * caller is known: the signed-in page header, the note form that names the limit.
 */
function bodies(): RequestHandler {
  const json = express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
  const form = express.urlencoded({ limit: FORM_BODY_LIMIT, extended: false, parameterLimit: 200 });
  const refuse = (req: Request, error: unknown): void => {
    const status = (error as { status?: number }).status;
    if (typeof status !== 'number' || status < 400 || status >= 500) throw error;
    const detail =
      status === 413
        ? `The request body is larger than ${is(req, 'json') ? '1 MiB' : '2 MiB'}.`
        : 'The request body could not be read (malformed JSON or form data).';
    (req as Request & { [BODY_REFUSED]?: BodyRefused })[BODY_REFUSED] = new BodyRefused(status, detail);
    req.body = undefined;
  };
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    json(req, res, (error?: unknown) => {
      if (error) return settle(() => refuse(req, error), next);
      form(req, res, (error?: unknown) => (error ? settle(() => refuse(req, error), next) : next()));
    });
  };
}

function is(req: Request, type: string): boolean {
  return !!req.is(type);
}

function settle(work: () => void, next: (error?: unknown) => void): void {
  try {
    work();
    next();
  } catch (error) {
    next(error);
  }
}

/**
 * The refusal of a body the parsers could not read, if any. Every request passes the CSRF check, which answers it
 * first of all (after the caller is identified), so no route ever runs without the body it was sent.
 */
export function bodyRefusalOf(req: Request): BodyRefused | undefined {
  return (req as Request & { [BODY_REFUSED]?: BodyRefused })[BODY_REFUSED];
}

/** Missing static files, answered like any other error. */
const staticErrors: ErrorRequestHandler = (error, req, res, next) => {
  const status = (error as { status?: number }).status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return next(error);
  sendError(req, res, status, status === 404 ? undefined : 'The request could not be read.');
};

/** CORS on the API for the listed origins only; never `*`, never credentials. */
function apiCors(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PATCH, DELETE');
        res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
        res.setHeader('Access-Control-Max-Age', '600');
        res.status(204).end();
        return;
      }
    }
    next();
  };
}
