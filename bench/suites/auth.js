'use strict';
// Login cost (argon2id dominates) and an authenticated page under load, on SQLite.
const { join } = require('node:path');
const autocannon = require('autocannon');
const { root, tempDir, startServer, msUntilOk, stop } = require('../support');

const PASSWORD = 'a long enough passphrase';

async function hashesPerSecond() {
  const { hash, verify } = require('@node-rs/argon2');
  const { ARGON2_PARAMS } = require(join(root, 'dist/src/modules/auth/index.js'));
  const n = 30;
  let started = performance.now();
  let stored;
  for (let i = 0; i < n; i++) stored = await hash(`${PASSWORD}${i}`, ARGON2_PARAMS);
  const hashRate = n / ((performance.now() - started) / 1000);
  started = performance.now();
  for (let i = 0; i < n; i++) await verify(stored, PASSWORD);
  const verifyRate = n / ((performance.now() - started) / 1000);
  return { hashRate, verifyRate };
}

/** A browser's cookies and CSRF token after loading a page. */
async function pageState(url, cookie = '') {
  const res = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const cookies = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .filter((c) => !c.endsWith('='));
  const token = /name="_csrf" value="([^"]+)"/.exec(await res.text())?.[1];
  return { cookie: [cookie, ...cookies].filter(Boolean).join('; '), token };
}

function run(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ ...opts, timeout: 30 }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

exports.run = async () => {
  const { hashRate, verifyRate } = await hashesPerSecond();
  console.log(`argon2id m=19456 t=2 p=1 on one core: ${hashRate.toFixed(1)} hashes/s, ${verifyRate.toFixed(1)} verifications/s`);

  const server = await startServer({ DATABASE_PATH: join(tempDir(), 'kiroku.sqlite'), PUBLIC_URL: 'http://127.0.0.1' });
  try {
    await msUntilOk(server, '/health/ready');
    const signUp = async (email) => {
      const form = await pageState(`${server.url}/signup`);
      const body = new URLSearchParams({ _csrf: form.token, email, displayName: 'Bench', password: PASSWORD }).toString();
      const created = await fetch(`${server.url}/signup`, {
        method: 'POST',
        redirect: 'manual',
        body,
        headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      });
      const cookie = created.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .find((c) => c.startsWith('kiroku_sid='));
      if (created.status !== 303 || !cookie) throw new Error(`sign-up failed: ${created.status}`);
      return cookie;
    };
    await signUp('bench@example.com');
    // A separate account for the page: the login run leaves the first with 200 sessions on its account page.
    const session = await signUp('reader@example.com');

    const login = await pageState(`${server.url}/login`);
    const loginBody = new URLSearchParams({ _csrf: login.token, email: 'bench@example.com', password: PASSWORD }).toString();
    const logins = await run({
      url: `${server.url}/login`,
      method: 'POST',
      connections: 4,
      amount: 200,
      body: loginBody,
      headers: { cookie: login.cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    });
    const ok = logins['3xx'];
    console.log(
      `POST /login (200 successful sign-ins, 4 connections): ${logins.requests.average.toFixed(1)} req/s, p50 ${logins.latency.p50} ms, p99 ${logins.latency.p99} ms, ${ok} redirects, ${logins.non2xx - ok} other, ${logins.errors} errors`,
    );

    await run({ url: `${server.url}/account`, connections: 50, duration: 3, headers: { cookie: session } }); // warm-up
    const page = await run({ url: `${server.url}/account`, connections: 50, duration: 10, headers: { cookie: session } });
    console.log(
      `GET /account signed in (50 connections, 10 s): ${page.requests.average.toFixed(0)} req/s, p50 ${page.latency.p50} ms, p99 ${page.latency.p99} ms, ${page.non2xx} non-2xx, ${page.errors} errors`,
    );
    const live = await run({ url: `${server.url}/health/live`, connections: 50, duration: 10 });
    console.log(`GET /health/live (same run, ceiling): ${live.requests.average.toFixed(0)} req/s, p50 ${live.latency.p50} ms, p99 ${live.latency.p99} ms`);
  } finally {
    await stop(server);
  }
};
