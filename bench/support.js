'use strict';
// Shared by the suites: run the built server, poll it, read its memory.
const { spawn } = require('node:child_process');
const http = require('node:http');
const { readFileSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const testing = require(join(root, 'dist/libs/testing/src/index.js'));

const created = [];
/** A folder for one benchmark's files (a seeded database is a few hundred MiB); all are removed when the run exits. */
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'kiroku-bench-'));
  created.push(dir);
  return dir;
}
process.on('exit', () => {
  if (process.env.KIROKU_KEEP_BENCH_FILES === '1') return;
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** Starts `node dist/src/main.js` (or another build's, `dist`) on env.PORT or a free port; resolves once spawned. */
async function startServer(env, dist = join(root, 'dist')) {
  const port = env.PORT ? Number(env.PORT) : await testing.freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [join(dist, 'src/main.js')], {
    cwd: root,
    env: { ...testing.childEnv(), NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return { child, port, started, exited, url: `http://127.0.0.1:${port}` };
}

/** Milliseconds from spawn until GET path answers 200, polling every 5 ms. */
async function msUntilOk(server, path, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(server.url + path);
      if (res.status === 200) return Number(process.hrtime.bigint() - server.started) / 1e6;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${path} not 200 within ${timeoutMs} ms`);
}

/** Resident set size of a process, in MiB (VmRSS). */
function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

async function stop(server) {
  server.child.kill('SIGTERM');
  return server.exited;
}

/**
 * Signs up through the pages (CSRF token and all, as a browser does) and makes a personal access token:
 * the session cookie, the token and the account's id.
 */
async function account(url, email = 'bench@example.com', password = 'a long enough passphrase') {
  const page = async (path, cookie = '') => {
    const res = await fetch(url + path, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
    const cookies = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .filter((c) => !c.endsWith('='));
    const html = await res.text();
    return { cookie: [cookie, ...cookies].filter(Boolean).join('; '), token: /name="_csrf" value="([^"]+)"/.exec(html)?.[1], res, html };
  };
  const post = (path, cookie, form) =>
    fetch(url + path, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams(form).toString(),
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    });
  const signup = await page('/signup');
  const created = await post('/signup', signup.cookie, { _csrf: signup.token, email, displayName: 'Bench', password });
  const session = created.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('kiroku_sid='));
  const acct = await page('/account', session);
  // The token is shown once on the page the creation redirects to, carried there by a one-time cookie.
  const tokenCreated = await post('/account/tokens', session, { _csrf: acct.token, name: 'bench' });
  const carrier = tokenCreated.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('kiroku_new_token='));
  const shown = await page('/account', `${session}; ${carrier}`);
  const token = /id="new-token">([^<]+)</.exec(shown.html)[1];
  const me = await (await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).json();
  return { session, token, userId: me.id };
}

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** One keep-alive connection, for the measurements at one connection. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One request on the one connection: its status and body. */
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** p50 and p99 of request times in ms, exact (not rounded to a histogram's millisecond). */
function percentiles(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

/**
 * One connection, one request after another, for `seconds` (after a 1 s warm-up): req/s, exact percentiles and
 * the times themselves (to merge rounds). `next()` gives request()'s arguments.
 */
async function measure(seconds, next) {
  const run = async (ms) => {
    const times = [];
    let failed = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const started = performance.now();
      const res = await request(...next());
      times.push(performance.now() - started);
      if (res.status >= 300) failed++;
    }
    return { times, failed };
  };
  await run(1000);
  const started = performance.now();
  const { times, failed } = await run(seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  return { rps: times.length / elapsed, ...percentiles(times), count: times.length, failed, times };
}

module.exports = { root, testing, tempDir, startServer, msUntilOk, rssMiB, stop, summary, account, request, measure, percentiles };
