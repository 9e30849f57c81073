import { NestExpressApplication } from '@nestjs/platform-express';
import { KirokuConfig } from '@kiroku/config';
import cookieParser from 'cookie-parser';
import express, { ErrorRequestHandler, RequestHandler } from 'express';
import { sendError } from './problem';
import { forceHttps, securityHeaders } from './security-headers';
import { createViewEngine, STATIC_DIR, VIEW_EXTENSION, VIEWS_DIR } from './view-engine';

/** Request bodies up to 1 MiB: forms and JSON; larger ones are a 413. */
export const BODY_LIMIT = '1mb';

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
  app.use(bodyErrors);
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

/**
 * JSON and form bodies, parsed for the methods that carry one; GET and HEAD
 * go past both parsers (one middleware layer instead of two on every request).
 */
function bodies(): RequestHandler {
  const json = express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] });
  const form = express.urlencoded({ limit: BODY_LIMIT, extended: false, parameterLimit: 200 });
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    json(req, res, (error?: unknown) => (error ? next(error) : form(req, res, next)));
  };
}

/** Malformed or oversized bodies and missing static files, answered like any other error. */
const bodyErrors: ErrorRequestHandler = (error, req, res, next) => {
  const status = (error as { status?: number }).status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return next(error);
  const detail =
    status === 413
      ? 'The request body is larger than 1 MiB.'
      : status === 404
        ? undefined
        : 'The request body could not be read (malformed JSON or form data).';
  sendError(req, res, status, detail);
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
