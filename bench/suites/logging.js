'use strict';
// The cost of logging: the same route at 50 connections with access logging off, on stdout, and on stdout plus
// daily files under LOG_DIR, in one run.
const { join } = require('node:path');
const { spawn } = require('node:child_process');
const autocannon = require('autocannon');
const { root, tempDir, testing, msUntilOk, stop } = require('../support');

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);

async function server(env) {
  const port = await testing.freePort();
  const started = process.hrtime.bigint();
  // stdout is a pipe that is read and discarded, as a container runtime reads it.
  const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], {
    cwd: root,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), DATABASE_PATH: join(tempDir(), 'k.sqlite'), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.resume();
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const s = { child, port, started, exited, url: `http://127.0.0.1:${port}` };
  await msUntilOk(s, '/health/ready');
  return s;
}

exports.run = async () => {
  console.log(`GET /login (a page: session cookie, CSRF token, template) for ${DURATION} s at 50 connections after a 2 s warm-up, per logging set-up.\n`);
  console.log('| logging | req/s | p50 ms | p99 ms | cost vs off |');
  console.log('| --- | --- | --- | --- | --- |');
  let off = 0;
  for (const [label, env] of [
    ['off (LOG_LEVEL=warn: no access lines)', { LOG_LEVEL: 'warn' }],
    ['stdout (JSON lines)', { LOG_LEVEL: 'info' }],
    ['stdout + daily files (LOG_DIR)', { LOG_LEVEL: 'info', LOG_DIR: tempDir() }],
  ]) {
    const s = await server(env);
    try {
      await new Promise((resolve) => autocannon({ url: `${s.url}/login`, connections: 50, duration: 2 }, resolve));
      const r = await new Promise((resolve, reject) =>
        autocannon({ url: `${s.url}/login`, connections: 50, duration: DURATION }, (e, x) => (e ? reject(e) : resolve(x))),
      );
      if (!off) off = r.requests.average;
      console.log(
        `| ${label} | ${r.requests.average.toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} | ${(((off - r.requests.average) / off) * 100).toFixed(1)}% |`,
      );
    } finally {
      await stop(s);
    }
  }
};
