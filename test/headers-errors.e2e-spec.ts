import { Database } from '@kiroku/persistence';
import { describeEachEngine, freshDatabase } from './support/engines';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

const PASSWORD = 'a long enough passphrase';

function expectSecurityHeaders(headers: Headers, html: boolean) {
  if (html) {
    const csp = headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]{24}' 'strict-dynamic'/);
    for (const d of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"]) expect(csp).toContain(d);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers.get('content-type')).toBe('text/html; charset=utf-8');
  }
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
  expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(headers.get('cross-origin-resource-policy')).toBe('same-origin');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('permissions-policy')).toMatch(/camera=\(\)/);
  expect(headers.get('x-powered-by')).toBeNull();
  expect(headers.get('access-control-allow-origin')).toBeNull();
}

describeEachEngine('headers, transport and errors', (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...(await freshDatabase(engine)), TRUST_PROXY: 'loopback', API_CORS_ORIGINS: 'https://app.example.com' });
  });
  afterAll(() => t.close());

  it('sends the security headers on pages, error pages and static files, with a fresh nonce each time', async () => {
    const c = new WebClient(t.url);
    const a = await c.get('/login');
    const b = await c.get('/login');
    expectSecurityHeaders(a.headers, true);
    expect(a.headers.get('content-security-policy')).not.toBe(b.headers.get('content-security-policy'));
    expectSecurityHeaders((await c.get('/nowhere')).headers, true);
    const css = await c.get('/static/kiroku.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expectSecurityHeaders(css.headers, false);
    expectSecurityHeaders((await c.get('/static/missing.css')).headers, false);
  });

  it('sends HSTS on HTTPS responses only (as seen through the trusted proxy)', async () => {
    const https = await fetch(`${t.url}/login`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(https.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    const missing = await fetch(`${t.url}/nowhere`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(missing.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect((await fetch(`${t.url}/login`)).headers.get('strict-transport-security')).toBeNull();
  });

  it('marks signed-in pages Cache-Control: no-store', async () => {
    const c = new WebClient(t.url);
    await c.signup('alice@example.com', PASSWORD);
    expect((await c.get('/account')).headers.get('cache-control')).toBe('no-store');
  });

  it('allows API CORS for configured origins only, never *', async () => {
    const allowed = await fetch(`${t.url}/api/v1/me`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    const other = await fetch(`${t.url}/api/v1/me`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const page = await fetch(`${t.url}/login`, { headers: { origin: 'https://app.example.com' } });
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers API errors as problem+json and browser errors as pages, without internals', async () => {
    const missing = await fetch(`${t.url}/api/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await missing.json()).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'There is nothing at this address.' });

    const c = new WebClient(t.url);
    await c.signup('bob@example.com', PASSWORD);
    await c.get('/account');
    const malformed = await c.request('POST', '/api/v1/me', {
      body: '{"broken',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': c.lastCsrf! },
    });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ status: 400, title: 'Bad Request' });
    const huge = await c.request('POST', '/api/v1/me', {
      body: JSON.stringify({ x: 'a'.repeat(1024 * 1024 + 10) }),
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': c.lastCsrf! },
    });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    const page = await c.get('/account/nothing');
    expect(page.status).toBe(404);
    expect(page.text).toContain('Page not found');
    expectSecurityHeaders(page.headers, true);
  });

  it('shows a 500 page with no stack trace, SQL, path or library name when the database fails', async () => {
    const c = new WebClient(t.url);
    await c.signup('carol@example.com', PASSWORD);
    const db = t.app.get(Database);
    await db.dataSource.query('ALTER TABLE "api_tokens" RENAME TO "api_tokens_away"');
    try {
      const page = await c.get('/account');
      expect(page.status).toBe(500);
      expect(page.text).toContain('Something went wrong');
      expect(page.text).not.toMatch(/api_tokens|SELECT|Error:|QueryFailed|SqliteError|typeorm|node_modules|\/work\/|at \w+ \(/i);
      expectSecurityHeaders(page.headers, true);
      const logged = t.logs.lines.find((l) => l.level === 'error' && l.context === 'Errors');
      expect(JSON.stringify(logged)).toMatch(/api_tokens/); // the details go to the log instead
      // The error stream: request id, instance, time, and the stack, which never reaches the client.
      expect(logged).toMatchObject({ stream: 'error', reqId: expect.any(String), instance: expect.any(String), time: expect.stringMatching(/Z$/) });
      expect(JSON.stringify(logged)).toMatch(/\\n {4}at /);
      expect(t.logs.lines.find((l) => l.stream === 'access' && l.reqId === logged!.reqId)).toMatchObject({
        status: 500,
        path: '/account',
        userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    } finally {
      await db.dataSource.query('ALTER TABLE "api_tokens_away" RENAME TO "api_tokens"');
    }
  });

  it('routes case-sensitively: /API/ is not a way around the checks written for /api/', async () => {
    expect((await fetch(`${t.url}/API/v1/me`, { headers: { accept: 'application/json' } })).status).toBe(404);
  });

  it('escapes user text in pages and in logs (no forged lines, no terminal codes)', async () => {
    const c = new WebClient(t.url);
    const evil = `<script>alert(1)</script>"><img src=x onerror=alert(2)>{{7*7}}`;
    await c.signup('dave@example.com', PASSWORD, evil);
    const page = await c.get('/account');
    expect(page.text).not.toContain('<script>alert(1)');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const forged = 'x@example.com\n{"level":"fatal","msg":"forged"}\u001b[31m';
    await new WebClient(t.url).login(forged, 'not the password');
    for (const line of t.logs.lines) expect(JSON.stringify(line)).not.toContain('\u001b');
    expect(t.logs.lines.some((l) => l.msg === 'forged')).toBe(false);
  });
});

describe('FORCE_HTTPS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ ...(await freshDatabase('sqlite')), FORCE_HTTPS: 'true', PUBLIC_URL: 'https://notes.example.com', TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('redirects plain-HTTP browser requests to PUBLIC_URL with 301, and keeps probes on HTTP', async () => {
    const res = await fetch(`${t.url}/login?x=1`, { redirect: 'manual', headers: { host: 'attacker.example' } });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('https://notes.example.com/login?x=1');
    expect((await fetch(`${t.url}/health/live`, { redirect: 'manual' })).status).toBe(200);
    const viaProxy = await fetch(`${t.url}/login`, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
    expect(viaProxy.status).toBe(200);
    const { request } = await import('node:http');
    for (const [path, expected] of [
      ['//evil.example/x', 'https://notes.example.com/evil.example/x'],
      ['/\\evil.example', 'https://notes.example.com/evil.example'],
      ['//[', 'https://notes.example.com/['],
    ]) {
      const location = await new Promise<string | undefined>((resolve, reject) => {
        request({ host: '127.0.0.1', port: new URL(t.url).port, path }, (r) => {
          r.resume();
          resolve(r.headers.location);
        })
          .on('error', reject)
          .end();
      });
      expect({ path, location }).toEqual({ path, location: expected });
    }
  });

  it('names the session cookie __Host-kiroku with Secure over HTTPS', async () => {
    const c = new WebClient(t.url);
    const https = { 'x-forwarded-proto': 'https', origin: 'https://notes.example.com', 'sec-fetch-site': '' };
    await c.get('/signup', https);
    const reply = await c.submit('/signup', { email: 'eve@example.com', password: PASSWORD, displayName: 'Eve' }, https);
    expect(reply.status).toBe(303);
    const cookie = reply.setCookies.find((h) => h.startsWith('__Host-kiroku='))!;
    expect(cookie).toMatch(/; Path=\/; .*HttpOnly; Secure; SameSite=Lax$/);
    expect(cookie).not.toMatch(/Domain=/);
  });

  it('does not believe X-Forwarded-Proto from an untrusted address', async () => {
    const untrusted = await startTestApp({
      ...(await freshDatabase('sqlite')),
      FORCE_HTTPS: 'true',
      PUBLIC_URL: 'https://notes.example.com',
      TRUST_PROXY: '10.0.0.1',
    });
    try {
      const res = await fetch(`${untrusted.url}/login`, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
      expect(res.status).toBe(301);
    } finally {
      await untrusted.close();
    }
  });
});
