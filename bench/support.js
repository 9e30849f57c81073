'use strict';
// Shared by the suites: run the built server, poll it, read its memory.
const { spawn } = require('node:child_process');
const { readFileSync, mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const testing = require(join(root, 'dist/libs/testing/src/index.js'));

function tempDir() {
  return mkdtempSync(join(tmpdir(), 'kiroku-bench-'));
}

/** Starts `node dist/src/main.js`; resolves once spawned. */
async function startServer(env) {
  const port = await testing.freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], {
    cwd: root,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
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

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

module.exports = { root, testing, tempDir, startServer, msUntilOk, rssMiB, stop, summary };
