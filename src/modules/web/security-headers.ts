import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

const ONE_YEAR = 365 * 24 * 3600;

/**
 * The response headers of SECURITY.md on every response, error pages and
 * static files included: a fresh CSP nonce per request (scripts run only with
 * it, or when loaded by a script that has it), HSTS on HTTPS, no framing, no
 * sniffing, same-origin isolation, a restrictive Permissions-Policy.
 */
export function securityHeaders(https: boolean): RequestHandler[] {
  const nonces = nonceSource();
  const nonce: RequestHandler = (_req, res, next) => {
    res.locals.cspNonce = nonces();
    next();
  };
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: [(_req, res) => `'nonce-${(res as Response).locals.cspNonce}'`, "'strict-dynamic'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: false, // set below, on HTTPS responses only
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    frameguard: { action: 'deny' },
    xPoweredBy: false,
  });
  const extra: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (req.secure) res.setHeader('Strict-Transport-Security', `max-age=${ONE_YEAR}; includeSubDomains`);
    res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()');
    next();
  };
  return [nonce, headers, extra];
}

/**
 * 128-bit nonces, each used once, cut from a CSPRNG buffer refilled 256 at a
 * time: one randomBytes call per request was a visible share of a small request.
 */
export function nonceSource(): () => string {
  const SIZE = 16;
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + SIZE > pool.length) {
      pool = randomBytes(SIZE * 256);
      offset = 0;
    }
    offset += SIZE;
    return pool.toString('base64', offset - SIZE, offset);
  };
}

/** Plain-HTTP browser requests go to PUBLIC_URL over HTTPS; probes and metrics stay reachable over HTTP. */
export function forceHttps(publicUrl: string): RequestHandler {
  const base = new URL(publicUrl);
  return (req, res, next) => {
    if (req.secure || req.path.startsWith('/health/') || req.path === '/metrics') return next();
    // Never let the request name the host: "//evil.example/x" stays a path on PUBLIC_URL.
    const path = `/${req.originalUrl.replace(/^[/\\]+/, '')}`;
    // 308 keeps the method and body of a form post; GET and HEAD get the classic 301.
    res.redirect(req.method === 'GET' || req.method === 'HEAD' ? 301 : 308, `https://${base.host}${path}`);
  };
}
